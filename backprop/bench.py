"""Benchmarks that print figures: ``python -m backprop.bench [--steps N] [--only train|numgrad]``.

One JSON line per workload:
- train: the standard workload, a 784-50-10 ReLU net, batch 100, SGD lr 0.1, random batches
  from 60,000 x 784 inputs, N steps after a warm-up, through ``Trainer.step`` (float32); the
  book-style float64 loop for reference; and PyTorch on the same loop when torch is installed.
- numgrad: the full numerical gradient of the 784-50-10 net on 3 images (39,760 parameters),
  the book's loop against ``fast_numerical_gradient``, with their agreement.
"""
import argparse
import json
import time
from types import SimpleNamespace

import numpy as np
from threadpoolctl import threadpool_limits

from .gradient import fast_numerical_gradient
from .net import TwoLayerNet
from .training import Trainer, TrainConfig


def synthetic_data(n=60_000, seed=0):
    """Random uint8 'images' and labels shaped like full MNIST (the workload times arithmetic, not data)."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    t = rng.integers(0, 10, size=n, dtype=np.uint8)
    return SimpleNamespace(x_train=x, t_train=t, x_test=x[:1000], t_test=t[:1000], title="synthetic")


def _rate(step, steps, warmup):
    for _ in range(warmup):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return steps / (time.perf_counter() - start)


def bench_train(steps=3000, warmup=300):
    """Steps per second of Trainer.step, the book-style loop and (if installed) PyTorch.

    BLAS runs on one thread: on this 2-core machine a second OpenBLAS thread costs more in
    spinning and cache traffic than it saves on 100 x 784 x 50 products (and the app needs the
    other core to draw).
    """
    with threadpool_limits(limits=1, user_api="blas"):
        result = _bench_train(steps, warmup)
    result["blas_threads"] = 1
    return result


def _bench_train(steps, warmup):
    data = synthetic_data()
    trainer = Trainer(TrainConfig(lr=0.1, batch_size=100, iterations=10**9, dtype="float32"), data)
    result = {"workload": "train", "net": "784-50-10 relu", "batch": 100, "steps": steps,
              "steps_per_s": round(_rate(trainer.step, steps, warmup), 1)}

    # The book's train_neuralnet.py loop: float64 inputs, gradient() then a separate loss() call.
    x = data.x_train.reshape(len(data.x_train), -1).astype(np.float64) / 255
    t = data.t_train.astype(np.intp)
    net = TwoLayerNet(784, 50, 10, seed=0)
    rng = np.random.default_rng(0)

    def book_step():
        mask = rng.choice(len(x), 100)
        grads = net.gradient(x[mask], t[mask])
        for key in ("W1", "b1", "W2", "b2"):
            net.params[key] -= 0.1 * grads[key]
        net.loss(x[mask], t[mask])

    result["book_style_float64_steps_per_s"] = round(_rate(book_step, steps // 3, warmup // 3), 1)
    torch_rates = _bench_torch(data, steps, warmup)
    if torch_rates:
        for threads, rate in torch_rates.items():
            result[f"torch_{threads}_thread_steps_per_s"] = round(rate, 1)
        result["vs_best_torch"] = round(result["steps_per_s"] / max(torch_rates.values()), 2)
    result["vs_book_style"] = round(result["steps_per_s"] / result["book_style_float64_steps_per_s"], 2)
    return result


def _bench_torch(data, steps, warmup):
    """PyTorch's steps per second on the same loop, with 2 threads (its default here) and with 1."""
    try:
        import torch
    except ImportError:
        return None
    default_threads = torch.get_num_threads()
    torch.manual_seed(0)
    x = torch.from_numpy(data.x_train.reshape(len(data.x_train), -1))
    t = torch.from_numpy(data.t_train.astype(np.int64))
    model = torch.nn.Sequential(torch.nn.Linear(784, 50), torch.nn.ReLU(), torch.nn.Linear(50, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        idx = torch.randint(0, len(x), (100,))
        xb = x[idx].float().mul_(1 / 255)
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(xb), t[idx])
        loss.backward()
        opt.step()
        loss.item()

    rates = {}
    for threads in sorted({default_threads, 1}, reverse=True):
        torch.set_num_threads(threads)
        rates[threads] = _rate(step, steps, warmup)
    torch.set_num_threads(default_threads)
    return rates


def bench_numgrad(repeats=5):
    """The full numerical gradient of the 784-50-10 ReLU net on 3 bundled MNIST images (float64, h=1e-4):
    the book's loop once, ``fast_numerical_gradient`` best of ``repeats``, and how far apart they are.

    ``within_tolerance`` checks every entry against |fast - loop| <= 1e-9 |loop| + 4 eps |f| / 2h
    (1e-9 relative, plus the round-off the loop's own f(w+h) - f(w-h) carries).
    """
    from .datasets import load_dataset

    data = load_dataset("sample")
    x = data.x_train[:3].reshape(3, -1) / 255.0
    t = data.t_train[:3].astype(np.intp)
    net = TwoLayerNet(784, 50, 10, seed=0)
    h = 1e-4
    start = time.perf_counter()
    loop = net.numerical_gradient(x, t, h=h)
    loop_s = time.perf_counter() - start
    fast_s = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        fast = fast_numerical_gradient(net, x, t, h=h)
        fast_s = min(fast_s, time.perf_counter() - start)
    worst = max(np.linalg.norm(loop[k].ravel() - fast[k][0]) / np.linalg.norm(loop[k]) for k in loop)
    slack = 4 * np.finfo(np.float64).eps * abs(net.loss(x, t)) / (2 * h)
    within = all(np.all(np.abs(fast[k][0] - loop[k].ravel()) <= 1e-9 * np.abs(loop[k].ravel()) + slack)
                 for k in loop)
    return {"workload": "numgrad", "net": "784-50-10 relu", "params": int(sum(p.size for p in net.params.values())),
            "images": 3, "loop_s": round(loop_s, 3), "fast_s": round(fast_s, 4),
            "speedup": round(loop_s / fast_s, 1), "max_norm_rel_diff": float(f"{worst:.2e}"),
            "within_tolerance": bool(within)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3000, help="timed training steps (default 3000)")
    parser.add_argument("--only", choices=("train", "numgrad"), help="run one workload")
    args = parser.parse_args(argv)
    if args.only in (None, "train"):
        print(json.dumps(bench_train(args.steps)), flush=True)
    if args.only in (None, "numgrad"):
        print(json.dumps(bench_numgrad()), flush=True)


if __name__ == "__main__":
    main()
