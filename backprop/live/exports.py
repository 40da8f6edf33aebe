"""A run's exports and the weights-file loader: history as CSV, weights as .npz, and loading them back.

``load_weights`` never unpickles: each .npy member's header is read and checked before its data.
A refused file raises WeightsError with a code and values (the page words them).
"""
import csv
import io
import json
import zipfile

import numpy as np

from ..training import ConfigError, TrainConfig, param_shapes

WEIGHTS_FORMAT = "backprop-explorer weights 1"
MAX_WEIGHTS_BYTES = 64 * 1024 * 1024
MAX_TEXT_CHARS = 10_000


def history_csv(losses, loss_stride, evals):
    """CSV text: iteration, loss, epoch, train_acc, test_acc (accuracy columns filled where evaluated).

    losses as LossHistory values (stride >1: the mean loss of the ``loss_stride`` iterations up to the row's).
    """
    rows = {}
    for i, value in enumerate(losses, start=1):
        rows[i * loss_stride] = [f"{float(value):.6g}", "", "", ""]
    for it, epoch, train, test in evals:
        row = rows.setdefault(int(it), ["", "", "", ""])
        row[1:] = [f"{epoch:.4g}", f"{train:.4f}", f"{test:.4f}"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["iteration", "loss", "epoch", "train_acc", "test_acc"])
    for it in sorted(rows):
        writer.writerow([it, *rows[it]])
    return out.getvalue()


class WeightsError(ValueError):
    """A weights file was refused. ``code`` says why, ``values`` the details: too_big {mb, max_mb}, pickle,
    single_npy, not_npz, unreadable {detail}, unexpected_entries {names}, no_config, npy_version {name},
    not_array {name}, objects {name}, not_text {name}, bad_config {problems}, mismatch {missing, extra},
    dtype {key, dtype}, shape {key, got, expected, hidden}, not_finite {key}."""

    def __init__(self, code, **values):
        self.code = code
        self.values = values
        super().__init__(f"{code} {values}")

    def __reduce__(self):
        return _weights_error, (self.code, self.values)


def _weights_error(code, values):
    return WeightsError(code, **values)


def weights_npz(params, config):
    """The weights as .npz bytes (np.savez_compressed): one array per parameter, plus the config as JSON."""
    buf = io.BytesIO()
    np.savez_compressed(buf, **{k: np.asarray(v) for k, v in params.items()},
                        config=np.array(json.dumps(config.to_dict())), format=np.array(WEIGHTS_FORMAT))
    return buf.getvalue()


def _read_member(zf, name, check):
    """Read one .npy member without unpickling: the header is checked by ``check(shape, dtype)`` first."""
    with zf.open(name) as f:
        try:
            version = np.lib.format.read_magic(f)
            if version not in ((1, 0), (2, 0)):
                raise WeightsError("npy_version", name=name)
            read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                           else np.lib.format.read_array_header_2_0)
            shape, _, dtype = read_header(f)
        except WeightsError:
            raise
        except ValueError:
            raise WeightsError("not_array", name=name) from None
        if dtype.hasobject:
            raise WeightsError("objects", name=name)
        check(shape, dtype)
    with zf.open(name) as f:
        return np.lib.format.read_array(f, allow_pickle=False)


def _open_archive(data):
    """The zip archive in ``data`` and its members {name without .npy: entry name}; refuses what is not one."""
    if len(data) > MAX_WEIGHTS_BYTES:
        raise WeightsError("too_big", mb=round(len(data) / 1e6), max_mb=round(MAX_WEIGHTS_BYTES / 1e6))
    if data[:1] == b"\x80":
        raise WeightsError("pickle")
    if data[:6] == b"\x93NUMPY":
        raise WeightsError("single_npy")
    if not data.startswith(b"PK"):
        raise WeightsError("not_npz")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        names = zf.namelist()
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise WeightsError("unreadable", detail=str(e)) from None
    members = {n[:-4]: n for n in names if n.endswith(".npy")}
    others = sorted(set(names) - set(members.values()))
    if others:
        raise WeightsError("unexpected_entries", names=", ".join(others[:5]))
    if "config" not in members:
        raise WeightsError("no_config")
    return zf, members


def _check_text(shape, dtype):
    if shape != () or dtype.kind != "U" or dtype.itemsize > 4 * MAX_TEXT_CHARS:
        raise WeightsError("not_text", name="config")


def _read_config(zf, members):
    raw = _read_member(zf, members["config"], _check_text)
    try:
        return TrainConfig.from_dict(json.loads(str(raw[()])))
    except ConfigError as e:
        raise WeightsError("bad_config", problems=e.problems) from None
    except (json.JSONDecodeError, ValueError, TypeError, AttributeError):
        raise WeightsError("bad_config", problems=()) from None


def _param_check(key, shape, config):
    def check(got, dtype):
        if dtype.kind != "f":
            raise WeightsError("dtype", key=key, dtype=str(dtype))
        if tuple(got) != shape:
            raise WeightsError("shape", key=key, got=tuple(got), expected=shape, hidden=config.hidden_sizes)
    return check


def load_weights(data):
    """Validate weights .npz bytes from ``weights_npz`` -> (TrainConfig, {key: array}); never unpickles.

    Checks: a zip of .npy arrays, a config that TrainConfig accepts, exactly the parameters that
    config implies, each a float array of the right shape with only finite values. Raises WeightsError.
    """
    zf, members = _open_archive(data)
    with zf:
        config = _read_config(zf, members)
        expected = param_shapes(config)
        keys = set(members) - {"config", "format"}
        missing, extra = sorted(set(expected) - keys), sorted(keys - set(expected))
        if missing or extra:
            raise WeightsError("mismatch", missing=", ".join(missing), extra=", ".join(extra),
                               hidden=config.hidden_sizes)
        params = {}
        for key, shape in expected.items():
            array = _read_member(zf, members[key], _param_check(key, shape, config))
            if not np.isfinite(array).all():
                raise WeightsError("not_finite", key=key)
            params[key] = array.astype(config.dtype)
    return config, params
