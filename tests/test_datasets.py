"""Loading data sets: the book's load_mnist on the bundled sample, sources, caching, and error reporting."""
import re
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from backprop import datasets
from backprop.datasets import (
    DatasetNotFoundError,
    IDXError,
    available_sources,
    cache_dir,
    load_dataset,
    load_mnist,
    SourceStatus,
    source_status,
)
from backprop.idx import write_idx

FASHION_INSTALLED = all(
    (datasets.SYSTEM_FASHION_DIR / name).is_file() for name in datasets.SOURCES["fashion"].files
)


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """An empty BACKPROP_DATA_DIR."""
    monkeypatch.setenv("BACKPROP_DATA_DIR", str(tmp_path))
    return tmp_path


def make_source_files(folder, n_train=20, n_test=10, seed=0):
    """Write small, valid official-named IDX files into folder; returns (x_train, t_train, x_test, t_test)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = (
        rng.integers(0, 256, size=(n_train, 28, 28), dtype=np.uint8),
        rng.integers(0, 10, size=n_train, dtype=np.uint8),
        rng.integers(0, 256, size=(n_test, 28, 28), dtype=np.uint8),
        rng.integers(0, 10, size=n_test, dtype=np.uint8),
    )
    for name, array in zip(datasets.FULL_MNIST_FILES, arrays):
        write_idx(folder / name, array)
    return arrays


# --- the book's loader on the bundled sample -------------------------------------------------------

def test_load_mnist_defaults():
    (x_train, t_train), (x_test, t_test) = load_mnist()
    assert x_train.shape == (5000, 784) and x_test.shape == (10000, 784)
    assert x_train.dtype == np.float32 and x_test.dtype == np.float32
    assert 0.0 <= x_train.min() and x_train.max() <= 1.0 and x_train.max() == 1.0
    assert t_train.shape == (5000,) and t_test.shape == (10000,)
    assert t_train.dtype == np.int64 and set(np.unique(t_test)) == set(range(10))


def test_load_mnist_unflattened():
    (x_train, _), (x_test, _) = load_mnist(flatten=False)
    assert x_train.shape == (5000, 1, 28, 28) and x_test.shape == (10000, 1, 28, 28)
    np.testing.assert_array_equal(x_train[:, 0], load_dataset().x_train / np.float32(255))


def test_load_mnist_one_hot():
    (_, t_train), (_, t_test) = load_mnist(one_hot_label=True)
    (_, labels), _ = load_mnist()
    assert t_train.shape == (5000, 10) and t_test.shape == (10000, 10)
    assert t_train.dtype == np.float32
    np.testing.assert_array_equal(t_train.sum(axis=1), 1)
    np.testing.assert_array_equal(t_train.argmax(axis=1), labels)


def test_load_mnist_raw():
    (x_train, _), _ = load_mnist(normalize=False)
    assert x_train.dtype == np.uint8 and x_train.shape == (5000, 784) and x_train.max() == 255


def test_sample_is_balanced():
    assert np.bincount(load_dataset("sample").t_train, minlength=10).tolist() == [500] * 10


def test_dataset_is_cached_and_read_only_while_load_mnist_copies():
    ds = load_dataset("sample")
    assert load_dataset("sample") is ds and load_dataset() is ds
    assert ds.name == "sample" and ds.title == "MNIST, bundled sample"
    assert ds.class_names == tuple("0123456789") and len(ds.files) == 4
    for a in (ds.x_train, ds.t_train, ds.x_test, ds.t_test):
        assert a.dtype == np.uint8 and not a.flags.writeable
        with pytest.raises(ValueError):
            a[0] = 0
    (x_train, t_train), (x_test, t_test) = load_mnist(normalize=False, flatten=False)
    for a in (x_train, t_train, x_test, t_test):
        assert a.flags.writeable
    x_train[:] = 0
    t_train[:] = 0
    assert ds.x_train.any() and ds.t_train.any()  # the shared copy is untouched


@pytest.mark.skipif(not FASHION_INSTALLED, reason="dataset-fashion-mnist is not installed")
def test_fashion(data_dir):
    ds = load_dataset("fashion")
    assert ds.x_train.shape == (60000, 28, 28) and ds.t_train.shape == (60000,)
    assert ds.x_test.shape == (10000, 28, 28) and ds.t_test.shape == (10000,)
    assert ds.class_names[0] == "T-shirt/top" and ds.class_names[9] == "Ankle boot"
    (x_train, _), _ = load_mnist(source="fashion")
    assert x_train.shape == (60000, 784)
    assert available_sources()["fashion"]
    status = source_status("fashion")
    assert (status.code, status.n_train, status.n_test) == ("ready", 60_000, 10_000) and status.present


# --- other sources, locations and errors ------------------------------------------------------------

def test_cache_dir_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("BACKPROP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "data"
    monkeypatch.delenv("BACKPROP_DATA_DIR")
    assert cache_dir() == tmp_path / "xdg" / "backprop-explorer"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "backprop-explorer"


def test_full_missing(data_dir):
    with pytest.raises(DatasetNotFoundError) as info:
        load_dataset("full")
    assert isinstance(info.value, FileNotFoundError)
    assert "python -m backprop.datasets download" in str(info.value)
    assert str(data_dir / "mnist") in str(info.value)
    assert available_sources() == {"sample": True, "full": False, "fashion": FASHION_INSTALLED}
    assert source_status("full") == SourceStatus("full", "not_downloaded", data_dir / "mnist")
    assert not source_status("full").present
    assert source_status("sample") == SourceStatus("sample", "bundled", datasets.BUNDLED_DIR, 5_000, 10_000)
    # The command line words the codes; pages word them from their catalogues.
    assert datasets._status_line(source_status("full")) == (
        "full MNIST: not downloaded — run python -m backprop.datasets download")
    assert datasets._status_line(source_status("sample")) == "bundled sample: 5,000 training + 10,000 test images"


def test_full_incomplete_names_missing_file(data_dir):
    make_source_files(data_dir / "mnist")
    (data_dir / "mnist" / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DatasetNotFoundError, match="lacks t10k-labels-idx1-ubyte.gz"):
        load_dataset("full")


@pytest.mark.skipif(FASHION_INSTALLED, reason="dataset-fashion-mnist is installed")
def test_fashion_missing_says_how_to_get_it(data_dir):
    with pytest.raises(DatasetNotFoundError, match="apt-get install dataset-fashion-mnist"):
        load_dataset("fashion")


def test_fashion_from_cache_folder(data_dir):
    x_train, t_train, _, _ = make_source_files(data_dir / "fashion-mnist")
    ds = load_dataset("fashion")
    np.testing.assert_array_equal(ds.x_train, x_train)
    assert ds.class_names[1] == "Trouser" and ds.files[0].parent == data_dir / "fashion-mnist"


def test_full_from_cache_folder(data_dir):
    x_train, t_train, x_test, t_test = make_source_files(data_dir / "mnist")
    assert available_sources()["full"]
    assert source_status("full") == SourceStatus("full", "ready", data_dir / "mnist", 20, 10)
    assert datasets._status_line(source_status("full")).startswith("full MNIST: 20 training + 10 test images (in ")
    ds = load_dataset("full")
    assert ds.title == "MNIST" and ds.x_train.shape == (20, 28, 28)
    np.testing.assert_array_equal(ds.t_test, t_test)
    (xs, ts), _ = load_mnist(source="full", one_hot_label=True)
    np.testing.assert_allclose(xs * 255, x_train.reshape(20, 784))
    np.testing.assert_array_equal(ts.argmax(axis=1), t_train)


def test_unknown_source():
    with pytest.raises(ValueError, match="unknown data source 'cifar'.*sample, full, fashion"):
        load_dataset("cifar")
    with pytest.raises(ValueError, match="valid sources"):
        load_mnist(source="cifar")


def test_corrupt_file_names_it(data_dir):
    make_source_files(data_dir / "mnist")
    bad = data_dir / "mnist" / "train-images-idx3-ubyte.gz"
    bad.write_bytes(bad.read_bytes()[:-40])
    with pytest.raises(IDXError, match=r"train-images-idx3-ubyte\.gz: corrupt gzip"):
        load_dataset("full")


@pytest.mark.parametrize(
    "fix, match",
    [
        (lambda a: (a[0], a[1][:-1], a[2], a[3]), r"train-labels-idx1-ubyte\.gz: has 19 labels but .* 20 images"),
        (lambda a: (a[0], a[1], a[2], np.full(10, 10, np.uint8)), r"t10k-labels.*label 10 .* out of range"),
        (lambda a: (a[0][:, :20, :20], a[1], a[2], a[3]), r"train-images.*expected 28x28 images, got 20x20"),
        (lambda a: (a[1], a[1], a[2], a[3]), r"train-images.*expected a 3-D image file"),
    ],
)
def test_inconsistent_files(data_dir, fix, match):
    arrays = fix(make_source_files(data_dir / "mnist"))
    for name, array in zip(datasets.FULL_MNIST_FILES, arrays):
        write_idx(data_dir / "mnist" / name, np.ascontiguousarray(array))
    with pytest.raises(IDXError, match=match):
        load_dataset("full")


def test_bundled_checksum_mismatch_is_reported(tmp_path, monkeypatch):
    shutil.copytree(datasets.BUNDLED_DIR, tmp_path / "mnist")
    labels = tmp_path / "mnist" / "train-5k-labels-idx1-ubyte.gz"
    raw = bytearray(labels.read_bytes())
    raw[-20] ^= 1
    labels.write_bytes(bytes(raw))
    monkeypatch.setattr(datasets, "BUNDLED_DIR", tmp_path / "mnist")
    with pytest.raises(IDXError, match=r"train-5k-labels-idx1-ubyte\.gz: checksum mismatch"):
        load_dataset("sample")


def test_concurrent_first_loads_read_once(data_dir, monkeypatch):
    make_source_files(data_dir / "mnist")
    calls = []
    read = datasets._read_dataset

    def slow_counting_read(*args):
        calls.append(threading.get_ident())
        time.sleep(0.05)  # keep the other threads waiting on the first read
        return read(*args)

    monkeypatch.setattr(datasets, "_read_dataset", slow_counting_read)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: load_dataset("full"), range(16)))
    assert len(calls) == 1
    assert all(r is results[0] for r in results)


def test_clear_cache_reloads(data_dir):
    make_source_files(data_dir / "mnist", seed=1)
    first = load_dataset("full")
    datasets.clear_cache()
    assert load_dataset("full") is not first


def test_a_source_whose_header_cannot_be_read_is_unreadable_and_named(data_dir):
    make_source_files(data_dir / "mnist")
    (data_dir / "mnist" / "t10k-images-idx3-ubyte.gz").write_bytes(b"not an idx file at all")
    status = source_status("full")
    assert (status.code, status.file, status.present) == ("unreadable", "t10k-images-idx3-ubyte.gz", False)
    with pytest.raises(IDXError) as info:
        load_dataset("full")
    assert info.value.file == "t10k-images-idx3-ubyte.gz"  # the name alone, for a page to word


def test_a_missing_source_names_itself_for_the_page(data_dir):
    with pytest.raises(DatasetNotFoundError) as info:
        load_dataset("full")
    assert info.value.source == "full"


def test_home_words_every_status_code_and_source():
    """The core gives codes; pages/locales/en/home.toml words each one (every code the core can return)."""
    import tomllib

    with open(datasets.BUNDLED_DIR.parents[2] / "pages" / "locales" / "en" / "home.toml", "rb") as f:
        home = tomllib.load(f)
    assert set(home["status"]) == set(datasets.STATUS_CODES) and set(home["source_names"]) == set(datasets.SOURCES)
    for status in (source_status("sample"), datasets.SourceStatus("full", "unreadable", datasets.BUNDLED_DIR, file="x.gz")):
        text = home["status"][status.code].format(n_train=status.n_train, n_test=status.n_test,
                                                  folder=status.folder, file=status.file)
        assert "{" not in text
    status = home["status"]["bundled"].format(n_train=5000, n_test=10000)
    assert home["source_line"].format(name="bundled sample", status=status) == (
        "bundled sample: 5,000 training + 10,000 test images")


# --- a damaged bundled sample: Home says so and how to fix it; other pages say it in a sentence -----------

@pytest.fixture
def damaged_sample(tmp_path, monkeypatch):
    """A copy of the bundled sample (monkeypatched in as BUNDLED_DIR); the test damages a file of it."""
    copy = tmp_path / "mnist"
    shutil.copytree(datasets.BUNDLED_DIR, copy)
    monkeypatch.setattr(datasets, "BUNDLED_DIR", copy)
    datasets.clear_cache()
    yield copy
    datasets.clear_cache()


def flip_byte(path, at=None):
    data = bytearray(path.read_bytes())
    at = len(data) // 2 if at is None else at
    data[at] ^= 0x01
    path.write_bytes(bytes(data))


def test_a_flipped_byte_or_a_truncated_file_in_the_sample_is_reported(damaged_sample):
    assert source_status("sample").code == "bundled"
    images = damaged_sample / "train-5k-images-idx3-ubyte.gz"
    flip_byte(images)  # inside the compressed data: header and length still look right
    status = source_status("sample")
    assert (status.code, status.file, status.present) == ("corrupt", images.name, False)
    labels = damaged_sample / "t10k-labels-idx1-ubyte.gz"
    labels.write_bytes(labels.read_bytes()[:-100])
    assert source_status("sample").file == images.name  # the first damaged file is named
    with pytest.raises(IDXError) as info:
        load_dataset("sample")
    assert info.value.file == images.name and "checksum" in info.value.problem


def test_a_truncated_file_of_a_source_without_checksums_is_corrupt(data_dir):
    make_source_files(data_dir / "mnist")
    images = data_dir / "mnist" / "train-images-idx3-ubyte.gz"
    assert source_status("full").code == "ready"
    images.write_bytes(images.read_bytes()[:-50])
    assert (source_status("full").code, source_status("full").file) == ("corrupt", images.name)
    plain = data_dir / "labels-idx1-ubyte"  # not gzipped: its size is checked
    write_idx(plain, np.zeros(10, np.uint8))
    assert datasets.check_idx_length(plain) == (10,)
    plain.write_bytes(plain.read_bytes() + b"\x00")
    with pytest.raises(IDXError, match="length mismatch"):
        datasets.check_idx_length(plain)


def test_each_file_is_checked_once_until_it_changes(damaged_sample, monkeypatch):
    hashed = []
    real = datasets.hashlib.sha256
    monkeypatch.setattr(datasets.hashlib, "sha256", lambda data: hashed.append(len(data)) or real(data))
    datasets._checked.clear()
    assert source_status("sample").code == "bundled" and len(hashed) == 4
    assert source_status("sample").code == "bundled" and len(hashed) == 4  # cached per (size, mtime)
    flip_byte(damaged_sample / "t10k-images-idx3-ubyte.gz")
    assert source_status("sample").code == "corrupt" and len(hashed) == 5  # only the changed file again


def test_home_says_the_sample_is_damaged_and_how_to_fix_it(damaged_sample):
    from conftest import open_page

    (damaged_sample / "t10k-images-idx3-ubyte.gz").write_bytes(
        (damaged_sample / "t10k-images-idx3-ubyte.gz").read_bytes()[:5000])
    at = open_page("pages/home.py")
    assert not at.exception
    (error,) = at.error
    shown = re.sub(r"\\(.)", r"\1", error.value)  # as rendered: the file name comes escaped, as plain text
    assert "bundled sample: damaged — t10k-images-idx3-ubyte.gz" in shown
    assert "`git checkout backprop/data`" in shown and "reinstall Backprop Explorer" in shown
    assert at.title[0].value == "Backprop Explorer"


def test_the_gradient_check_on_a_damaged_sample_names_the_file_and_how_to_restore_it(damaged_sample):
    """The page has no data to fall back on: it says, in Home's words, which file is damaged and what to do."""
    from conftest import open_page

    flip_byte(damaged_sample / "t10k-images-idx3-ubyte.gz")
    at = open_page("pages/gradient_check.py", timeout=60)
    assert not at.exception
    (error,) = at.error
    assert error.value.startswith("This page needs MNIST images, and they cannot be loaded: bundled sample: damaged")
    assert "t10k\\-images\\-idx3\\-ubyte\\.gz" in error.value and "`git checkout backprop/data`" in error.value
    assert "IDXError" not in error.value and "sha256" not in error.value and "went wrong" not in error.value
    import tomllib

    from pages import data_problem

    locales = Path(__file__).resolve().parents[1] / "pages" / "locales" / "zh"
    W = {name: tomllib.loads((locales / f"{name}.toml").read_text()) for name in ("home", "data")}
    status = SourceStatus("sample", "corrupt", damaged_sample, file="t10k-images-idx3-ubyte.gz")
    assert data_problem.status_text(W, status).endswith(
        "。应用自带的 MNIST 已损坏。请在应用的文件夹中运行 `git checkout backprop/data` 恢复"
        "（适用于 git 检出），或重新安装 Backprop Explorer。")


def test_a_load_error_is_the_status_home_reports(damaged_sample, monkeypatch):
    monkeypatch.setenv("BACKPROP_DATA_DIR", str(damaged_sample.parent / "cache"))  # no full MNIST
    labels = damaged_sample / "train-5k-labels-idx1-ubyte.gz"
    flip_byte(labels)
    with pytest.raises(IDXError) as info:
        load_dataset("sample")
    assert datasets.problem_status(info.value) == source_status("sample") == SourceStatus(
        "sample", "corrupt", damaged_sample, file=labels.name)  # the source found from the file's folder
    with pytest.raises(DatasetNotFoundError) as missing:
        load_dataset("full")
    assert datasets.problem_status(missing.value).code == "not_downloaded"
    assert datasets.problem_status(ValueError("unknown data source")) is None  # not about data files


def test_start_on_a_damaged_sample_is_worded_after_crossing_the_process_boundary(damaged_sample):
    """The training process sends an IDXError back as a code and values (it is pickled on the way)."""
    import pickle

    from backprop import live
    from pages import training_runs

    flip_byte(damaged_sample / "train-5k-labels-idx1-ubyte.gz")
    with pytest.raises(IDXError) as info:
        load_dataset("sample")
    sent = pickle.loads(pickle.dumps(live.ErrorInfo.of(info.value)))
    assert sent.code == "data_corrupt" and sent.values["file"] == "train-5k-labels-idx1-ubyte.gz"
    import tomllib

    with open(Path(__file__).resolve().parents[1] / "pages" / "locales" / "en" / "training.toml", "rb") as f:
        T = tomllib.load(f)
    with open(Path(__file__).resolve().parents[1] / "pages" / "locales" / "en" / "home.toml", "rb") as f:
        H = tomllib.load(f)
    with open(Path(__file__).resolve().parents[1] / "pages" / "locales" / "en" / "data.toml", "rb") as f:
        D = tomllib.load(f)
    text = training_runs.run_error_text(T, sent, {"home": H, "data": D})
    assert text.startswith("bundled sample: damaged — train\\-5k\\-labels\\-idx1\\-ubyte\\.gz in ")
    assert "`git checkout backprop/data`" in text and "IDXError" not in text and "python -m" not in text


def test_the_training_page_on_a_damaged_sample_names_the_file_for_start_and_the_inspector(damaged_sample):
    from conftest import open_training

    flip_byte(damaged_sample / "train-5k-labels-idx1-ubyte.gz")
    at = open_training()
    (error,) = at.error  # the inspector's test set cannot be loaded either (the sample's files are checked together)
    assert error.value.startswith("The inspector needs the test images, and they cannot be loaded: bundled sample")
    at.button(key="training_btn_start").click().run()  # in a callback: the words were looked up beforehand
    assert not at.exception
    said = [e.value for e in at.error]
    assert said[0].startswith("That did not work: bundled sample: damaged — train\\-5k\\-labels")
    assert "git checkout backprop/data" in said[0] and "IDXError" not in said[0]
    assert at.session_state["training_lab"].current is None
