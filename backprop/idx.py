"""Reading and writing IDX files, the format MNIST is distributed in (uint8 data only).

An IDX file is a 4-byte magic number 0x0000TTNN (TT = data type, NN = number of dimensions),
NN big-endian uint32 dimension sizes, then the data in C order. Files may be gzip-compressed.
"""
import gzip
import math
import os
import zlib

import numpy as np

__all__ = ["IDXError", "parse_idx", "read_idx", "idx_shape", "check_idx_length", "write_idx"]

UBYTE = 0x08
# Only ubyte is supported; the other codes of the format are named so the error message can say
# what the file actually holds.
_TYPE_NAMES = {
    0x08: "unsigned byte",
    0x09: "signed byte",
    0x0B: "int16",
    0x0C: "int32",
    0x0D: "float32",
    0x0E: "float64",
}
_KIND = {1: "label", 3: "image"}
_GZIP_MAGIC = b"\x1f\x8b"


class IDXError(ValueError):
    """A file is not a valid uint8 IDX file; str() is "<file>: <problem>". ``file`` is its name alone."""

    def __init__(self, path, problem):
        self.path = os.fspath(path)
        self.file = os.path.basename(self.path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


def _describe(ndim):
    kind = _KIND.get(ndim)
    return f"{ndim}-D {kind} file" if kind else f"{ndim}-D file"


def _parse_header(head, path, expect_ndim):
    """Validate the magic number and dimensions at the start of `head`; return (dims, header_len)."""
    if len(head) < 4:
        raise IDXError(path, f"truncated header: file has only {len(head)} bytes, not an IDX file")
    magic = int.from_bytes(head[:4], "big")
    type_code, ndim = head[2], head[3]
    if head[0] != 0 or head[1] != 0 or type_code not in _TYPE_NAMES:
        raise IDXError(path, f"not an IDX file: bad magic number 0x{magic:08x} (expected 0x000008NN)")
    if type_code != UBYTE:
        raise IDXError(
            path,
            f"unsupported data type 0x{type_code:02x} ({_TYPE_NAMES[type_code]}) in magic 0x{magic:08x}; "
            "only 0x08 (unsigned byte) is supported",
        )
    if ndim == 0:
        raise IDXError(path, f"bad magic number 0x{magic:08x}: zero dimensions")
    if expect_ndim is not None and ndim != expect_ndim:
        raise IDXError(
            path,
            f"expected a {_describe(expect_ndim)} (magic 0x{0x800 + expect_ndim:08x}), "
            f"got {_describe(ndim)} (0x{magic:08x})",
        )
    header_len = 4 + 4 * ndim
    if len(head) < header_len:
        raise IDXError(
            path, f"truncated header: {ndim} dimensions need {header_len} header bytes, file has {len(head)}"
        )
    dims = tuple(int.from_bytes(head[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    if any(d == 0 for d in dims):
        raise IDXError(path, f"bad dimensions {_fmt_dims(dims)}: every dimension must be positive")
    return dims, header_len


def _fmt_dims(dims):
    return "x".join(str(d) for d in dims)


def _decompress(raw, path):
    try:
        return gzip.decompress(raw)
    # A damaged stream surfaces as any of these depending on where the damage is:
    # bad CRC/length (BadGzipFile, an OSError), cut short (EOFError), bad deflate data (zlib.error).
    except (OSError, EOFError, zlib.error) as e:
        raise IDXError(path, f"corrupt gzip stream ({e})") from e


def parse_idx(data, path="<bytes>", expect_ndim=None):
    """Decode the bytes of an IDX file (gzipped or not) into a read-only uint8 array of its shape.

    `path` only names the source in error messages.
    """
    data = bytes(data)
    # IDX files start with two zero bytes, so the gzip magic 1f 8b can never be a plain IDX file.
    if data[:2] == _GZIP_MAGIC:
        data = _decompress(data, path)
    if not data:
        raise IDXError(path, "empty file, not an IDX file")
    dims, header_len = _parse_header(data[: 4 + 4 * 255], path, expect_ndim)
    expected = math.prod(dims)
    have = len(data) - header_len
    if have < expected:
        raise IDXError(
            path, f"truncated: header says {_fmt_dims(dims)} = {expected} bytes of data, file has {have}"
        )
    if have > expected:
        raise IDXError(
            path,
            f"trailing data: header says {_fmt_dims(dims)} = {expected} bytes of data, "
            f"file has {have} ({have - expected} extra)",
        )
    # frombuffer shares the bytes instead of copying them; bytes are immutable, so the array is read-only.
    return np.frombuffer(data, dtype=np.uint8, offset=header_len).reshape(dims)


def read_idx(path, expect_ndim=None):
    """Read a uint8 IDX file (gzip detected by content) into a read-only array of the shape in its header.

    expect_ndim (e.g. 3 for images, 1 for labels) rejects a file with another number of dimensions.
    Raises IDXError naming the file for any malformed, truncated or corrupt file.
    """
    with open(path, "rb") as f:
        data = f.read()
    return parse_idx(data, path, expect_ndim)


def idx_shape(path, expect_ndim=None):
    """Shape tuple stored in an IDX file's header, reading only the header (cheap even for big files)."""
    with open(path, "rb") as f:
        start = f.read(2)
        f.seek(0)
        try:
            if start == _GZIP_MAGIC:
                with gzip.GzipFile(fileobj=f) as g:
                    head = g.read(4)
                    if len(head) == 4:
                        head += g.read(4 * head[3])
            else:
                head = f.read(4)
                if len(head) == 4:
                    head += f.read(4 * head[3])
        except (OSError, EOFError, zlib.error) as e:
            raise IDXError(path, f"corrupt gzip stream ({e})") from e
    if not head:
        raise IDXError(path, "empty file, not an IDX file")
    return _parse_header(head, path, expect_ndim)[0]


def check_idx_length(path, expect_ndim=None):
    """The shape in an IDX file's header, after checking that the file holds exactly that much data; cheap:
    the header, and for a gzip file its trailer (the uncompressed length mod 2**32), never the data itself.

    Catches a file cut short or padded; a changed byte in the middle needs a checksum. Raises IDXError."""
    dims = idx_shape(path, expect_ndim)
    expected = 4 + 4 * len(dims) + math.prod(dims)
    with open(path, "rb") as f:
        gzipped = f.read(2) == _GZIP_MAGIC
        size = f.seek(0, os.SEEK_END)
        if gzipped:
            f.seek(max(size - 4, 0))
            have = int.from_bytes(f.read(4), "little")
            expected %= 2**32
    have = have if gzipped else size
    if have != expected:
        raise IDXError(path, f"length mismatch: header says {_fmt_dims(dims)} ({expected} bytes), "
                             f"the file {'says it unpacks to' if gzipped else 'has'} {have}: cut short or altered")
    return dims


def write_idx(path, array):
    """Write a uint8 array of 1 to 255 dimensions as an IDX file, gzip-compressed if path ends in .gz."""
    array = np.asarray(array)
    if array.dtype != np.uint8:
        raise TypeError(f"write_idx writes uint8 arrays only, got {array.dtype}")
    if not 1 <= array.ndim <= 255 or array.size == 0:
        raise ValueError(f"write_idx needs a non-empty array of 1 to 255 dimensions, got shape {array.shape}")
    header = bytes([0, 0, UBYTE, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    payload = header + np.ascontiguousarray(array).tobytes()
    if os.fspath(path).endswith(".gz"):
        # mtime=0 makes the output depend on the data only, so fixtures are reproducible.
        payload = gzip.compress(payload, mtime=0)
    with open(path, "wb") as f:
        f.write(payload)
