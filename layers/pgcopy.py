"""PostgreSQL binary COPY rows built from Arrow columns, without a Python object per row.

Each field becomes parts holding its 4-byte big-endian length and its bytes: fixed-width
numpy records or Arrow binary arrays. The compiled layers/_copyrows.c joins them row by row
into the COPY payload (Arrow's element-wise join when it is not built). Types: text, bytea
(also EWKB for geometry), float8, int4, int8, date, bool and text[].
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from geo import wkb as native

try:
    from layers._copyrows import join as _join_rows
except ImportError:  # installed without a C compiler: Arrow joins the rows
    _join_rows = None

HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags, header extension length
TRAILER = b"\xff\xff"
_FIXED = {"float8": ">f8", "int4": ">i4", "int8": ">i8", "bool": "u1", "date": ">i4"}
_PG_EPOCH_DAYS = 10957  # 2000-01-01 minus 1970-01-01


def _as_binary(values: np.ndarray) -> pa.Array:
    """A numpy array of fixed-width records as an Arrow binary array, one element per record."""
    values = np.ascontiguousarray(values)
    width = values.dtype.itemsize
    fixed = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(width), len(values), [None, pa.py_buffer(values.view(np.uint8))]
    )
    return fixed.cast(pa.binary())


def _valid(column: pa.Array) -> np.ndarray:
    if column.null_count == 0:
        return np.ones(len(column), dtype=bool)
    return column.is_valid().to_numpy(zero_copy_only=False)


def _variable(column: pa.Array) -> list[Part]:
    if not pa.types.is_binary(column.type):
        column = column.cast(pa.binary())
    lengths = pc.binary_length(column).fill_null(-1).to_numpy(zero_copy_only=False)
    return [lengths.astype(">i4"), column.fill_null(b"")]


def _fixed(column: pa.Array, pg_type: str) -> list[Part]:
    dtype = np.dtype(_FIXED[pg_type])
    if pg_type == "date":
        days = column.cast(pa.date32()).cast(pa.int32()).fill_null(0)
        values = days.to_numpy(zero_copy_only=False).astype(np.int64) - _PG_EPOCH_DAYS
    elif pg_type == "bool":
        values = column.cast(pa.bool_()).fill_null(False).to_numpy(zero_copy_only=False)
    else:
        values = column.fill_null(0).to_numpy(zero_copy_only=False)
    record = np.empty(len(column), dtype=[("length", ">i4"), ("value", dtype)])
    record["length"] = dtype.itemsize
    record["value"] = values
    valid = _valid(column)
    if valid.all():
        return [record]
    null = _as_binary(np.full(len(column), -1, dtype=">i4"))
    return [pc.if_else(pa.array(valid), _as_binary(record), null)]


_TEXT_OID = 25


def _text_array(column: pa.Array) -> list[pa.Array]:
    """text[] in binary form: header (ndim, flags, element oid[, size, lower bound]) + items."""
    if pa.types.is_large_list(column.type):
        column = column.cast(pa.list_(pa.string()))
    column = column.fill_null(pa.scalar([], pa.list_(pa.string())))
    counts = pc.list_value_length(column).to_numpy(zero_copy_only=False).astype(np.int64)
    items = pc.list_flatten(column)
    if items.null_count:
        raise ValueError("text[] items must not be null")
    encoded_items = pa.array([], pa.binary())
    if len(items):
        lengths, values = _variable(items)
        encoded_items = pc.binary_join_element_wise(_as_binary(lengths), values, b"")
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    bodies = pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets), encoded_items), b"")
    header = np.empty(
        len(column),
        dtype=[
            ("length", ">i4"),
            ("ndim", ">i4"),
            ("flags", ">i4"),
            ("oid", ">i4"),
            ("size", ">i4"),
            ("lower", ">i4"),
        ],
    )
    body_length = pc.binary_length(bodies).to_numpy(zero_copy_only=False).astype(np.int64)
    empty = counts == 0
    header["length"] = np.where(empty, 12, 20 + body_length)
    header["ndim"] = np.where(empty, 0, 1)
    header["flags"] = 0
    header["oid"] = _TEXT_OID
    header["size"] = counts
    header["lower"] = 1
    full = _as_binary(header)
    # An empty array is only ndim, flags and oid: cut the size and lower bound off.
    short = pc.binary_slice(full, 0, 16)
    return [pc.if_else(pa.array(empty), short, full), bodies]


Part = pa.Array | np.ndarray  # Arrow binary, or numpy fixed-width records


def encode(columns: Sequence[tuple[pa.Array, str]]) -> pa.Buffer:
    """COPY BINARY tuples (no header or trailer) for equally long columns and their PG types."""
    rows = len(columns[0][0]) if columns else 0
    if rows == 0:
        return pa.py_buffer(b"")
    parts: list[Part] = [np.full(rows, len(columns), dtype=">i2")]
    for column, pg_type in columns:
        if isinstance(column, pa.ChunkedArray):
            column = column.combine_chunks()
        if column.null_count == rows:
            parts.append(np.full(rows, -1, dtype=">i4"))
            continue
        if pg_type == "text[]":
            parts.extend(_text_array(column))
        else:
            parts.extend(_fixed(column, pg_type) if pg_type in _FIXED else _variable(column))
    if _join_rows is not None:
        return pa.py_buffer(_join_rows(rows, [_described(part) for part in parts]))
    parts = [_as_binary(part) if isinstance(part, np.ndarray) else part for part in parts]
    if sum(part.nbytes for part in parts) > (1 << 31) - (1 << 24):
        # Beyond 32-bit offsets: join as large_binary (rare: a batch of huge polygons).
        parts = [part.cast(pa.large_binary()) for part in parts]
    joined = pc.binary_join_element_wise(*parts, b"")
    if pa.types.is_large_binary(joined.type):
        offsets = np.frombuffer(joined.buffers()[1], dtype=np.int64)
    else:
        offsets = np.frombuffer(joined.buffers()[1], dtype=np.int32)
    start, end = offsets[joined.offset], offsets[joined.offset + len(joined)]
    return joined.buffers()[2][start:end]


def _described(part: Part) -> tuple:
    """A part as layers._copyrows.join takes it."""
    if isinstance(part, np.ndarray):
        part = np.ascontiguousarray(part)
        return (1, part.view(np.uint8).reshape(-1), part.dtype.itemsize)
    part, width, offsets, data = native.binary_buffers(part)
    return (0, offsets, width, data if data is not None else b"", part.offset)


def ewkb_multipolygons(wkb: pa.Array, polygons: np.ndarray, srid: int) -> pa.Array:
    """2D little-endian WKB Polygons/MultiPolygons as MultiPolygon EWKB with an SRID.

    A MultiPolygon keeps its body behind a new header; a Polygon becomes the only member of
    one. In one pass in C (geo/_wkb.c) when compiled, else spliced in Arrow without parsing.
    Callers check byte order and dimensions.
    """
    in_c = native.multipolygon_ewkb(wkb, srid)
    if in_c is not None:
        return in_c
    head = b"\x01" + (6 | 0x20000000).to_bytes(4, "little") + srid.to_bytes(4, "little")
    # An explicit stop: this pyarrow's binary_slice without one sizes its buffer wrongly.
    longest = pc.max(pc.binary_length(wkb)).as_py() or 5
    body = pc.binary_slice(wkb, 5, longest)
    multi = pc.binary_join_element_wise(pa.scalar(head, pa.binary()), body, b"")
    if polygons.any():
        wrapped = pc.binary_join_element_wise(
            pa.scalar(head + (1).to_bytes(4, "little"), pa.binary()), wkb, b""
        )
        multi = pc.if_else(pa.array(polygons), wrapped, multi)
    return multi


def little_endian(wkb: pa.Array) -> bool:
    """True when every WKB value starts with the little-endian byte-order mark."""
    marks = pc.binary_slice(wkb, 0, 1)
    return bool(pc.all(pc.equal(marks, pa.scalar(b"\x01", pa.binary()))).as_py())
