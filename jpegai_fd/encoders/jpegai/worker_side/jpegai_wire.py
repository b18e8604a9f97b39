"""Message framing between the adapter and its workers: a JSON header, then raw array bytes.

This file runs on both sides: in the framework and inside the reference software's interpreter
(possibly Python 3.7 with an old numpy), so it needs only the standard library, and numpy only for
messages that carry arrays. Arrays travel as dtype string, shape and C-order bytes, never as pickles:
a numpy 2 pickle cannot be read by numpy 1 and vice versa.

Frame: 8-byte big-endian length of the header, the UTF-8 JSON header (a dict; its "arrays" entry
lists [name, dtype, shape] in order), then the bytes of each array in that order.
"""

import json
import struct

_LEN = struct.Struct(">Q")


def write_message(stream, header, arrays=None):
    """Write one frame: ``header`` (JSON-serialisable dict) and ``arrays`` (name -> numpy array)."""
    specs, blobs = [], []
    for name, array in (arrays or {}).items():
        specs.append([name, array.dtype.str, list(array.shape)])
        blobs.append(array.tobytes(order="C"))
    data = json.dumps(dict(header, arrays=specs)).encode("utf-8")
    stream.write(_LEN.pack(len(data)))
    stream.write(data)
    for blob in blobs:
        stream.write(blob)
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
            count = 1
            for s in shape:
                count *= s
            arrays[name] = np.frombuffer(_read_exact(stream, count * dt.itemsize), dtype=dt).reshape(shape)
    return header, arrays
