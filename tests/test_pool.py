"""The trainer pool (backprop.live.pool): many runs on at most K trainer processes, time-sliced fairly;
pause/resume still exact; a killed process reported to its runs, which restart from their checkpoint;
data shared through memory-mapped files; limits refused with what fits; the load-aware redraw rate."""
import os
import signal
import time
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from backprop import live
from backprop.datasets import load_dataset
from backprop.live import budget
from backprop.live.shared import shared_dataset, shared_folder
from backprop.training import TrainConfig, Trainer

PROMPT = 2.0  # s: Pause and Stop answer at the next slice; see the PROMPT note in tests/test_live.py
SMALL = dict(hidden_sizes=(20,), batch_size=50, iterations=400)  # 20 steps an epoch on small_data
ENDLESS = {**SMALL, "iterations": 10**6}


@pytest.fixture(scope="module")
def small_data():
    d = load_dataset("sample")
    return SimpleNamespace(x_train=d.x_train[:1000], t_train=d.t_train[:1000], x_test=d.x_test[:500],
                           t_test=d.t_test[:500], title="small sample", class_names=d.class_names)


@pytest.fixture
def pools():
    """make(**kwargs) -> a TrainerPool; every run made on one and every pool is ended afterwards."""
    made, runs = [], []

    def make(**kwargs):
        pool = live.TrainerPool(**{"nice": 0, **kwargs})
        made.append(pool)
        original = pool.take

        def take():
            return original()
        pool.take = take
        pool.runs = runs
        return pool

    yield make
    for run in runs:
        run.close()
    for pool in made:
        pool.shutdown()


def new_run(pool, config, data=None, **kwargs):
    run = live.LiveRun(config, data, spawner=pool, **kwargs)
    pool.runs.append(run)
    return run


def wait_until(condition, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def reference(config, data, steps):
    with threadpool_limits(limits=1, user_api="blas"):
        tr = Trainer(config, data)
        losses = [tr.step().loss for _ in range(steps)]
        return {k: p.copy() for k, p in tr.net.params.items()}, np.array(losses, dtype=np.float32)


def assert_same(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert np.array_equal(a[k], b[k]), k


def rss_kb(pid, field="VmRSS"):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise LookupError(field)


# --- many runs, few processes ------------------------------------------------------------------------

def test_many_runs_on_two_processes_all_advance(pools, small_data):
    pool = pools(trainers=2)
    runs = [new_run(pool, TrainConfig(**ENDLESS, seed=s), small_data) for s in range(8)]
    for run in runs:
        assert run.start()
    assert wait_until(lambda: min(r.iteration for r in runs) >= 20), [r.iteration for r in runs]
    assert len(pool.processes()) == 2  # eight runs, two trainer processes
    assert pool.load() == {"running": 8, "waiting": 0, "runs": 8, "processes": 2, "trainers": 2}
    for pid in pool.processes():  # below the server's priority
        assert os.getpriority(os.PRIO_PROCESS, pid) >= os.getpriority(os.PRIO_PROCESS, 0)


def test_time_slices_share_a_process_fairly(pools, small_data):
    pool = pools(trainers=1)
    runs = [new_run(pool, TrainConfig(**ENDLESS, seed=s), small_data) for s in range(4)]
    for run in runs:
        run.start()
    assert wait_until(lambda: min(r.iteration for r in runs) >= 30)
    before = [r.iteration for r in runs]
    time.sleep(1.5)
    gained = [r.iteration - b for r, b in zip(runs, before)]
    assert min(gained) > 0 and max(gained) <= 2 * min(gained), gained


def test_pause_resume_on_a_shared_process_gives_the_uninterrupted_run(pools, small_data):
    pool = pools(trainers=1)
    others = [new_run(pool, TrainConfig(**ENDLESS, seed=s), small_data) for s in range(3)]
    for run in others:
        run.start()
    config = TrainConfig(**SMALL, seed=5)
    run = new_run(pool, config, small_data)
    run.start()
    pauses = []
    while run.state == live.RUNNING:
        time.sleep(0.02)
        started = time.monotonic()
        assert run.pause(timeout=PROMPT) and time.monotonic() - started < PROMPT, "Pause at the next slice"
        pauses.append(run.iteration)
        run.resume()
    assert run.wait(60) and run.iteration == 400
    assert len([p for p in pauses if 0 < p < 400]) >= 2, pauses
    want, losses = reference(config, small_data, 400)
    assert_same(run.snapshot_net().params, want)
    np.testing.assert_array_equal(run.record().losses, losses)
    assert others[0].stop(timeout=PROMPT) and others[0].state == live.STOPPED and not others[0].process_alive
    assert others[1].state == live.RUNNING  # the others on that process go on


def test_a_killed_process_is_reported_to_its_runs_and_they_restart_from_their_checkpoint(pools, small_data):
    pool = pools(trainers=1)
    config = TrainConfig(**{**SMALL, "iterations": 2000}, seed=7)
    run = new_run(pool, config, small_data)
    neighbour = new_run(pool, TrainConfig(**ENDLESS, seed=1), small_data)
    neighbour.start()
    assert run.run_steps(120, timeout=30)  # paused at 120: a checkpoint comes with every stop
    assert run.checkpoint_iteration == 120
    run.resume()
    assert wait_until(lambda: run.iteration > 200)
    (pid,) = pool.processes()
    os.kill(pid, signal.SIGKILL)  # what the kernel's out-of-memory killer does
    assert wait_until(lambda: run.closed and neighbour.closed, 10)
    for r in (run, neighbour):
        snap = r.snapshot()
        assert snap.error == live.ErrorInfo("process_ended") and snap.state == live.PAUSED and r.can_restart
    assert len(run.record().losses) > 200  # the history is kept
    fresh = new_run(pool, TrainConfig(**SMALL), small_data)  # the pool goes on with a new process
    assert fresh.run_steps(5, timeout=30) and fresh.iteration == 5 and pool.processes() != [pid]

    assert run.restart()
    assert run.state == live.PAUSED and run.iteration == 120 and not run.closed
    assert len(run.record().losses) == 120  # the history after the checkpoint is made again
    run.resume()
    assert run.wait(60) and run.state == live.FINISHED and run.iteration == 2000
    want, losses = reference(config, small_data, 2000)
    assert_same(run.snapshot_net().params, want)  # exactly the run that was never interrupted
    np.testing.assert_array_equal(run.record().losses, losses)
    assert run.snapshot().evals[:, 0].tolist() == list(range(0, 2001, 20))  # every evaluation once


def test_a_run_that_died_before_any_checkpoint_restarts_from_the_beginning(pools, small_data):
    pool = pools(trainers=1)
    run = new_run(pool, TrainConfig(**ENDLESS), small_data)
    run.start()
    assert wait_until(lambda: run.iteration > 0)
    os.kill(pool.processes()[0], signal.SIGKILL)
    assert wait_until(lambda: run.can_restart, 10) and run.checkpoint_iteration == 0
    assert run.restart() and run.state == live.READY and run.iteration == 0 and len(run.record().losses) == 0
    assert run.run_steps(3, timeout=30) and run.iteration == 3


# --- data and memory ---------------------------------------------------------------------------------------

def test_runs_share_one_memory_mapped_copy_and_an_extra_run_costs_little(pools):
    pool = pools(trainers=1)
    config = TrainConfig(seed=0, iterations=10**6)  # the chapter 5 net on the bundled sample, data shared
    first = new_run(pool, config)
    assert first.run_steps(50, timeout=60)
    (pid,) = pool.processes()
    folder = shared_folder("sample")
    with open(f"/proc/{pid}/maps") as f:
        assert str(folder / "x_train.npy") in f.read()  # the images are a mapped file, not a copy
    before = rss_kb(pid)
    more = [new_run(pool, replace(config, seed=s)) for s in range(1, 11)]
    for run in more:
        assert run.run_steps(50, timeout=60)  # each has evaluated, stepped and holds its state
    per_run_mb = (rss_kb(pid) - before) / 1024 / len(more)
    assert per_run_mb < 4, per_run_mb  # a copy of the data set would be 12 MB a run


def test_a_trainer_reads_the_mapped_images_as_plain_arrays_without_copying_them():
    """np.memmap's hooks ran at every slice of it (an evaluation chunk, a batch): the Trainer keeps plain
    views of the same memory, which step and evaluate as the private copy does."""
    data = shared_dataset("sample")
    assert isinstance(data.x_train, np.memmap)
    tr = Trainer(TrainConfig(seed=0), data)
    for mine, mapped in ((tr.x_train, data.x_train), (tr.x_test, data.x_test)):
        assert type(mine) is np.ndarray and np.shares_memory(mine, mapped)
    private = Trainer(TrainConfig(seed=0), load_dataset("sample"))
    for _ in range(3):
        assert tr.step().loss == private.step().loss
    assert tr.evaluate() == private.evaluate()


def test_the_largest_configuration_is_refused_with_what_fits():
    lab = live.Lab()
    largest = TrainConfig(dataset="sample", hidden_sizes=(500,) * 8, batch_size=1000, iterations=1_000_000)
    with pytest.raises(live.RunError) as err:
        lab.start(largest)
    code, values = err.value.error.code, err.value.error.values
    assert code.startswith("budget_") and lab.current is None
    fitting = replace(largest, hidden_sizes=(values["width"],) * 8) if "width" in values else replace(
        largest, batch_size=values["batch"])
    refusal = budget.check(fitting, 5000, 10_000)
    assert refusal is None or refusal[0] == "budget_time"  # what was suggested fits in memory and step time
    if refusal is not None:
        assert budget.check(replace(fitting, iterations=refusal[1]["iterations"]), 5000, 10_000) is None
    huge = TrainConfig(batch_size=10**9)
    assert budget.check(huge, 5000, 10_000)[0] == "budget_memory"
    assert budget.check(TrainConfig(), 5000, 10_000) is None  # the book's run is far within every limit


def test_an_accepted_configuration_stays_within_its_memory_estimate(pools):
    pool = pools(trainers=1)
    big = TrainConfig(hidden_sizes=(120,) * 8, batch_size=1000, iterations=2000, optimizer="Adam")
    assert budget.check(big, 5000, 10_000) is None
    warm = new_run(pool, TrainConfig(iterations=10))
    assert warm.run_steps(2, timeout=60)
    (pid,) = pool.processes()
    before = rss_kb(pid)
    run = new_run(pool, big)
    assert run.run_steps(2, timeout=120)
    grown = (rss_kb(pid) - before) * 1024
    assert 0 < grown <= budget.run_bytes(big, 5000, 10_000), (grown, budget.run_bytes(big, 5000, 10_000))


def test_the_server_refuses_a_run_beyond_its_memory_budget(pools, small_data):
    one = budget.run_bytes(TrainConfig(**SMALL), 1000, 500)
    pool = pools(trainers=1, memory_mb=1.5 * one / 2**20)  # room for one such run
    first = new_run(pool, TrainConfig(**SMALL), small_data)
    with pytest.raises(live.RunError) as err:
        new_run(pool, TrainConfig(**SMALL), small_data)
    assert err.value.error.code == "server_full" and err.value.error.values["runs"] == 1
    first.close()
    assert new_run(pool, TrainConfig(**SMALL), small_data).run_steps(2, timeout=30)  # room again


# --- the server-wide queue, load, idle ------------------------------------------------------------------

def test_beyond_the_concurrent_limit_runs_wait_in_line(pools, small_data):
    pool = pools(trainers=1, max_running=2)
    runs = [new_run(pool, TrainConfig(**ENDLESS, seed=s), small_data) for s in range(4)]
    for run in runs:
        assert run.start() and run.state == live.RUNNING
    assert wait_until(lambda: min(r.iteration for r in runs[:2]) > 10)
    assert [r.snapshot().waiting for r in runs] == [0, 0, 1, 2] and runs[2].iteration == 0
    assert runs[3].pause(timeout=PROMPT) and runs[3].state == live.PAUSED and runs[3].iteration == 0
    assert runs[0].pause(timeout=PROMPT)  # a place is free: the first in line steps
    assert wait_until(lambda: runs[2].iteration > 0) and runs[2].snapshot().waiting == 0
    assert pool.load()["running"] == 2 and pool.load()["waiting"] == 0


def test_redraws_slow_down_as_runs_pile_up_and_idle_processes_end(pools, small_data):
    pool = pools(trainers=1, idle_seconds=0.5)
    assert pool.refresh_interval() == 0.5
    tiny = dict(ENDLESS, hidden_sizes=(5,))
    runs = [new_run(pool, TrainConfig(**tiny, seed=s), small_data) for s in range(25)]
    for i, run in enumerate(runs):
        run.start()
        if i == 4:
            assert pool.refresh_interval() == 0.5  # fewer than 6 runs stepping per trainer process: twice a second
        if i == 5:
            assert pool.refresh_interval() == 1.0
        if i == 11:
            assert pool.refresh_interval() == 2.0  # 12 a process: a hall of 30 on two processes
    assert pool.refresh_interval() == 4.0  # 18 and more: a hall of 36 or more on two processes
    for run in runs:
        run.close()
    assert wait_until(lambda: not pool.processes(), 10)  # no runs: the trainer process ends by itself


def test_a_url_from_an_earlier_server_start_is_recognised():
    assert not live.run_from_earlier_server(live.run_token(3))
    assert live.run_from_earlier_server("1234abc-3") and not live.run_from_earlier_server("nonsense")
    assert not live.run_from_earlier_server(None)
