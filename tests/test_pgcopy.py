"""Binary COPY rows: the compiled joiner (layers/_copyrows.c) and Arrow's join agree byte for
byte, and PostgreSQL reads the rows back as they were written, nulls and slices included."""

from __future__ import annotations

import datetime

import pyarrow as pa
import pytest

from layers import pgcopy


def columns() -> list[tuple[pa.Array, str]]:
    return [
        (pa.array(["Título", None, "ccc", ""]), "text"),
        (pa.array([1.5, None, -3.25, 4.0]), "float8"),
        (pa.array([1, 2, 3, 4], pa.int64()), "int8"),
        (pa.array([datetime.date(2020, 1, 1), None, None, datetime.date(1999, 12, 31)]), "date"),
        (pa.array([["oro", "plata"], [], None, ["níquel"]]), "text[]"),
        (pa.array([b"\x01\x02", b"", None, b"\xff"]), "bytea"),
        (pa.nulls(4, pa.string()), "text"),
    ]


def test_the_compiled_joiner_is_installed():
    assert pgcopy._join_rows is not None


@pytest.mark.parametrize("start, length", [(0, 4), (1, 3), (2, 1)])
def test_compiled_and_arrow_joins_agree(monkeypatch, start, length):
    parts = [(column.slice(start, length), pg_type) for column, pg_type in columns()]
    compiled = bytes(pgcopy.encode(parts))
    monkeypatch.setattr(pgcopy, "_join_rows", None)
    assert bytes(pgcopy.encode(parts)) == compiled


def test_postgresql_reads_the_rows_back(db):
    db.execute(
        "CREATE TEMP TABLE copy_back (t text, f float8, i int8, d date, a text[], b bytea, n text)"
    )
    with db.cursor() as cursor, cursor.copy("COPY copy_back FROM STDIN (FORMAT BINARY)") as copy:
        copy.write(pgcopy.HEADER)
        copy.write(pgcopy.encode(columns()))
        copy.write(pgcopy.TRAILER)
    rows = db.execute("SELECT * FROM copy_back ORDER BY i").fetchall()
    db.execute("DROP TABLE copy_back")
    assert rows == [
        ("Título", 1.5, 1, datetime.date(2020, 1, 1), ["oro", "plata"], b"\x01\x02", None),
        (None, None, 2, None, [], b"", None),
        ("ccc", -3.25, 3, None, [], None, None),
        ("", 4.0, 4, datetime.date(1999, 12, 31), ["níquel"], b"\xff", None),
    ]
