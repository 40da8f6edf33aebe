"""A run's exports and the weights-file loader: history as CSV, weights as .npz, and loading them back.

``load_weights`` never unpickles: each .npy member's header is read and checked before its data.
A refused file raises WeightsError with a code and values (the page words them).
"""
import csv
import io
import json
import math
import zipfile
import zlib

import numpy as np

from ..training import ConfigError, TrainConfig, param_shapes

WEIGHTS_FORMAT = "backprop-explorer weights 1"
MB = 1024 * 1024
# The largest network the app builds: the training page's knobs go to 8 hidden layers of 500 units, and a
# link may ask for up to 1,000 units a layer. The core had no constant for these that the knobs share, so
# they are defined here; the training page's bounds should import them.
MAX_HIDDEN_LAYERS = 8
MAX_HIDDEN_WIDTH = 1000
INPUT_SIZE, OUTPUT_SIZE = 784, 10
# A weights file of that network in float64 is 59.5 MB (largest_weights_bytes()); 64 MB leaves room for
# the .npy headers and the config. Also the file's size limit, and .streamlit/config.toml's
# server.maxUploadSize (in MB) is this number: an upload is refused before it reaches the app.
MAX_WEIGHTS_BYTES = 64 * MB
MAX_TEXT_CHARS = 10_000
MAX_ENTRIES = 2 * (MAX_HIDDEN_LAYERS + 1) + 2  # W and b per layer, config, format


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
    single_npy, not_npz, damaged, too_many_entries {n, max}, unexpected_entries {names}, no_config, npy_version {name}, not_array {name},
    objects {name}, not_text {name}, bad_config {problems}, network_too_large {hidden, max_layers, max_width},
    inflates {name, mb, max_mb}, short_data {name, declared, present}, long_data {name, declared, present},
    mismatch {missing, extra}, dtype {key, dtype}, shape {key, got, expected, hidden}, not_finite {key}."""

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


def largest_weights_bytes(max_layers=MAX_HIDDEN_LAYERS, max_width=MAX_HIDDEN_WIDTH):
    """Bytes of the parameters (float64) of the largest network the app builds: W and b of each layer."""
    sizes = [INPUT_SIZE, *[max_width] * max_layers, OUTPUT_SIZE]
    return 8 * sum((n_in + 1) * n_out for n_in, n_out in zip(sizes, sizes[1:]))


def _mb(n):
    return max(1, round(n / MB))


def _read_member(zf, info, check):
    """One .npy member as an array, never unpickled: its header is read and ``check(shape, dtype)``-ed,
    and its declared size compared with what the zip holds, before any of its data is read."""
    try:
        with zf.open(info) as f:
            version = np.lib.format.read_magic(f)
            if version not in ((1, 0), (2, 0)):
                raise WeightsError("npy_version", name=info.filename)
            read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                           else np.lib.format.read_array_header_2_0)
            shape, fortran, dtype = read_header(f)  # refuses headers over 10 kB itself
            if dtype.hasobject:
                raise WeightsError("objects", name=info.filename)
            check(shape, dtype)
            declared, present = math.prod(shape) * dtype.itemsize, info.file_size - f.tell()
            if declared > MAX_WEIGHTS_BYTES:
                raise WeightsError("inflates", mb=_mb(declared), max_mb=_mb(MAX_WEIGHTS_BYTES))
            if declared != present:
                raise WeightsError("short_data" if declared > present else "long_data",
                                   name=info.filename, declared=declared, present=max(present, 0))
            raw = f.read(declared)  # zipfile checks the CRC once the member is read to its end
    except WeightsError:
        raise
    except ValueError:  # numpy: not an .npy header
        raise WeightsError("not_array", name=info.filename) from None
    except (EOFError, OSError, RuntimeError, NotImplementedError, zipfile.BadZipFile, zlib.error):
        raise WeightsError("damaged") from None  # cut short, bad CRC, encrypted, unknown compression
    if len(raw) != declared:
        raise WeightsError("short_data", name=info.filename, declared=declared, present=len(raw))
    return np.frombuffer(raw, dtype).reshape(shape, order="F" if fortran else "C")


def _open_archive(data):
    """The zip archive in ``data`` and its members {name without .npy: ZipInfo}; refuses what is not one,
    and an archive whose members would unpack to more than MAX_WEIGHTS_BYTES, before unpacking any."""
    if len(data) > MAX_WEIGHTS_BYTES:
        raise WeightsError("too_big", mb=_mb(len(data)), max_mb=_mb(MAX_WEIGHTS_BYTES))
    if data[:1] == b"\x80":
        raise WeightsError("pickle")
    if data[:6] == b"\x93NUMPY":
        raise WeightsError("single_npy")
    if not data.startswith(b"PK"):
        raise WeightsError("not_npz")
    n = data.count(b"PK\x01\x02")  # central directory records, counted before zipfile parses them all
    if n > MAX_ENTRIES:
        raise WeightsError("too_many_entries", n=n, max=MAX_ENTRIES)
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, NotImplementedError):
        raise WeightsError("damaged") from None
    names = [i.filename for i in infos]
    members = {i.filename[:-4]: i for i in infos if i.filename.endswith(".npy")}
    others = sorted(set(names) - {i.filename for i in members.values()}) or sorted(
        {n for n in names if names.count(n) > 1})  # a name twice: which one would count?
    if len(infos) > MAX_ENTRIES:
        raise WeightsError("too_many_entries", n=len(infos), max=MAX_ENTRIES)
    if others:
        raise WeightsError("unexpected_entries", names=", ".join(others[:5]))
    unpacked = sum(i.file_size for i in infos)
    if unpacked > MAX_WEIGHTS_BYTES:
        raise WeightsError("inflates", mb=_mb(unpacked), max_mb=_mb(MAX_WEIGHTS_BYTES))
    if "config" not in members:
        raise WeightsError("no_config")
    return zf, members


def _check_text(shape, dtype):
    if shape != () or dtype.kind != "U" or dtype.itemsize > 4 * MAX_TEXT_CHARS:
        raise WeightsError("not_text", name="config")


def _read_config(zf, members):
    raw = _read_member(zf, members["config"], _check_text)
    try:
        config = TrainConfig.from_dict(json.loads(str(raw[()])))
    except ConfigError as e:
        raise WeightsError("bad_config", problems=e.problems) from None
    except (json.JSONDecodeError, ValueError, TypeError, AttributeError, RecursionError):
        raise WeightsError("bad_config", problems=()) from None
    hidden = config.hidden_sizes
    if len(hidden) > MAX_HIDDEN_LAYERS or max(hidden) > MAX_HIDDEN_WIDTH:
        raise WeightsError("network_too_large", hidden=hidden[:MAX_HIDDEN_LAYERS + 1],
                           max_layers=MAX_HIDDEN_LAYERS, max_width=MAX_HIDDEN_WIDTH)
    return config


def _param_check(key, shape, config):
    def check(got, dtype):
        if dtype.kind != "f":
            raise WeightsError("dtype", key=key, dtype=str(dtype))
        if tuple(got) != shape:
            raise WeightsError("shape", key=key, got=tuple(got), expected=shape, hidden=config.hidden_sizes)
    return check


def load_weights(data):
    """Validate weights .npz bytes from ``weights_npz`` -> (TrainConfig, {key: array}); never unpickles.

    Checks, before reading an array's data: a zip of .npy members unpacking to at most MAX_WEIGHTS_BYTES,
    a config that TrainConfig accepts for a network the app builds (at most MAX_HIDDEN_LAYERS layers of
    MAX_HIDDEN_WIDTH units), exactly the parameters it implies, each a float array of the right shape
    whose data is as long as its header declares; then that the values are finite. Raises WeightsError.
    """
    zf, members = _open_archive(data)
    with zf:
        config = _read_config(zf, members)
        expected = param_shapes(config)
        keys = set(members) - {"config", "format"}
        missing, extra = sorted(set(expected) - keys), sorted(keys - set(expected))
        if missing or extra:
            raise WeightsError("mismatch", missing=", ".join(missing[:10]), extra=", ".join(extra[:10]),
                               hidden=config.hidden_sizes)
        params = {}
        for key, shape in expected.items():
            array = _read_member(zf, members[key], _param_check(key, shape, config))
            if not np.isfinite(array).all():
                raise WeightsError("not_finite", key=key)
            params[key] = array.astype(config.dtype)
    return config, params
