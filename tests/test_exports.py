"""The weights loader against hostile files, each built here: decompression bombs refused before anything
is allocated (tracemalloc measures it), headers that declare more data than the file holds, and every
kind of file the loader refused before (pickles, object arrays, wrong names, shapes and dtypes, NaN,
empty, text and truncated files, path-like entries, oversized files). Each refusal is a code the page
words as a sentence."""
import io
import json
import pickle
import re
import struct
import tomllib
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest

from backprop import live
from backprop.live import exports
from backprop.training import TrainConfig, param_shapes

ROOT = Path(__file__).resolve().parents[1]
SMALL = TrainConfig(hidden_sizes=(4,))


def npy_header(shape, dtype="<f8"):
    """The bytes of a version 1.0 .npy header for an array of ``shape`` and ``dtype`` (no data)."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": dtype, "fortran_order": False, "shape": tuple(shape)})
    return buf.getvalue()


def npy(array):
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.asarray(array), allow_pickle=True)
    return buf.getvalue()


def config_npy(config):
    return npy(np.array(json.dumps(config.to_dict() if isinstance(config, TrainConfig) else config)))


def deflate_with_zeros(prefix, n_zeros):
    """A raw deflate stream of ``prefix`` then ``n_zeros`` zero bytes, and its CRC-32, made without ever
    holding the zeros: a block of 1 MB of zeros, flushed so it stands alone, repeated."""
    chunk = 1 << 20
    head = zlib.compressobj(9, zlib.DEFLATED, -15)
    parts = [head.compress(prefix) + head.flush(zlib.Z_FULL_FLUSH)]
    zeros = bytes(chunk)
    block = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = block.compress(zeros) + block.flush(zlib.Z_FULL_FLUSH)
    crc = zlib.crc32(prefix)
    for _ in range(n_zeros // chunk):
        parts.append(block)
        crc = zlib.crc32(zeros, crc)
    rest = n_zeros % chunk
    if rest:
        tail = zlib.compressobj(9, zlib.DEFLATED, -15)
        parts.append(tail.compress(bytes(rest)) + tail.flush(zlib.Z_FULL_FLUSH))
        crc = zlib.crc32(bytes(rest), crc)
    parts.append(zlib.compressobj(9, zlib.DEFLATED, -15).flush())  # the final, empty block
    return b"".join(parts), crc


def zip_of(members):
    """A zip archive of [(name, deflated bytes, crc, uncompressed size)], written by hand (zipfile would
    have to compress the gigabyte itself)."""
    out, central = bytearray(), bytearray()
    for name, data, crc, size in members:
        name_b = name.encode()
        offset = len(out)
        out += struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 8, 0, 0x21, crc, len(data), size, len(name_b), 0)
        out += name_b + data
        central += struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, 8, 0, 0x21, crc, len(data), size,
                               len(name_b), 0, 0, 0, 0, 0, offset) + name_b
    n = len(members)
    return bytes(out + central + struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, n, n, len(central), len(out), 0))


def stored(name, payload):
    return name, zlib.compress(payload, 9)[2:-4], zlib.crc32(payload), len(payload)


def npz(**arrays):
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def good_arrays(config=SMALL, dtype=np.float32):
    rng = np.random.default_rng(1)
    arrays = {k: rng.normal(0, 0.1, s).astype(dtype) for k, s in param_shapes(config).items()}
    arrays["config"] = np.array(json.dumps(config.to_dict()))
    return arrays


def refused(data):
    with pytest.raises(live.WeightsError) as err:
        live.load_weights(data)
    return err.value


def peak_mb(load, data):
    """(WeightsError, peak megabytes Python and NumPy allocated while ``load(data)`` ran)."""
    tracemalloc.start()
    try:
        try:
            load(data)
        except live.WeightsError as e:
            error = e
        else:
            error = None
        return error, tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


# --- bombs ----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def bomb_200k():
    """The issue's file: about 1.2 MB, its config a 200,000-unit hidden layer, W1 a real 1.25 GB of zeros."""
    config = TrainConfig(hidden_sizes=(200_000,), dtype="float64")
    header = npy_header((784, 200_000))
    data, crc = deflate_with_zeros(header, 784 * 200_000 * 8)
    members = [stored("config.npy", config_npy(config)), ("W1.npy", data, crc, len(header) + 784 * 200_000 * 8)]
    members += [stored(f"{k}.npy", npy(np.zeros(s))) for k, s in param_shapes(config).items() if k != "W1"]
    return zip_of(members)


def test_the_bomb_is_real_and_refused_before_anything_is_allocated(bomb_200k):
    assert 1.0e6 < len(bomb_200k) < 1.5e6
    with zipfile.ZipFile(io.BytesIO(bomb_200k)) as zf:  # a valid archive: 1.25 GB once unpacked
        assert zf.getinfo("W1.npy").file_size > 1.25e9
        with zf.open("W1.npy") as f:
            assert np.lib.format.read_magic(f) == (1, 0)
            assert np.lib.format.read_array_header_1_0(f)[0] == (784, 200_000)
    error, peak = peak_mb(live.load_weights, bomb_200k)
    assert error.code == "inflates" and error.values == {"mb": 1213, "max_mb": 64}
    assert peak < 20, f"{peak:.1f} MB allocated"


def test_a_bomb_within_the_zip_limit_is_refused_on_its_config(bomb_200k):
    """The same network declared in a config whose arrays are small: refused on the config's sizes."""
    config = TrainConfig(hidden_sizes=(200_000,))
    data = zip_of([stored("config.npy", config_npy(config)), stored("W1.npy", npy_header((784, 200_000)))])
    error, peak = peak_mb(live.load_weights, data)
    assert error.code == "network_too_large"
    assert error.values == {"hidden": (200_000,), "max_layers": 8, "max_width": 1000}
    many = TrainConfig(hidden_sizes=(10,) * 9)
    assert refused(zip_of([stored("config.npy", config_npy(many))])).code == "network_too_large"
    assert refused(npz(**good_arrays(many))).code == "too_many_entries"  # 9 layers: 21 entries
    huge = TrainConfig(hidden_sizes=(100_000_000,))  # the issue's 584 GiB allocation
    assert refused(zip_of([stored("config.npy", config_npy(huge))])).code == "network_too_large"


def test_a_member_that_inflates_past_the_limit_is_refused_even_with_a_good_config():
    arrays = good_arrays()
    header = npy_header((784, 4), "<f4")
    data, crc = deflate_with_zeros(header, 100 * 2**20)
    members = [stored(f"{k}.npy", npy(v)) for k, v in arrays.items() if k != "W1"]
    members.append(("W1.npy", data, crc, len(header) + 100 * 2**20))
    error, peak = peak_mb(live.load_weights, zip_of(members))
    assert error.code == "inflates" and peak < 5


def test_a_zip_that_lies_about_its_size_never_gives_more_than_it_declares():
    """file_size says 12,672 bytes (what W1 needs) but the stream holds 100 MB: zipfile stops at the
    declared size and the CRC (of the whole stream) then fails."""
    arrays = good_arrays()
    header = npy_header((784, 4), "<f4")
    data, crc = deflate_with_zeros(header, 100 * 2**20)
    members = [stored(f"{k}.npy", npy(v)) for k, v in arrays.items() if k != "W1"]
    members.append(("W1.npy", data, crc, len(header) + 784 * 4 * 4))
    error, peak = peak_mb(live.load_weights, zip_of(members))
    assert error.code == "damaged" and peak < 5


def test_a_header_that_declares_more_data_than_the_file_holds_is_refused_with_a_code():
    arrays = good_arrays()
    members = [stored(f"{k}.npy", npy(v)) for k, v in arrays.items() if k != "W1"]
    members.append(stored("W1.npy", npy_header((784, 4), "<f4") + bytes(1000)))
    error = refused(zip_of(members))
    assert error.code == "short_data" and error.values == {"name": "W1.npy", "declared": 12544, "present": 1000}
    members[-1] = stored("W1.npy", npy_header((784, 4), "<f4") + bytes(12544 + 8))
    error = refused(zip_of(members))
    assert error.code == "long_data" and error.values["present"] == 12552


def test_a_member_that_ends_early_in_its_stream_is_damaged():
    good = npz(**good_arrays())
    with zipfile.ZipFile(io.BytesIO(good)) as zf:
        infos = {i.filename: i for i in zf.infolist()}
    start = infos["W1.npy"].header_offset + 30 + len("W1.npy") + 200  # inside W1's data (stored)
    broken = bytearray(good)
    broken[start:start + 8] = b"\xff" * 8
    assert refused(bytes(broken)).code == "damaged"  # its CRC no longer holds


# --- what was refused before, still refused --------------------------------------------------------------

class Bomb:
    calls = []

    def __reduce__(self):
        return (Bomb.calls.append, ("unpickled!",))


@pytest.mark.parametrize("name, make, code", [
    ("pickle protocol 0", lambda: pickle.dumps({"W1": [0.0] * 4}, protocol=0), "not_npz"),
    ("pickle protocol 4", lambda: pickle.dumps({"W1": np.zeros((784, 4))}, protocol=4), "pickle"),
    ("pickled bomb", lambda: pickle.dumps(Bomb(), protocol=4), "pickle"),
    ("single .npy", lambda: npy(np.zeros(3)), "single_npy"),
    ("object array", lambda: npz(**{**good_arrays(), "W1": np.array([Bomb()], dtype=object)}), "objects"),
    ("object config", lambda: npz(**{**good_arrays(), "config": np.array([Bomb()], dtype=object)}), "objects"),
    ("wrong name", lambda: npz(**{("W9" if k == "W1" else k): v for k, v in good_arrays().items()}), "mismatch"),
    ("wrong shape", lambda: npz(**{**good_arrays(), "W1": np.zeros((784, 5), np.float32)}), "shape"),
    ("transposed", lambda: npz(**{**good_arrays(), "W2": np.zeros((10, 4), np.float32)}), "shape"),
    ("int dtype", lambda: npz(**{**good_arrays(), "b1": np.zeros(4, np.int64)}), "dtype"),
    ("complex dtype", lambda: npz(**{**good_arrays(), "b1": np.zeros(4, np.complex64)}), "dtype"),
    ("text weights", lambda: npz(**{**good_arrays(), "b1": np.array(["a"] * 4)}), "dtype"),
    ("NaN", lambda: npz(**{**good_arrays(), "b2": np.full(10, np.nan, np.float32)}), "not_finite"),
    ("inf", lambda: npz(**{**good_arrays(), "W2": np.full((4, 10), -np.inf, np.float32)}), "not_finite"),
    ("empty", lambda: b"", "not_npz"),
    ("text", lambda: "W1 = 0.5\n".encode(), "not_npz"),
    ("zip magic only", lambda: b"PK\x03\x04 broken zip", "damaged"),
    ("truncated half", lambda: npz(**good_arrays())[:3000], "damaged"),
    ("truncated end", lambda: npz(**good_arrays())[:-10], "damaged"),
    ("no config", lambda: npz(**{k: v for k, v in good_arrays().items() if k != "config"}), "no_config"),
    ("config not json", lambda: npz(**{**good_arrays(), "config": np.array("{not json")}), "bad_config"),
    ("config list", lambda: npz(**{**good_arrays(), "config": np.array("[1, 2]")}), "bad_config"),
    ("config deep", lambda: npz(**{**good_arrays(), "config": np.array("[" * 5000 + "]" * 5000)}), "bad_config"),
    ("config too long", lambda: npz(**{**good_arrays(), "config": np.array("x" * 20_000)}), "not_text"),
    ("path entry", lambda: zip_of([stored("config.npy", config_npy(SMALL)),
                                   stored("../../etc/evil.txt", b"owned")]), "unexpected_entries"),
    ("path array", lambda: zip_of([stored("config.npy", config_npy(SMALL)),
                                   stored("../../etc/evil.npy", npy(np.zeros(2)))]), "mismatch"),
    ("twice the same name", lambda: zip_of([stored("config.npy", config_npy(SMALL))] * 2), "unexpected_entries"),
    ("many entries", lambda: zip_of([stored(f"a{i}.npy", b"") for i in range(40)]), "too_many_entries"),
    ("over 64 MB", lambda: b"PK" + bytes(64 * 2**20), "too_big"),
])
def test_every_hostile_kind_is_refused(name, make, code):
    error = refused(make())
    assert error.code == code, (name, error.code, error.values)
    assert Bomb.calls == []


def test_a_header_over_numpys_limit_is_not_an_array():
    """A 2.0 header may declare up to 4 GB of header text; NumPy refuses more than 10 kB before reading it."""
    arrays = good_arrays()
    members = [stored(f"{k}.npy", npy(v)) for k, v in arrays.items() if k != "W1"]
    members.append(stored("W1.npy", b"\x93NUMPY\x02\x00" + struct.pack("<I", 2**31) + b"{" * 100))
    error, peak = peak_mb(live.load_weights, zip_of(members))
    assert error.code == "not_array" and peak < 5


# --- what is accepted -------------------------------------------------------------------------------------

@pytest.mark.parametrize("config", [SMALL, TrainConfig(hidden_sizes=(50, 20), dtype="float64")])
def test_weights_round_trip(config):
    params = {k: v for k, v in good_arrays(config, np.float64).items() if k != "config"}
    got_config, got = live.load_weights(live.weights_npz(params, config))
    assert got_config == config
    for k, v in params.items():
        assert got[k].dtype == np.dtype(config.dtype) and got[k].flags.writeable
        np.testing.assert_allclose(got[k], v, rtol=1e-6)


def test_fortran_order_arrays_keep_their_values():
    arrays = good_arrays()
    arrays["W1"] = np.asfortranarray(arrays["W1"])
    _, got = live.load_weights(npz(**arrays))
    np.testing.assert_array_equal(got["W1"], arrays["W1"])


def test_the_largest_network_the_app_builds_fits_the_limits():
    """8 layers of 1,000 units in float64: 59.5 MB; 64 MB is both the loader's limit and the server's
    upload limit (.streamlit/config.toml, in MB)."""
    assert exports.largest_weights_bytes() == 8 * (785 * 1000 + 7 * 1001 * 1000 + 1001 * 10)
    assert exports.largest_weights_bytes() < exports.MAX_WEIGHTS_BYTES < 1.1 * exports.largest_weights_bytes() + 2**20
    with (ROOT / ".streamlit" / "config.toml").open("rb") as f:
        assert tomllib.load(f)["server"]["maxUploadSize"] * 2**20 == exports.MAX_WEIGHTS_BYTES


def test_the_largest_network_loads_within_its_size():
    config = TrainConfig(hidden_sizes=(1000,) * 8, dtype="float64")
    params = {k: np.full(s, 0.5) for k, s in param_shapes(config).items()}
    data = live.weights_npz(params, config)
    del params
    error, peak = peak_mb(live.load_weights, data)
    assert error is None
    assert peak < 2.5 * exports.largest_weights_bytes() / 2**20  # read once, converted once


# --- the page words every code -----------------------------------------------------------------------------

CODES = {  # every code load_weights raises, with values as it gives them
    "too_big": {"mb": 70, "max_mb": 64}, "pickle": {}, "single_npy": {}, "not_npz": {}, "damaged": {},
    "too_many_entries": {"n": 40, "max": 20}, "unexpected_entries": {"names": "../../etc/evil.txt"},
    "no_config": {}, "npy_version": {"name": "W1.npy"}, "not_array": {"name": "W1.npy"},
    "objects": {"name": "W1.npy"}, "not_text": {"name": "config"}, "bad_config": {"problems": ()},
    "network_too_large": {"hidden": (200_000,), "max_layers": 8, "max_width": 1000},
    "inflates": {"mb": 1213, "max_mb": 64}, "short_data": {"name": "W1.npy", "declared": 12544, "present": 1000},
    "long_data": {"name": "W1.npy", "declared": 12544, "present": 12552},
    "mismatch": {"missing": "b2", "extra": "", "hidden": (4,)}, "dtype": {"key": "b1", "dtype": "int64"},
    "shape": {"key": "W1", "got": (784, 5), "expected": (784, 4), "hidden": (4,)}, "not_finite": {"key": "b1"},
}


def english():
    with (ROOT / "pages" / "locales" / "en" / "training.toml").open("rb") as f:
        return tomllib.load(f)


def test_every_code_in_the_loader_has_a_sentence():
    source = (ROOT / "backprop" / "live" / "exports.py").read_text()
    assert set(re.findall(r'WeightsError\("(\w+)"', source)) | {"short_data", "long_data"} == set(CODES)


@pytest.mark.parametrize("code", sorted(CODES))
def test_every_code_is_worded_without_exception_text(code):
    from pages import training_runs

    text = training_runs.weights_text(english(), live.WeightsError(code, **CODES[code]))
    assert len(text) > 15 and "Error" not in text and "Traceback" not in text and "{" not in text
    if code == "short_data":
        assert text.startswith("W1\\.npy declares 12,544 bytes of data but holds only 1,000")
    if code == "network_too_large":
        assert "200000" in text and "8 layers of 1000 units" in text


def test_names_from_a_file_are_shown_as_text_not_links():
    from pages import training_runs

    error = refused(zip_of([stored("config.npy", config_npy(SMALL)), stored("[x](http://evil)", b"")]))
    text = training_runs.weights_text(english(), error)
    assert "\\[x\\]\\(http\\:" in text and "](" not in text


# --- on the page -------------------------------------------------------------------------------------------

def test_the_page_says_in_words_why_a_hostile_file_is_refused(bomb_200k):
    from conftest import open_page

    at = open_page("pages/training.py", timeout=60)
    short = zip_of([stored(f"{k}.npy", npy(v)) for k, v in good_arrays().items() if k != "W1"]
                   + [stored("W1.npy", npy_header((784, 4), "<f4") + bytes(1000))])
    for name, data, words in [
        ("bomb.npz", bomb_200k, "unpacked it would take 1213 MB; weights files here hold at most 64 MB"),
        ("short.npz", short, "W1.npy declares 12,544 bytes of data but holds only 1,000"),
        ("[phish](http://127.0.0.1:9/x).npz", b"PK\x03\x04", "the archive is damaged or cut short"),
    ]:
        at.file_uploader(key="training_upload").set_value((name, data, "application/octet-stream")).run()
        assert not at.exception
        (error,) = at.error
        shown = error.value.replace("\\", "").replace("\u2060", "")
        assert words in shown and name in shown and "Error" not in shown and "Traceback" not in shown
        assert "](" not in error.value  # the file's name is text, not a link
    assert at.session_state["training_lab"].records() == []
