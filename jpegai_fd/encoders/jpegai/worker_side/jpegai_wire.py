"""Message framing between the adapter and its workers: a JSON header, then raw array bytes.

Runs on both sides, also in the software's interpreter (maybe Python 3.7, an old numpy): standard library, and numpy
only for arrays, which travel as dtype, shape and C-order bytes, never pickles (numpy 1 and 2 cannot read each other's).
Frame: 8-byte big-endian header length, the UTF-8 JSON header (its "arrays" entry lists [name, dtype, shape] in order),
then the bytes of each array in that order."""

import json
import struct

_LEN = struct.Struct(">Q")


def write_message(stream, header, arrays=None):
    """Write one frame: ``header`` (JSON-serialisable dict) and ``arrays`` (name -> numpy array)."""
    arrays = arrays or {}
    specs = [[name, array.dtype.str, list(array.shape)] for name, array in arrays.items()]
    data = json.dumps(dict(header, arrays=specs)).encode("utf-8")
    stream.write(_LEN.pack(len(data)))
    stream.write(data)
    for array in arrays.values():
        stream.write(array.tobytes(order="C"))
    stream.flush()


def _read_exact(stream, n):
    chunks, left = [], n
    while left:
        chunk = stream.read(left)
        if not chunk:
            raise EOFError("stream closed after %d of %d bytes" % (n - left, n))
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_message(stream):
    """Read one frame; returns (header dict, arrays dict). Raises EOFError if the other side is gone."""
    (length,) = _LEN.unpack(_read_exact(stream, _LEN.size))
    header = json.loads(_read_exact(stream, length).decode("utf-8"))
    arrays = {}
    specs = header.pop("arrays", [])
    if specs:
        import numpy as np

        for name, dtype, shape in specs:
            dt = np.dtype(dtype)
            size = int(np.prod(shape, dtype=np.int64)) * dt.itemsize
            arrays[name] = np.frombuffer(_read_exact(stream, size), dtype=dt).reshape(shape)
    return header, arrays
