"""The one table from output format (media type and aliases) to feature serializer.

WFS GetFeature and OGC API items both pick their output here; serializers stream bytes from
PostGIS through a server-side cursor, so memory does not grow with the result.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from app.db import Database
from geo.errors import InvalidInput
from layers import queries
from layers.gml import GmlVersion, SrsName, feature_gml_sql, stream_rows

_CHUNK = 1000
_ID = re.compile(r'^\{"type" : "Feature", "id" : ("?)(.*?)\1, "geometry"')


@dataclass(frozen=True)
class Part:
    """One layer's share of a response: its query and output CRS."""

    query: queries.FeatureQuery
    srs: SrsName


def _chunks(db: Database, statement, params, limit: int | None = None) -> Iterator[list[str]]:
    with db.connection() as conn:
        if limit is not None and limit <= 10 * _CHUNK:
            # A bounded page: one round trip beats a server-side cursor's DECLARE/FETCH.
            rows = [text for (text,) in conn.execute(statement, params).fetchall()]
            for start in range(0, len(rows), _CHUNK):
                yield rows[start : start + _CHUNK]
            return
        batch: list[str] = []
        for (text,) in stream_rows(conn, statement, params, _CHUNK):
            batch.append(text)
            if len(batch) >= _CHUNK:
                yield batch
                batch = []
        if batch:
            yield batch


def stream_geojson(
    db: Database,
    parts: list[Part],
    head: dict,
    tail: Callable[[int, str | None, bool], dict],
    take: int | None = None,
) -> Iterator[bytes]:
    """A FeatureCollection: head members, features, then `tail(returned, last_id, more)`.

    With `take`, the queries may return one row more than `take`: that row is not sent, it
    only tells that a next page exists (cheaper than counting).
    """
    yield json.dumps(head, ensure_ascii=False)[:-1].encode() + b', "features": ['
    returned = 0
    last_text = None
    more = False
    for part in parts:
        statement, params = queries.feature_json_sql(part.query)
        for batch in _chunks(db, statement, params, part.query.limit):
            if take is not None and returned + len(batch) > take:
                more = True
                batch = batch[: take - returned]
                if not batch:
                    break
            prefix = b"," if returned else b""
            yield prefix + ",".join(batch).encode()
            returned += len(batch)
            last_text = batch[-1]
    match = _ID.match(last_text) if last_text else None
    last_id = match.group(2) if match else None
    members = json.dumps(tail(returned, last_id, more), ensure_ascii=False)
    yield b"]" + (b", " + members[1:].encode() if members != "{}" else b"}")


def stream_gml(
    db: Database,
    parts: list[Part],
    version: GmlVersion,
    member: str,
    head: str,
    tail: str,
) -> Iterator[bytes]:
    """A GML feature collection: head text, one member per feature, tail text."""
    yield head.encode()
    for part in parts:
        statement, params = feature_gml_sql(part.query, version, part.srs, member)
        for batch in _chunks(db, statement, params):
            yield "\n".join(batch).encode() + b"\n"
    yield tail.encode()


@dataclass(frozen=True)
class OutputFormat:
    """An output format: canonical media type, accepted spellings, GML version if GML."""

    name: str
    media_type: str
    aliases: frozenset[str]
    gml: GmlVersion | None = None


FORMATS: tuple[OutputFormat, ...] = (
    OutputFormat(
        "gml32",
        "application/gml+xml; version=3.2",
        frozenset(
            {
                "application/gml+xml;version=3.2",
                "text/xml;subtype=gml/3.2",
                "text/xml;subtype=gml/3.2.1",
                "gml32",
            }
        ),
        "3.2",
    ),
    OutputFormat(
        "gml311",
        "text/xml; subtype=gml/3.1.1",
        frozenset(
            {
                "text/xml;subtype=gml/3.1.1",
                "application/gml+xml;version=3.1",
                "gml3",
                "gml311",
            }
        ),
        "3.1.1",
    ),
    OutputFormat(
        "gml2",
        "text/xml; subtype=gml/2.1.2",
        frozenset({"text/xml;subtype=gml/2.1.2", "gml2", "xmlschema", "text/xml"}),
        "2",
    ),
    OutputFormat(
        "geojson",
        "application/geo+json",
        frozenset({"application/geo+json", "application/json", "geojson", "json"}),
    ),
    OutputFormat("html", "text/html", frozenset({"text/html", "html"})),
)
DEFAULT_GML = {"2.0.0": "gml32", "1.1.0": "gml311", "1.0.0": "gml2"}


def find_format(text: str, allowed: tuple[str, ...] | None = None) -> OutputFormat:
    """The format a client named (any accepted spelling), or 400 listing the valid ones."""
    key = re.sub(r"\s+", "", text.strip().strip('"')).lower()
    for output in FORMATS:
        if (allowed is None or output.name in allowed) and (
            key in output.aliases or key == output.media_type.replace(" ", "").lower()
        ):
            return output
    valid = [f.media_type for f in FORMATS if allowed is None or f.name in allowed]
    raise InvalidInput(
        f"Formato de salida no soportado: '{text}'. Formatos: " + ", ".join(valid),
        where="outputFormat",
    )


def by_name(name: str) -> OutputFormat:
    """A format by its short name."""
    return next(f for f in FORMATS if f.name == name)
