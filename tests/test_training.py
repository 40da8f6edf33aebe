"""Training: the frozen config, reproducible and pausable runs, live knobs, divergence, epochs,
and the book's chapter 5 run on the bundled sample."""
import dataclasses
import json
import math
import pickle

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from backprop.datasets import load_dataset
from backprop.live.messages import Batch, Close, Run, Stopped
from backprop.live.process import TrainingProcess
from backprop.training import CHECKPOINT_EVERY, LIVE_FIELDS, ConfigError, TrainConfig, Trainer

SMALL = dict(hidden_sizes=(20,), batch_size=50, iterations=1000, train_size=1000)  # 20 steps an epoch


def params_of(trainer):
    return {k: p.copy() for k, p in trainer.net.params.items()}


def same_params(a, b):
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


# --- the book's chapter 5 run (ch05/train_neuralnet.py) ---------------------------------------------

@pytest.fixture(scope="module")
def book_run():
    """TrainConfig() as it is: 784-50-10 ReLU, SGD lr 0.1, batch 100, 10,000 steps, seed 0, float32,
    on the bundled 5,000 training images; one evaluation at the end (per-epoch ones would double the time).
    One BLAS thread, as in backprop.bench: faster for 100 x 784 x 50 products on this 2-core machine."""
    with threadpool_limits(limits=1, user_api="blas"):
        trainer = Trainer(TrainConfig())
        records = [trainer.step() for _ in range(trainer.config.iterations)]
        return trainer, records, trainer.evaluate()


def test_config_defaults_are_the_books_run():
    c = TrainConfig()
    assert (c.dataset, c.hidden_sizes, c.activation, c.weight_init) == ("sample", (50,), "relu", 0.01)
    assert (c.optimizer, c.lr, c.batch_size, c.iterations) == ("SGD", 0.1, 100, 10_000)
    assert (c.seed, c.dtype, c.weight_decay, c.train_size) == (0, "float32", 0.0, 0)


def test_book_run_reaches_92_percent_on_the_official_test_set(book_run):
    trainer, records, final = book_run
    assert len(trainer.x_test) == 10_000 and trainer.train_size == 5_000
    assert final.iteration == 10_000 and final.epoch == 200
    assert final.test_acc >= 0.92
    assert final.train_acc > final.test_acc  # 200 epochs over 5,000 images overfit them


def test_book_run_loss_history(book_run):
    _, records, _ = book_run
    losses = np.array([r.loss for r in records])
    assert not any(r.diverged for r in records) and np.all(np.isfinite(losses))
    # tiny random weights: the first softmax is nearly uniform, so the loss starts at -ln(1/10)
    assert losses[0] == pytest.approx(math.log(10), abs=0.02)
    assert losses[-100:].mean() < 0.5 * losses[0]
    assert losses[-100:].mean() < losses[:100].mean() / 10


def test_book_run_bookkeeping(book_run):
    trainer, records, _ = book_run
    assert [r.iteration for r in records] == list(range(1, 10_001))
    assert trainer.iter_per_epoch == 50  # max(5,000 // 100, 1)
    assert [r.iteration for r in records if r.epoch_end] == list(range(50, 10_001, 50))
    assert trainer.iteration == trainer.config.iterations and trainer.epoch == 200
    assert all(p.dtype == np.float32 for p in trainer.net.params.values())
    assert trainer.seconds > 0


# --- TrainConfig --------------------------------------------------------------------------------------

class Pipe:
    """The training process's end of the connection, in this process: messages queued up front."""

    def __init__(self, *incoming):
        self.incoming, self.sent = list(incoming), []

    def poll(self):
        return False  # nothing arrives while it runs

    def recv(self):
        return self.incoming.pop(0)

    def send(self, message):
        self.sent.append(message)


def train(trainer, target=None):
    """Run the training process's loop (the live page's) to ``target``: (losses, evals, Stopped message)."""
    pipe = Pipe(Run(target if target is not None else trainer.config.iterations), Close())
    TrainingProcess(trainer, pipe).serve()
    batches = [m for m in pipe.sent if isinstance(m, Batch)]
    losses = np.concatenate([b.losses for b in batches])
    evals = [tuple(e) for b in batches for e in b.evals]
    (stopped,) = [m for m in pipe.sent if isinstance(m, Stopped)]
    return losses, evals, stopped


def test_config_is_frozen():
    c = TrainConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.lr = 0.5
    assert dataclasses.replace(c, lr=0.5).lr == 0.5 and c.lr == 0.1


@pytest.mark.parametrize("changes, code", [
    (dict(lr=0), "lr"),
    (dict(lr=-0.1), "lr"),
    (dict(lr=float("nan")), "lr"),
    (dict(lr=float("inf")), "lr"),
    (dict(lr="0.1"), "lr"),
    (dict(optimizer="sgd"), "optimizer"),
    (dict(optimizer="LBFGS"), "optimizer"),
    (dict(activation="tanh"), "activation"),
    (dict(hidden_sizes=()), "hidden_sizes"),
    (dict(hidden_sizes=(50, 0)), "hidden_sizes"),
    (dict(batch_size=0), "batch_size"),
    (dict(batch_size=10.5), "batch_size"),
    (dict(momentum=1.0), "momentum"),
    (dict(momentum="0.5"), "momentum"),
    (dict(weight_init=-1.0), "weight_init"),
    (dict(weight_init="glorot"), "weight_init"),
    (dict(weight_decay=-1e-3), "weight_decay"),
    (dict(train_size=-1), "train_size"),
    (dict(dtype="float16"), "dtype"),
    (dict(dataset="cifar"), "dataset"),
])
def test_config_rejects_bad_values_with_a_code_and_the_value(changes, code):
    with pytest.raises(ConfigError) as err:
        TrainConfig(**changes)
    ((got_code, values),) = err.value.problems
    given = next(iter(changes.values()))
    assert got_code == code and (values["got"] is given or values["got"] == given)  # the value as given


def test_config_reports_every_problem_at_once_and_survives_pickling():
    with pytest.raises(ConfigError) as err:
        TrainConfig(lr=-1, optimizer="nope", activation="tanh")
    assert [code for code, _ in err.value.problems] == ["optimizer", "activation", "lr"]
    assert dict(err.value.problems)["optimizer"]["choices"] == "SGD, Momentum, Nesterov, AdaGrad, RMSprop, Adam"
    assert isinstance(err.value, ValueError)
    assert pickle.loads(pickle.dumps(err.value)).problems == err.value.problems  # it crosses the process boundary


def test_config_accepts_numpy_numbers_and_stores_python_ones():
    c = TrainConfig(lr=np.float32(0.5), batch_size=np.int64(32), hidden_sizes=np.array([20, 10]), seed=np.int64(3))
    assert (c.lr, c.batch_size, c.hidden_sizes, c.seed) == (0.5, 32, (20, 10), 3)
    assert type(c.batch_size) is int and type(c.lr) is float
    json.dumps(c.to_dict())  # plain Python values


def test_to_dict_from_dict_round_trip():
    c = TrainConfig(hidden_sizes=(100, 50), activation="sigmoid", weight_init="xavier", optimizer="Adam",
                    lr=0.001, beta1=0.85, batch_size=32, iterations=500, weight_decay=0.01, train_size=300,
                    seed=7, dtype="float64")
    assert TrainConfig.from_dict(c.to_dict()) == c
    assert TrainConfig.from_dict(json.loads(json.dumps(c.to_dict()))) == c
    assert TrainConfig.from_dict({}) == TrainConfig()


def test_from_dict_reads_url_strings():
    query = {"hidden_sizes": "100,50", "activation": "relu", "weight_init": "he", "optimizer": "Momentum",
             "lr": "0.05", "momentum": "0.8", "batch_size": "64", "iterations": "2000", "weight_decay": "1e-4",
             "train_size": "300", "seed": "42", "dtype": "float64"}
    expected = TrainConfig(hidden_sizes=(100, 50), weight_init="he", optimizer="Momentum", lr=0.05, momentum=0.8,
                           batch_size=64, iterations=2000, weight_decay=1e-4, train_size=300, seed=42, dtype="float64")
    assert TrainConfig.from_dict(query) == expected
    assert TrainConfig.from_dict({"weight_init": "0.05"}).weight_init == 0.05
    assert TrainConfig.from_dict({k: str(v) for k, v in TrainConfig().to_dict().items()
                                  if k != "hidden_sizes"}) == TrainConfig()


@pytest.mark.parametrize("query, problem", [
    ({"lr": "fast"}, ("unreadable", {"field": "lr", "got": "fast"})),
    ({"hidden_sizes": "50,x"}, ("unreadable", {"field": "hidden_sizes", "got": "50,x"})),
    ({"batch_size": "1e2"}, ("unreadable", {"field": "batch_size", "got": "1e2"})),
    ({"learning_rate": "0.1"}, ("unknown_fields", {"fields": "learning_rate"})),
    ({"lr": "-1"}, ("lr", {"got": -1.0})),
])
def test_from_dict_rejects_bad_strings(query, problem):
    with pytest.raises(ConfigError) as err:
        TrainConfig.from_dict(query)
    assert err.value.problems == (problem,)


# --- determinism, pausing ---------------------------------------------------------------------------

def run_steps(trainer, n):
    return [trainer.step().loss for _ in range(n)]


def test_same_config_same_run_different_seed_different_run():
    a, b, c = Trainer(TrainConfig(**SMALL)), Trainer(TrainConfig(**SMALL)), Trainer(TrainConfig(**SMALL, seed=1))
    assert same_params(params_of(a), params_of(b)) and not same_params(params_of(a), params_of(c))
    la, lb, lc = run_steps(a, 30), run_steps(b, 30), run_steps(c, 30)
    assert la == lb  # bitwise: same initial weights, same mini-batches
    assert same_params(params_of(a), params_of(b))
    assert la != lc and not same_params(params_of(a), params_of(c))


def test_pause_and_resume_is_bitwise_the_same_run():
    straight, paused = Trainer(TrainConfig(**SMALL)), Trainer(TrainConfig(**SMALL))
    losses = run_steps(straight, 40)

    first = run_steps(paused, 20)
    # what a page does while paused: evaluate, show probabilities, read the params
    ev = paused.evaluate()
    assert ev.iteration == 20 and 0 <= ev.test_acc <= 1
    assert paused.evaluation(chunk=100).advance() is False  # an evaluation left unfinished
    paused.accuracy(paused.x_train, paused.t_train)
    params_of(paused)
    second = run_steps(paused, 20)

    assert first + second == losses
    assert same_params(params_of(straight), params_of(paused))


def test_the_training_loop_evaluates_each_epoch_and_matches_plain_steps():
    looped, stepped = Trainer(TrainConfig(**SMALL)), Trainer(TrainConfig(**SMALL))
    losses, evals, stopped = train(looped, 60)
    assert stopped.state == "finished" and stopped.iteration == 60
    assert np.array_equal(losses, np.array(run_steps(stepped, 60), dtype=np.float32))
    assert same_params(params_of(looped), params_of(stepped))
    assert [e[0] for e in evals] == [0, 20, 40, 60]  # before the first step and after each epoch
    final = stepped.evaluate()  # at once, in chunks of 1,000 images; the loop's went chunk by chunk
    assert evals[-1] == (final.iteration, final.epoch, final.train_acc, final.test_acc)
    assert final.test_acc == stepped.accuracy(stepped.x_test, stepped.t_test, chunk=333)


# --- adjusting a live run ---------------------------------------------------------------------------

def test_adjust_lr_takes_effect_from_the_next_step():
    """Two identical float64 runs; one gets lr 0.5 instead of 0.1 before step 11: same batch and params,
    so that step's SGD update is exactly 5 times as large, and the steps before it are untouched."""
    config = TrainConfig(**SMALL, dtype="float64")
    a, b = Trainer(config), Trainer(config)
    run_steps(a, 10)
    run_steps(b, 10)
    before = params_of(a)
    a.adjust(lr=0.5)
    assert same_params(params_of(a), before)  # adjusting alone changes no weight
    assert a.config.lr == 0.5 and a.optimizer.lr == 0.5 and a.config.hidden_sizes == (20,)
    loss_a, loss_b = a.step().loss, b.step().loss
    assert loss_a == loss_b  # the loss is computed before the update
    for key, p0 in before.items():
        step_a, step_b = p0 - a.net.params[key], p0 - b.net.params[key]
        assert np.abs(step_b).max() > 0
        np.testing.assert_allclose(step_a, 5 * step_b, rtol=1e-7, atol=1e-15)


def test_adjust_optimizer_knobs_and_batch_size():
    t = Trainer(TrainConfig(**{**SMALL, "optimizer": "Adam", "lr": 0.001}))
    run_steps(t, 3)
    t.adjust(beta1=0.5, lr=0.002)
    assert (t.optimizer.beta1, t.optimizer.lr) == (0.5, 0.002)
    t.adjust(batch_size=250)
    assert t.iter_per_epoch == 4  # 1,000 // 250
    assert all(np.isfinite(loss) for loss in run_steps(t, 2))
    assert set(LIVE_FIELDS) >= {"lr", "batch_size"}


@pytest.mark.parametrize("changes", [
    dict(hidden_sizes=(10,)), dict(seed=1), dict(optimizer="Adam"), dict(dtype="float64"),
])
def test_adjust_of_a_field_that_needs_a_new_run_raises(changes):
    t = Trainer(TrainConfig(**SMALL))
    with pytest.raises(ConfigError, match="frozen_fields"):
        t.adjust(**changes)
    assert t.config == TrainConfig(**SMALL)


def test_adjust_to_a_bad_value_raises_and_changes_nothing():
    t = Trainer(TrainConfig(**SMALL))
    with pytest.raises(ConfigError, match="lr"):
        t.adjust(lr=-1)
    assert t.config.lr == 0.1 and t.optimizer.lr == 0.1


# --- divergence ---------------------------------------------------------------------------------------

def step_until_diverged(trainer):
    """Steps until a diverged record; returns it and the params just before that step."""
    while trainer.iteration < trainer.config.iterations:
        before = params_of(trainer)
        record = trainer.step()
        if record.diverged:
            return record, before
    pytest.fail("the run did not diverge")


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # overflow in matmul/exp is the point here
@pytest.mark.parametrize("changes, weights_survive", [
    # lr 1e30: the second forward pass overflows, so the loss is NaN while the weights are still finite
    (dict(lr=1e30, hidden_sizes=(5,)), True),
    # lr 1e6, a tiny deep net: an update overflows float32 weights while its step's loss was finite;
    # the very next loss is NaN, so divergence is reported one step later and the weights restored
    (dict(lr=1e6, hidden_sizes=(10, 10, 10)), False),
])
def test_divergence_is_reported_the_update_skipped_and_weights_restored(changes, weights_survive):
    config = TrainConfig(**{**changes, "train_size": 300, "iterations": 50})
    trainer = Trainer(config)
    first_broken = None  # the first step after which some weight is NaN or infinite
    while trainer.iteration < trainer.config.iterations:
        before = params_of(trainer)
        record = trainer.step()
        finite = all(np.isfinite(p).all() for p in trainer.net.params.values())
        if not finite and first_broken is None:
            first_broken = record.iteration
        if record.diverged:
            break
    assert record.diverged and record.iteration < 50
    assert not math.isfinite(record.loss)
    assert trainer.net.layers["Affine1"].W is trainer.net.params["W1"]
    assert all(np.isfinite(p).all() for p in trainer.net.params.values())
    if weights_survive:
        assert first_broken is None
        assert same_params(params_of(trainer), before)  # the update was skipped
    else:
        assert first_broken == record.iteration - 1  # caught at the next step, never later
        # put back to the last checkpoint: the weights of a step that is a multiple of CHECKPOINT_EVERY
        checkpoint = Trainer(config)
        for _ in range((record.iteration - 2) // CHECKPOINT_EVERY * CHECKPOINT_EVERY):
            checkpoint.step()
        assert same_params(params_of(trainer), params_of(checkpoint))

    # the training loop stops at that very step
    again = Trainer(config)
    losses, evals, stopped = train(again)
    assert len(losses) == again.iteration == record.iteration and again.iteration < config.iterations
    assert np.isnan(losses[-1]) or np.isinf(losses[-1])
    assert stopped.state == "paused" and stopped.divergence.iteration == record.iteration
    assert stopped.divergence.weights_finite  # broken weights were put back: the run may resume


# --- epochs and train_size --------------------------------------------------------------------------

def test_epoch_bookkeeping_with_train_size():
    t = Trainer(TrainConfig(train_size=300, batch_size=100, iterations=9))
    assert t.train_size == 300 and t.iter_per_epoch == 3  # max(300 // 100, 1)
    records = [t.step() for _ in range(7)]
    assert [r.iteration for r in records if r.epoch_end] == [3, 6]
    assert t.epoch == pytest.approx(7 / 3)
    assert Trainer(TrainConfig(train_size=300, batch_size=1000)).iter_per_epoch == 1
    assert Trainer(TrainConfig(train_size=10**6)).train_size == 5000  # capped at what the data set has
    losses, evals, _ = train(Trainer(TrainConfig(train_size=300, batch_size=100, iterations=6)))
    assert len(losses) == 6
    assert [(e[0], e[1]) for e in evals] == [(0, 0.0), (3, 1.0), (6, 2.0)]


def test_train_size_uses_the_first_images_and_300_overfit():
    """The book's overfitting setting: 300 training images are learnt almost perfectly, the test set is not."""
    t = Trainer(TrainConfig(train_size=300, hidden_sizes=(50,), lr=0.3, iterations=200))
    data = load_dataset("sample")
    np.testing.assert_array_equal(t.x_train, data.x_train[:300].reshape(300, 784))
    np.testing.assert_array_equal(t.t_train, data.t_train[:300])
    run_steps(t, 200)  # not train(): it would evaluate all 10,300 images at each of the 67 epochs
    final = t.evaluate()
    assert final.train_acc >= 0.97
    assert final.train_acc - final.test_acc > 0.08
