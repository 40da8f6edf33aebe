"""The live-training controller (backprop.live): runs in a child process that pause, resume, stop, take
knob changes and report divergence exactly as an uninterrupted Trainer would; bounded histories; the
session bench of runs; exports that refuse bad files."""
import io
import json
import math
import pickle
import time
import urllib.parse
import zipfile
from types import SimpleNamespace

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from backprop import live
from backprop.datasets import DatasetNotFoundError, load_dataset
from backprop.idx import IDXError
from backprop.training import PRESETS, TrainConfig, Trainer, param_shapes


@pytest.fixture(scope="module")
def small_data():
    """The bundled sample cut down so an epoch and an evaluation take milliseconds."""
    d = load_dataset("sample")
    return SimpleNamespace(x_train=d.x_train[:1000], t_train=d.t_train[:1000], x_test=d.x_test[:500],
                           t_test=d.t_test[:500], title="small sample", class_names=d.class_names)


# Pause and Stop answer within one time slice (10 ms of another run, see backprop/live/worker.py); half a
# second on a quiet machine, as the benchmarks measure (benchmarks/load.py: pause_p95_s). A test shares
# the two cores with the other half of the suite and Chromium, so it allows a few times that.
PROMPT = 2.0
SMALL = dict(hidden_sizes=(20,), batch_size=50, iterations=400)  # 20 steps an epoch, 20 epochs


@pytest.fixture(autouse=True)
def close_runs_afterwards(monkeypatch):
    """End every run a test made, pass or fail: a runaway training process would slow every later test."""
    made = []
    init = live.LiveRun.__init__

    def tracking_init(self, *args, **kwargs):
        init(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(live.LiveRun, "__init__", tracking_init)
    yield
    for run in made:
        run.close()


def reference(config, data, steps=None, adjust_at=None, changes=None):
    """What an uninterrupted Trainer does (one BLAS thread, as the training process): params and losses."""
    with threadpool_limits(limits=1, user_api="blas"):
        tr = Trainer(config, data)
        losses = []
        for _ in range(steps or config.iterations):
            if adjust_at is not None and tr.iteration + 1 == adjust_at:
                tr.adjust(**changes)
            losses.append(tr.step().loss)
        return {k: p.copy() for k, p in tr.net.params.items()}, np.array(losses, dtype=np.float32), tr


def params(run):
    return run.snapshot_net().params


def assert_same(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert np.array_equal(a[k], b[k]), k


# --- the controller ---------------------------------------------------------------------------------

def test_background_run_equals_uninterrupted_trainer_and_evaluates_every_epoch(small_data):
    config = TrainConfig(**SMALL, seed=3)
    run = live.LiveRun(config, small_data)
    assert run.start() and run.wait(30)
    assert run.state == live.FINISHED and run.iteration == 400
    want, losses, tr = reference(config, small_data)
    assert_same(params(run), want)
    snap = run.snapshot()
    np.testing.assert_array_equal(run.record().losses, losses)
    # the book's evaluations: before the first step and after each of the 20 epochs
    assert snap.evals[:, 0].tolist() == list(range(0, 401, 20))
    final = tr.evaluate()
    assert tuple(snap.evals[-1, 2:]) == (final.train_acc, final.test_acc)
    assert snap.first_loss == pytest.approx(math.log(10), abs=0.05)
    assert snap.iteration == 400 and snap.epoch == 20 and snap.seconds > snap.eval_seconds > 0


def test_pause_and_resume_through_the_controller_give_the_uninterrupted_result(small_data):
    config = TrainConfig(**SMALL, seed=5)
    run = live.LiveRun(config, small_data)
    run.start()
    pauses = []
    while run.state == live.RUNNING:
        time.sleep(0.01)  # a few dozen pauses in a 400-step run (a fast machine steps it in 0.1 s): each a round trip
        assert run.pause(timeout=PROMPT), "Pause must take effect at the next slice"
        at = run.iteration
        time.sleep(0.01)
        assert run.iteration == at and run.state in (live.PAUSED, live.FINISHED)  # really stopped
        pauses.append(at)
        run.resume()
    assert run.wait(30) and run.iteration == 400
    assert len([p for p in pauses if 0 < p < 400]) >= 2, pauses  # it was interrupted mid-run
    want, losses, _ = reference(config, small_data)
    assert_same(params(run), want)
    np.testing.assert_array_equal(run.record().losses, losses)


def test_step_once_and_plus_epoch_continue_the_same_run(small_data):
    config = TrainConfig(**SMALL, seed=1)
    run = live.LiveRun(config, small_data)
    for _ in range(3):
        assert run.step_once()
    assert run.state == live.PAUSED and run.iteration == 3
    assert run.plus_epoch() and run.wait(10)
    assert run.state == live.PAUSED and run.iteration == 23  # one epoch is 20 steps
    run.resume()
    assert run.wait(30) and run.state == live.FINISHED and run.iteration == 400
    assert run.plus_epoch() and run.wait(10)  # past the end: one more epoch, then finished again
    assert run.state == live.FINISHED and run.iteration == 420
    want, _, _ = reference(config, small_data, steps=420)
    assert_same(params(run), want)


def test_stop_ends_the_run_fast_and_for_good(small_data):
    run = live.LiveRun(TrainConfig(**{**SMALL, "iterations": 10**6}), small_data, run_id=9001)
    run.start()
    while run.iteration < 10:
        time.sleep(0.001)
    assert run.stop(timeout=PROMPT)
    at = run.iteration
    assert run.state == live.STOPPED and 0 < at
    assert run.closed and not run.start() and not run.resume() and not run.step_once()
    time.sleep(0.02)
    assert run.iteration == at and len(run.record().losses) == at
    assert not run.process_alive  # its process has ended
    assert run.record().iterations == at and run.snapshot_net().params["W1"].shape == (784, 20)


def test_learning_rate_change_through_the_controller_applies_from_the_next_step(small_data):
    config = TrainConfig(**{**SMALL, "iterations": 10**6}, seed=2)
    run = live.LiveRun(config, small_data)
    run.start()
    while run.iteration < 30:
        time.sleep(0.001)
    run.adjust(lr=0.01)
    while not run.snapshot().adjustments or run.iteration < run.snapshot().adjustments[0].iteration + 5:
        time.sleep(0.001)  # until the worker has taken it and made a few steps with it
    run.pause()
    (change,) = run.snapshot().adjustments
    assert change.changes == (("lr", 0.01),) and 30 < change.iteration <= run.iteration - 5
    assert run.config.lr == 0.01 and run.initial_config.lr == 0.1
    want, _, _ = reference(config, small_data, steps=run.iteration, adjust_at=change.iteration,
                           changes={"lr": 0.01})
    assert_same(params(run), want)
    # the same change one step later gives different weights: the step it applies from matters
    other, _, _ = reference(config, small_data, steps=run.iteration, adjust_at=change.iteration + 1,
                            changes={"lr": 0.01})
    assert not np.array_equal(other["W1"], want["W1"])
    with pytest.raises(ValueError, match="frozen_fields"):
        run.adjust(hidden_sizes=(5,))
    with pytest.raises(ValueError, match="lr"):
        run.adjust(lr=-1.0)
    assert run.config.lr == 0.01
    run.stop()


def test_divergence_pauses_the_run_keeps_the_history_and_says_why(small_data):
    # four ReLU layers with He init and SGD at lr 10: the updates overflow within a few steps
    run = live.LiveRun(TrainConfig(**{**SMALL, "hidden_sizes": (20,) * 4}, weight_init="he", lr=10.0), small_data)
    run.start()
    assert run.wait(10)
    snap = run.snapshot()
    d = snap.divergence
    assert snap.state == live.PAUSED and d is not None
    assert d.lr == 10.0 and d.iteration == run.iteration < 400
    losses = run.record().losses
    assert len(losses) == d.iteration and np.nanmax(losses) > 1e3 * losses[0]  # the history up to it is kept
    assert run.can_resume == d.weights_finite
    record = run.record()
    assert record.diverged and record.iterations == d.iteration
    assert d.weights_finite  # Trainer.step put the weights back to its last checkpoint
    run.adjust(lr=0.01)  # Resume at a lower lr goes on from the restored weights and recovers
    assert run.resume() and run.wait(10)
    again = run.snapshot()
    assert again.state == live.FINISHED and again.divergence is None
    losses = run.record().losses
    assert len(losses) == run.config.iterations and np.isfinite(losses[d.iteration:]).all()
    assert losses[-1] < 2.5  # back to ordinary losses


def test_an_error_in_training_pauses_the_run_and_is_reported(small_data):
    # a batch of 10^12 images cannot be allocated: the step raises MemoryError in the training process
    run = live.LiveRun(TrainConfig(**{**SMALL, "batch_size": 10**12}), small_data)
    assert run.start() and run.wait(10)
    snap = run.snapshot()
    assert snap.state == live.PAUSED and snap.error == live.ErrorInfo("memory") and not run.can_resume
    assert len(snap.evals) == 1  # what it did before the error is kept


def test_a_run_that_cannot_be_built_raises_in_the_caller(small_data, caplog):
    broken = SimpleNamespace(x_train=small_data.x_train, t_train=small_data.t_train, title="no test set")
    with pytest.raises(live.RunError) as err:
        live.LiveRun(TrainConfig(**SMALL), broken)
    assert err.value.error.code == "bug" and err.value.error.values["type"] == "AttributeError"
    assert "x_test" in err.value.error.values["traceback"]  # for the server's log: the page never shows it
    assert "AttributeError" in caplog.text and "x_test" in caplog.text


def test_a_bug_mid_run_keeps_the_history_logs_the_traceback_and_can_restart(small_data, caplog):
    labels = small_data.t_train.copy()
    labels[-1] = 200  # a label no softmax has: the step that draws it raises IndexError in the trainer
    data = SimpleNamespace(**{**vars(small_data), "t_train": labels})
    run = live.LiveRun(TrainConfig(**SMALL), data)
    assert run.start() and run.wait(20)
    snap = run.snapshot()
    assert snap.state == live.PAUSED and snap.error.code == "bug" and not run.can_resume
    assert "IndexError" in caplog.text and "index 200 is out of bounds" in caplog.text  # the server's log
    assert run.can_restart
    assert run.restart()  # a fresh trainer from the last checkpoint (none yet: from the start)
    assert run.snapshot().error is None and run.state == live.READY and not run.closed


def test_errors_cross_the_process_boundary_as_codes_and_values(tmp_path):
    """An IDXError (a corrupt data file) cannot be rebuilt from pickle; its ErrorInfo can: a SourceStatus's
    code and values, worded by the page (never an English detail)."""
    info = live.ErrorInfo.of(IDXError(tmp_path / "t10k-images-idx3-ubyte", "truncated: 12 of 7,840,016 bytes"))
    assert info == live.ErrorInfo("data_corrupt", {"source": "", "status": "unreadable", "folder": str(tmp_path),
                                                   "file": "t10k-images-idx3-ubyte"})
    error = pickle.loads(pickle.dumps(live.RunError(info)))
    assert error.error == info
    assert live.ErrorInfo.of(MemoryError()).code == "memory"
    missing = live.ErrorInfo.of(DatasetNotFoundError("no files", "full"))
    assert missing.code == "dataset_missing" and missing.values["status"] == "not_downloaded"


def test_snapshot_net_is_a_copy_taken_between_steps(small_data):
    config = TrainConfig(**{**SMALL, "iterations": 10**6})
    run = live.LiveRun(config, small_data)
    run.start()
    while run.iteration < 10:
        time.sleep(0.001)
    net = run.snapshot_net()
    before, at = net.params["W1"].copy(), run.iteration
    while run.iteration < at + 10:
        time.sleep(0.001)
    later = run.snapshot_net()
    run.pause()
    assert np.array_equal(net.params["W1"], before)  # training went on without touching the copy
    assert not np.array_equal(later.params["W1"], before)
    assert_same(run.snapshot_net().params, reference(config, small_data, steps=run.iteration)[0])
    x = small_data.x_test[:5].reshape(5, -1) / 255.0
    assert net.predict(x.astype(np.float32)).shape == (5, 10)


def test_snapshot_bounds_the_points_drawn_and_the_history_kept(small_data):
    run = live.LiveRun(TrainConfig(**SMALL), small_data, history_capacity=32)  # 400 steps, 20 evaluations
    run.run_steps(400)
    record = run.record()
    losses, stride = record.losses, record.loss_stride
    assert len(losses) <= 32 and stride == 16 and len(losses) * stride == 400  # compacted 4 times: 400 = 25 x 16
    snap = run.snapshot(max_points=10)
    assert len(snap.loss) <= 10 and len(snap.evals) <= 10 and len(snap.ratios) <= 10
    assert 390 < snap.loss.x[-1] <= 400 and snap.loss.bucket * stride * len(snap.loss) >= 392


def test_history_compaction_keeps_the_means():
    h = live.LossHistory(capacity=8, initial=2)
    values = np.arange(1, 101, dtype=np.float64)
    for v in values:
        h.append(v)
    assert len(h) <= 8 and h.count == 100 and h.stride == 16
    assert h.iterations().tolist() == [16 * (i + 1) for i in range(len(h))]
    np.testing.assert_allclose(h.values(), values[: len(h) * 16].reshape(-1, 16).mean(axis=1))
    with pytest.raises(ValueError):
        live.LossHistory(capacity=7)


def test_downsample_is_nan_aware_and_ema_is_debiased():
    y = np.array([1.0, 3.0, np.nan, 5.0, np.inf, 7.0, 2.0])
    x, mean, lo, hi, b = live.downsample(np.arange(1, 8), y, max_points=3)
    assert b == 3 and len(x) == 3
    assert x.tolist() == [2.0, 5.0, 7.0]
    assert mean.tolist() == [2.0, 6.0, 2.0] and lo.tolist() == [1.0, 5.0, 2.0] and hi.tolist() == [3.0, 7.0, 2.0]
    _, mean, _, _, _ = live.downsample([1, 2], [np.nan, np.nan], max_points=1)
    assert np.isnan(mean).all()
    np.testing.assert_allclose(live.ema(np.full(50, 2.3), 0.98), 2.3)  # no pull towards 0 at the start
    s = live.ema([1.0, np.nan, 3.0], 0.5)
    assert s[0] == 1.0 and s[1] == 1.0 and s[2] == pytest.approx((0.25 * 1 + 0.5 * 3) / 0.75)
    ramp = np.linspace(2.3, 0.3, 400)  # a falling loss: the one-way EMA lags, the two-way one does not
    assert live.ema(ramp, 0.95)[200] - ramp[200] > 0.08
    assert abs(live.smooth(ramp, 0.95)[200] - ramp[200]) < 1e-3
    noisy = ramp + np.random.default_rng(0).normal(0, 0.2, 400)
    assert np.std(live.smooth(noisy, 0.95) - ramp) < 0.2 / 3


# --- a session's runs ------------------------------------------------------------------------------------

def test_lab_queues_a_comparison_and_records_each_run(small_data):
    lab = live.Lab(data_loader=lambda config: small_data)
    runs = [(name, TrainConfig(**{**SMALL, "iterations": 60}, optimizer=name, lr=lr))
            for name, lr in (("SGD", 0.1), ("Adam", 0.001), ("AdaGrad", 0.01))]
    group = lab.queue(runs)
    deadline = time.time() + 30
    while len(lab.records()) < 3 and time.time() < deadline:
        time.sleep(0.01)
    records = lab.records()
    assert [r.label for r in records] == ["SGD", "Adam", "AdaGrad"]
    assert all(r.group == group and r.status == live.FINISHED and r.iterations == 60 for r in records)
    assert [r.config.optimizer for r in records] == ["SGD", "Adam", "AdaGrad"]
    assert lab.view()[1] == 0 and lab.current.label == "AdaGrad"
    rows = live.runs_table(records)
    assert rows[1]["optimizer"] == "Adam" and rows[1]["test_acc"] == records[1].final[1]


def test_lab_new_run_archives_the_current_and_keeps_at_most_max_records(small_data):
    lab = live.Lab(data_loader=lambda config: small_data, max_records=2)
    for seed in range(3):
        run = lab.new_run(TrainConfig(**SMALL, seed=seed))
        run.run_steps(5)
    lab.stop()
    assert [r.config.seed for r in lab.records()] == [1, 2] and lab.dropped == 1
    assert all(r.status == live.STOPPED and r.iterations == 5 for r in lab.records())
    lab.new_run(TrainConfig(**SMALL))  # a run that never stepped leaves no record
    lab.new_run(TrainConfig(**SMALL))
    assert len(lab.records()) == 2


def test_session_end_stops_training_and_sessions_keep_their_own_runs(small_data):
    labs = [live.Lab(data_loader=lambda config: small_data) for _ in range(2)]
    configs = [TrainConfig(**{**SMALL, "iterations": 10**6}, seed=s, lr=lr) for s, lr in ((1, 0.1), (2, 0.05))]
    for lab, config in zip(labs, configs):
        lab.start(config)
    guard = live.SessionGuard()
    guard.watch(labs[0])
    while min(lab.current.iteration for lab in labs) < 10:
        time.sleep(0.001)
    guard.release()  # what the session-scoped cache's on_release does when the browser goes away
    assert labs[0].current.state == live.STOPPED and labs[0].closed
    assert [r.status for r in labs[0].records()] == [live.STOPPED]  # its history is kept
    assert labs[1].current.state == live.RUNNING  # the other session trains on
    at = labs[0].current.iteration
    time.sleep(0.05)
    assert labs[0].current.iteration == at
    assert not labs[0].current.process_alive and labs[1].current.process_alive  # the ended session's is gone
    labs[1].current.pause()
    for lab, config in zip(labs, configs):  # each session's run is its own uninterrupted run
        want, _, _ = reference(config, small_data, steps=lab.current.iteration)
        assert_same(params(lab.current), want)


# --- presets (the sanity checks: tests/test_stall.py) -----------------------------------------------------------------------------

def test_presets_are_the_books_experiments():
    (_, ch5), = PRESETS["ch5"]
    assert ch5 == TrainConfig()
    opts = dict(PRESETS["ch6_optimizers"])
    assert {k: (c.optimizer, c.lr) for k, c in opts.items()} == {
        "SGD": ("SGD", 0.01), "Momentum": ("Momentum", 0.01), "AdaGrad": ("AdaGrad", 0.01), "Adam": ("Adam", 0.001)}
    assert all(c.hidden_sizes == (100,) * 4 and c.batch_size == 128 and c.iterations == 2000 for c in opts.values())
    assert [c.weight_init for _, c in PRESETS["ch6_init"]] == [0.01, "xavier", "he"]
    overfit = [c for _, c in PRESETS["ch6_overfit"]]
    assert [c.weight_decay for c in overfit] == [0.0, 0.1]
    assert all(c.train_size == 300 and c.hidden_sizes == (100,) * 6 and c.iterations // 3 == 200 for c in overfit)


# --- exports --------------------------------------------------------------------------------------------------

def record_of(small_data, config=None):
    run = live.LiveRun(config or TrainConfig(**{**SMALL, "iterations": 40}), small_data)
    run.start()
    run.wait(10)
    return run.record()


def test_history_csv_has_every_loss_and_each_evaluation(small_data):
    r = record_of(small_data)
    lines = live.history_csv(r.losses, r.loss_stride, r.evals).splitlines()
    assert lines[0] == "iteration,loss,epoch,train_acc,test_acc"
    assert len(lines) == 1 + 41  # iteration 0 (the first evaluation) to 40
    first = lines[1].split(",")
    assert first[0] == "0" and first[1] == "" and float(first[4]) == r.evals[0, 3]
    row20 = lines[21].split(",")
    assert row20[0] == "20" and float(row20[1]) == pytest.approx(r.losses[19], rel=1e-5) and row20[2] == "1"
    assert lines[5].split(",")[2:] == ["", "", ""]


def test_weights_round_trip_through_npz(small_data):
    r = record_of(small_data)
    config, loaded = live.load_weights(live.weights_npz(r.params, r.config))
    assert config == r.config
    assert_same(loaded, r.params)
    net = live.RunRecord.net(r)
    assert np.array_equal(net.params["W2"], r.params["W2"])


def npz_bytes(**arrays):
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def good_arrays(config=TrainConfig(hidden_sizes=(4,))):
    arrays = {k: np.zeros(s, np.float32) for k, s in param_shapes(config).items()}
    arrays["config"] = np.array(json.dumps(config.to_dict()))
    return arrays


@pytest.mark.parametrize("make, code, values", [
    (lambda: pickle.dumps({"W1": np.zeros((784, 4))}), "pickle", {}),
    (lambda: b"\x93NUMPY" + b"\x00" * 20, "single_npy", {}),
    (lambda: b"hello, I am a text file", "not_npz", {}),
    (lambda: b"PK\x03\x04 broken zip", "damaged", {}),
    (lambda: npz_bytes(**{**good_arrays(), "W1": np.zeros((784, 5), np.float32)}), "shape",
     {"key": "W1", "got": (784, 5), "expected": (784, 4), "hidden": (4,)}),
    (lambda: npz_bytes(**{k: v for k, v in good_arrays().items() if k != "b2"}), "mismatch",
     {"missing": "b2", "extra": "", "hidden": (4,)}),
    (lambda: npz_bytes(**{**good_arrays(), "W3": np.zeros((2, 2))}), "mismatch",
     {"missing": "", "extra": "W3", "hidden": (4,)}),
    (lambda: npz_bytes(**{k: v for k, v in good_arrays().items() if k != "config"}), "no_config", {}),
    (lambda: npz_bytes(**{**good_arrays(), "config": np.array("{not json")}), "bad_config", {"problems": ()}),
    (lambda: npz_bytes(**{**good_arrays(), "config": np.array('{"lr": -1}')}), "bad_config",
     {"problems": (("lr", {"got": -1.0}),)}),
    (lambda: npz_bytes(**{**good_arrays(), "b1": np.array([0, np.nan, 0, 0], np.float32)}), "not_finite",
     {"key": "b1"}),
    (lambda: npz_bytes(**{**good_arrays(), "b1": np.zeros(4, np.int64)}), "dtype", {"key": "b1", "dtype": "int64"}),
])
def test_bad_weight_files_are_refused_with_a_reason(make, code, values):
    with pytest.raises(live.WeightsError) as err:
        live.load_weights(make())
    assert err.value.code == code
    if values is not None:
        assert err.value.values == values


def test_object_arrays_are_refused_before_anything_is_unpickled():
    boom = []

    class Bomb:
        def __reduce__(self):
            return (boom.append, ("unpickled!",))

    buf = io.BytesIO()
    np.savez(buf, **{**good_arrays(), "W1": np.array([Bomb()], dtype=object)})
    with pytest.raises(live.WeightsError, match="objects"):
        live.load_weights(buf.getvalue())
    assert boom == []
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as zf:
        zf.writestr("W1.npy", b"x")
        zf.writestr("evil.pkl", pickle.dumps(1))
    with pytest.raises(live.WeightsError, match="unexpected_entries"):
        live.load_weights(zipped.getvalue())


def test_reproduce_link_round_trip_and_bad_values():
    config = TrainConfig(hidden_sizes=(100, 100), optimizer="Adam", lr=0.001, weight_init="he", batch_size=128,
                         weight_decay=0.1, seed=7)
    query = live.config_query(config)
    assert query["hidden_sizes"] == "100,100" and query["lr"] == "0.001" and "dataset" not in query
    assert live.config_from_query({**query, "present": "1"}) == (config, [])
    assert live.config_from_query({"present": "1"}) == (None, [])
    got, problems = live.config_from_query({"lr": "fast", "batch_size": "-5", "optimizer": "Adam"})
    assert got == TrainConfig(optimizer="Adam")
    assert problems == [("unreadable", {"field": "lr", "got": "fast"}), ("batch_size", {"got": -5})]
    got, problems = live.config_from_query({"dataset": "fashion", "lr": "0.5"}, available=["sample"])
    assert got == TrainConfig(lr=0.5) and problems == [("dataset_missing", {"dataset": "fashion"})]
    link = live.reproduce_link("http://127.0.0.1:8501/training", config)
    assert link.startswith("http://127.0.0.1:8501/training?") and "hidden_sizes=100,100" in link
    assert live.config_from_query(dict(urllib.parse.parse_qsl(link.split("?")[1]))) == (config, [])
    assert live.reproduce_link("http://h/training", TrainConfig()) == "http://h/training"


def test_knobs_and_config_map_both_ways_with_the_length_in_epochs():
    config = TrainConfig(hidden_sizes=(100, 100), weight_init="he", optimizer="Adam", lr=0.001, batch_size=50,
                         iterations=400, train_size=1000, seed=3)
    knobs = live.knobs_from_config(config, std=0.1)
    assert (knobs["layers"], knobs["width"], knobs["init"], knobs["std"], knobs["unit"]) == (2, 100, "he", 0.1,
                                                                                             "iterations")
    assert set(knobs) == set(live.KNOBS) and live.config_from_knobs(knobs, n_images=5000) == config
    epochs = {**knobs, "unit": "epochs"}
    assert live.convert_length(epochs, n_images=5000) == 20  # 400 iterations of 50 out of 1,000 images
    assert live.config_from_knobs({**epochs, "length": 20}, n_images=5000).iterations == 400
    assert live.config_from_knobs({**epochs, "length": 2, "train_size": 0}, n_images=5000).iterations == 200
    assert live.convert_length({**knobs, "length": 3, "unit": "iterations"}, n_images=5000) == 60
    std = live.knobs_from_config(TrainConfig(weight_init=0.05))
    assert (std["init"], std["std"]) == ("std", 0.05)
    assert live.config_from_knobs(std, 5000) == TrainConfig(weight_init=0.05)


def test_labels_name_what_differs():
    a, b = TrainConfig(optimizer="SGD", lr=0.01), TrainConfig(optimizer="Adam", lr=0.01)
    assert live.distinguishing_fields([a, b]) == ("optimizer",)
    assert live.describe(b, ["optimizer", "lr"]) == [("optimizer", "Adam"), ("lr", 0.01)]
    assert live.describe(TrainConfig(hidden_sizes=(20, 10), weight_init="he"),
                         ["hidden_sizes", "weight_init", "train_size"]) == [
        ("hidden_sizes", "20-10"), ("weight_init_he", "he"), ("train_size_all", 0)]
    assert live.describe(a)[2:] == [("hidden_sizes", "50"), ("batch_size", 100)]


# --- figures (backprop/figures/training.py) ----------------------------------------------------------------

LABELS = {"x": "iterations", "y": "loss", "raw": "each mini-batch", "smooth": "smoothed", "chance": "ln 10",
          "empty": "no steps", "epochs": "epoch", "accuracy": "accuracy", "train": "train", "test": "test"}


def a_curve(n=5000, diverge_at=None):
    rng = np.random.default_rng(0)
    losses = (2.3 * np.exp(-np.arange(n) / 500) + 0.1 + rng.normal(0, 0.05, n)).astype(np.float32)
    if diverge_at:
        losses[diverge_at] = np.nan
    return live.loss_curve(losses, np.arange(1, n + 1), max_points=500)


def test_loss_figure_draws_raw_band_smoothed_line_and_ln10():
    from backprop.figures import training as figs

    curve = a_curve()
    fig = figs.loss_figure(curve, labels=LABELS)
    raw, smooth = fig.data
    assert (raw.name, smooth.name) == ("each mini-batch", "smoothed") and raw.opacity < 0.5
    assert len(raw.x) == 2 * len(curve) == 1000  # each bucket's min and max
    assert fig.layout.shapes[0].y0 == pytest.approx(math.log(10))
    assert fig.layout.yaxis.range[0] == 0 and fig.layout.yaxis.range[1] >= 1.15 * math.log(10)
    short = a_curve(n=400, diverge_at=300)  # one value per bucket: the NaN itself is drawn
    marked = figs.loss_figure(short, labels=LABELS, divergence=(301, "diverged"))
    assert np.isnan(np.asarray(marked.data[0].y, dtype=float)[300])  # a gap in the line, not a crash
    assert any(a.text == "diverged" for a in marked.layout.annotations)
    bucketed = figs.loss_figure(a_curve(diverge_at=4000), labels=LABELS)  # a NaN spoils no bucket
    assert np.isfinite(np.asarray(bucketed.data[1].y, dtype=float)).all()


def test_live_curves_data_matches_the_figures_and_is_json():
    from backprop.figures import training as figs

    curve = a_curve(diverge_at=10)
    evals = np.array([[0, 0, 0.1, 0.1], [50, 1, 0.8, 0.79]])
    data = figs.live_curves_data(curve, evals, labels=LABELS)
    json.dumps(data)  # what the component receives
    loss, accuracy = data["panels"]
    assert loss["ymax"] == figs.loss_figure(curve, labels=LABELS).layout.yaxis.range[1]
    assert loss["hline"]["y"] == pytest.approx(math.log(10)) and loss["series"][1]["name"] == "smoothed"
    assert len(loss["series"][0]["x"]) == 2 * len(curve)
    assert accuracy["percent"] and accuracy["series"][1]["y"] == [0.1, 0.79]
    assert figs._rounded([np.nan, 2.302585093, 0.5, np.inf]) == [None, 2.3026, 0.5, None]  # 5 digits of the largest
    assert figs._rounded([123456.0, 7.0]) == [123456.0, 7.0] and figs._rounded([]) == []
    empty = figs.live_curves_data(live.loss_curve(np.empty(0), np.empty(0)), np.empty((0, 4)), labels=LABELS)
    assert all(s["x"] == [] for p in empty["panels"] for s in p["series"])


def test_overlay_fades_earlier_runs():
    from backprop.figures import training as figs

    runs = [(f"#{i}", a_curve(), np.array([[0, 0, 0.1, 0.1], [50, 1, 0.8, 0.7 + i / 100]])) for i in range(3)]
    fig = figs.overlay_figure(runs, labels={"loss": "Loss", "accuracy": "Acc", "iterations": "it", "epochs": "ep",
                                            "empty": "-"})
    loss_traces = [t for t in fig.data if t.xaxis == "x"]
    assert [t.name for t in loss_traces] == ["#0", "#1", "#2"]
    assert [t.opacity for t in loss_traces] == sorted(t.opacity for t in loss_traces) and loss_traces[-1].opacity == 1
