"""PostgreSQL's binary COPY format, built from Arrow columns by Arrow kernels.

Binary COPY spares the server from parsing text (timestamps above all), which is most of
what a bulk load into an index-free table costs it. Layout: a signature, then per row a
16-bit field count and per field a 32-bit length (-1 for NULL) and the value in network
byte order; a 16-bit -1 ends the stream. Each field is made a binary column of its encoded
bytes and the columns are joined row by row; the joined column's data buffer is then
exactly the rows one after the other.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
TRAILER = b"\xff\xff"
_NULL = pa.scalar(b"\xff\xff\xff\xff", pa.binary())
# timestamptz counts microseconds from 2000-01-01 UTC, Arrow from 1970-01-01.
_PG_EPOCH_US = 946_684_800_000_000
# Each Arrow type is sent as the PostgreSQL type of the same width (the column must be it).
_FIXED = {pa.int64(): ">i8", pa.int32(): ">i4", pa.float64(): ">f8", pa.bool_(): "u1"}


def _fixed_width(values: np.ndarray, valid: pa.Array | None) -> pa.Array:
    """Length prefix and big-endian value of each row, as binary."""
    width = values.dtype.itemsize
    rows = np.empty(len(values), dtype=[("length", ">i4"), ("value", values.dtype)])
    rows["length"] = width
    rows["value"] = values
    encoded = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(4 + width), len(values), [None, pa.py_buffer(rows.tobytes())])
    encoded = encoded.cast(pa.binary())
    return encoded if valid is None else pc.if_else(valid, encoded, _NULL)


def _field(array: pa.Array) -> pa.Array:
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    valid = pc.is_valid(array) if array.null_count else None
    kind = array.type
    if pa.types.is_timestamp(kind):
        micros = pc.cast(pc.cast(array, pa.timestamp("us", tz="UTC")), pa.int64())
        array, kind = pc.subtract(micros, _PG_EPOCH_US), pa.int64()
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        lengths = pc.fill_null(pc.binary_length(array), 0).to_numpy(zero_copy_only=False)
        prefix = np.asarray(lengths, dtype=">i4").view(np.uint8)
        prefix = pa.FixedSizeBinaryArray.from_buffers(
            pa.binary(4), len(array), [None, pa.py_buffer(prefix.tobytes())]
        ).cast(pa.binary())
        body = pc.fill_null(array.cast(pa.binary()), b"")
        encoded = pc.binary_join_element_wise(prefix, body, b"")
        return encoded if valid is None else pc.if_else(valid, encoded, _NULL)
    if kind in _FIXED:
        filled = pc.fill_null(array, False if kind == pa.bool_() else 0)
        values = filled.to_numpy(zero_copy_only=False).astype(_FIXED[kind])
        return _fixed_width(values, valid)
    raise TypeError(f"no binary COPY encoding for {kind}")


def encode(table: pa.Table) -> pa.Buffer:
    """The rows of `table` in binary COPY format (without signature and trailer)."""
    n = table.num_rows
    count = np.full(n, len(table.columns), dtype=">i2").view(np.uint8)
    fields = [pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(2), n, [None, pa.py_buffer(count.tobytes())]).cast(pa.binary())]
    fields += [_field(column) for column in table.columns]
    rows = pc.binary_join_element_wise(*fields, b"")
    if isinstance(rows, pa.ChunkedArray):
        rows = rows.combine_chunks()
    offsets = np.frombuffer(rows.buffers()[1], dtype=np.int32)
    start, end = int(offsets[rows.offset]), int(offsets[rows.offset + len(rows)])
    return rows.buffers()[2][start:end] if end > start else pa.py_buffer(b"")
