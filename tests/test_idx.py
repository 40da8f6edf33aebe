"""IDX reading and writing: round trips, the bundled MNIST files, and every kind of broken file."""
import gzip
import pathlib

import numpy as np
import pytest

from backprop.idx import IDXError, idx_shape, parse_idx, read_idx, write_idx

BUNDLED = pathlib.Path(__file__).resolve().parents[1] / "backprop" / "data" / "mnist"


@pytest.fixture
def images():
    return np.random.default_rng(0).integers(0, 256, size=(7, 28, 28), dtype=np.uint8)


@pytest.mark.parametrize("name", ["x-idx3-ubyte", "x-idx3-ubyte.gz"])
def test_round_trip(tmp_path, images, name):
    path = tmp_path / name
    write_idx(path, images)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == name.endswith(".gz")
    back = read_idx(path)
    assert back.dtype == np.uint8 and back.shape == (7, 28, 28)
    np.testing.assert_array_equal(back, images)
    assert idx_shape(path) == (7, 28, 28)


def test_round_trip_1d_and_plain_header_layout(tmp_path):
    labels = np.arange(10, dtype=np.uint8)
    write_idx(tmp_path / "l", labels)
    raw = (tmp_path / "l").read_bytes()
    assert raw[:8] == bytes([0, 0, 8, 1, 0, 0, 0, 10]) and raw[8:] == labels.tobytes()
    np.testing.assert_array_equal(read_idx(tmp_path / "l", expect_ndim=1), labels)


def test_gzip_detected_by_content_not_extension(tmp_path, images):
    write_idx(tmp_path / "a.gz", images)
    (tmp_path / "renamed.bin").write_bytes((tmp_path / "a.gz").read_bytes())
    np.testing.assert_array_equal(read_idx(tmp_path / "renamed.bin"), images)


def test_write_rejects_non_uint8(tmp_path):
    with pytest.raises(TypeError):
        write_idx(tmp_path / "f", np.zeros((2, 2), dtype=np.float32))


@pytest.mark.parametrize(
    "images_name, labels_name, n",
    [
        ("train-5k-images-idx3-ubyte.gz", "train-5k-labels-idx1-ubyte.gz", 5000),
        ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", 10000),
    ],
)
def test_bundled_files(images_name, labels_name, n):
    x = read_idx(BUNDLED / images_name, expect_ndim=3)
    t = read_idx(BUNDLED / labels_name, expect_ndim=1)
    assert x.shape == (n, 28, 28) and x.dtype == np.uint8
    assert t.shape == (n,) and set(np.unique(t)) == set(range(10))
    assert x.max() == 255 and x.min() == 0


def test_bundled_test_labels_start_like_official_mnist():
    # The official t10k set famously begins 7, 2, 1, 0, 4.
    assert read_idx(BUNDLED / "t10k-labels-idx1-ubyte.gz")[:5].tolist() == [7, 2, 1, 0, 4]


def _plain(images):
    """Bytes of an uncompressed IDX file holding `images`."""
    header = bytes([0, 0, 8, images.ndim]) + b"".join(d.to_bytes(4, "big") for d in images.shape)
    return header + images.tobytes()


def _gz_mutations(raw):
    compressed = gzip.compress(raw, mtime=0)
    middle = len(compressed) // 2
    flipped = bytearray(compressed)
    for i in range(middle, middle + 8):
        flipped[i] ^= 0xFF
    return {"flipped.gz": bytes(flipped), "cut.gz": compressed[: middle]}


@pytest.mark.parametrize(
    "name, make, word",
    [
        ("truncated-idx3-ubyte", lambda raw: raw[:-100], "truncated"),
        ("short-header-idx3-ubyte", lambda raw: raw[:10], "truncated"),
        ("trailing-idx3-ubyte", lambda raw: raw + b"garbage", "trailing"),
        ("magic-idx3-ubyte", lambda raw: b"\x01\x02" + raw[2:], "magic"),
        ("not-idx.txt", lambda raw: b"hello, world, this is text", "magic"),
        ("empty-idx3-ubyte", lambda raw: b"", "empty"),
        ("float-idx3-ubyte", lambda raw: raw[:2] + b"\x0d" + raw[3:], "unsupported data type"),
        ("zero-dim-idx3-ubyte", lambda raw: raw[:4] + b"\0\0\0\0" + raw[8:], "dimension"),
        ("truncated-idx3-ubyte.gz", lambda raw: gzip.compress(raw[:-1], mtime=0), "truncated"),
        ("flipped.gz", lambda raw: _gz_mutations(raw)["flipped.gz"], "corrupt gzip"),
        ("cut.gz", lambda raw: _gz_mutations(raw)["cut.gz"], "corrupt gzip"),
    ],
)
def test_broken_files_raise_idx_error_naming_file(tmp_path, images, name, make, word):
    path = tmp_path / name
    path.write_bytes(make(_plain(images)))
    with pytest.raises(IDXError) as info:
        read_idx(path)
    message = str(info.value)
    assert name in message and word in message, message
    assert isinstance(info.value, ValueError) and info.value.path == str(path)


def test_truncated_message_gives_sizes(tmp_path, images):
    path = tmp_path / "t10k-images-idx3-ubyte"
    path.write_bytes(_plain(images)[: 16 + 1200])
    with pytest.raises(IDXError, match=r"t10k-images-idx3-ubyte: truncated: header says 7x28x28 = 5488 "
                                       r"bytes of data, file has 1200"):
        read_idx(path)


def test_images_file_passed_as_labels(tmp_path, images):
    path = tmp_path / "images-idx3-ubyte.gz"
    write_idx(path, images)
    with pytest.raises(IDXError, match=r"images-idx3-ubyte\.gz: expected a 1-D label file \(magic 0x00000801\), "
                                       r"got 3-D image file \(0x00000803\)"):
        read_idx(path, expect_ndim=1)
    with pytest.raises(IDXError, match="expected a 1-D"):
        idx_shape(path, expect_ndim=1)


def test_labels_file_passed_as_images(tmp_path):
    path = tmp_path / "labels-idx1-ubyte"
    write_idx(path, np.zeros(5, dtype=np.uint8))
    with pytest.raises(IDXError, match="expected a 3-D image file .*got 1-D label file"):
        read_idx(path, expect_ndim=3)


def test_parse_idx_from_bytes(images):
    np.testing.assert_array_equal(parse_idx(gzip.compress(_plain(images))), images)
    with pytest.raises(IDXError, match="<bytes>: truncated"):
        parse_idx(_plain(images)[:-1])
