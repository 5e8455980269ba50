"""GML output of feature queries (GML 3.2, 3.1.1, 2) built by PostGIS, and CRS axis rules.

Axis order follows what QGIS, GDAL and GeoServer do: a short `EPSG:n` name (and the old
`http://www.opengis.net/gml/srs/epsg.xml#n`) is always east/north (lon/lat); the URN and
http URI forms use the authority's order, so EPSG 4326/4686 are lat/lon and the north-first
Colombian projections (9377, 3116, ...) are northing/easting. Both ways: the same rules
read the geometries clients send.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from psycopg import Connection, sql
from pyproj import CRS

from geo.crs import CRS84_URIS, OUTPUT_SRIDS, WGS84
from geo.errors import InvalidInput
from layers.queries import FeatureQuery, order_clause, where_clause

GmlVersion = Literal["3.2", "3.1.1", "2"]
NAMESPACE = "https://distritosmineros.minenergia.gov.co/dm"
PREFIX = "dm"
GML_NAMESPACES = {
    "3.2": "http://www.opengis.net/gml/3.2",
    "3.1.1": "http://www.opengis.net/gml",
    "2": "http://www.opengis.net/gml",
}
_CODE = re.compile(r"(\d+)$")


@dataclass(frozen=True)
class SrsName:
    """A CRS as a client named it: EPSG code, the name to echo, and whether axes swap."""

    srid: int
    name: str
    flip: bool


@lru_cache(maxsize=32)
def north_first(srid: int) -> bool:
    """True when the EPSG definition lists the north axis first (lat/lon, N/E)."""
    axes = CRS.from_epsg(srid).axis_info
    return bool(axes) and axes[0].direction.lower() == "north"


def parse_srs_name(text: str, allowed: tuple[int, ...] = OUTPUT_SRIDS) -> SrsName:
    """Parse any OGC spelling of a CRS into its code and axis order (400 when unknown)."""
    raw = text.strip()
    lowered = raw.lower()
    if lowered in CRS84_URIS:
        return SrsName(WGS84, raw, False)
    match = _CODE.search(raw)
    recognised = (
        lowered.startswith("epsg:")
        or lowered.startswith("urn:ogc:def:crs:epsg:")
        or lowered.startswith("urn:x-ogc:def:crs:epsg:")
        or lowered.startswith("http://www.opengis.net/def/crs/epsg/0/")
        or lowered.startswith("https://www.opengis.net/def/crs/epsg/0/")
        or lowered.startswith("http://www.opengis.net/gml/srs/epsg.xml#")
        or raw.isdigit()
    )
    if not match or not recognised or int(match.group(1)) not in allowed:
        raise InvalidInput(
            f"CRS no soportado: '{text}'. Use uno de: " + ", ".join(f"EPSG:{s}" for s in allowed),
            where="srsName",
        )
    srid = int(match.group(1))
    authority_order = lowered.startswith("urn:") or "/def/crs/" in lowered
    return SrsName(srid, raw, authority_order and north_first(srid))


def urn(srid: int) -> str:
    """The URN form of an EPSG code (authority axis order)."""
    return f"urn:ogc:def:crs:EPSG::{srid}"


def _xml_name(name: str) -> str:
    return f"{PREFIX}:{name}"


def feature_gml_sql(
    query: FeatureQuery,
    version: GmlVersion,
    srs: SrsName,
    member: str,
    geometry_name: str = "geom",
) -> tuple[sql.Composable, list]:
    """SELECT returning one `<member><dm:layer gml:id=...>...</member>` text per row."""
    layer = query.layer
    geom = sql.SQL("t.") + sql.Identifier(layer.geometry_column)
    if srs.srid != layer.srid:
        geom = sql.SQL("ST_Transform({}, {})").format(geom, sql.Literal(srs.srid))
    if srs.flip:
        geom = sql.SQL("ST_FlipCoordinates({})").format(geom)
    decimals = 7 if srs.srid in (4326, 4686) else 2
    long_name = srs.name.lower().startswith("urn:ogc:def:crs:epsg::")
    postgis_name = urn(srs.srid) if long_name else f"EPSG:{srs.srid}"
    fid = sql.SQL("{} || '.' || t.{}").format(
        sql.Literal(layer.name), sql.Identifier(layer.id_column)
    )
    if version == "2":
        gml = sql.SQL("ST_AsGML(2, {}, {}, 0)").format(geom, sql.Literal(decimals))
        postgis_name = f"EPSG:{srs.srid}"
    else:
        # 4 = LineString instead of Curve (what QGIS expects); 1 = URN srsName.
        options = 4 | (1 if long_name else 0)
        gml_id = sql.SQL(", 'gml', {} || '.geom'").format(fid) if version == "3.2" else sql.SQL("")
        gml = sql.SQL("ST_AsGML(3, {}, {}, {}{})").format(
            geom, sql.Literal(decimals), sql.Literal(options), gml_id
        )
    if postgis_name != srs.name:
        gml = sql.SQL("replace({}, {}, {})").format(
            gml, sql.Literal(f'srsName="{postgis_name}"'), sql.Literal(f'srsName="{srs.name}"')
        )
    props = query.selected()
    forest = (
        sql.SQL("xmlforest({})::text").format(
            sql.SQL(", ").join(
                sql.SQL("(" + p.expression + ") AS {}").format(sql.Identifier(_xml_name(p.name)))
                for p in props
            )
        )
        if props
        else sql.Literal("")
    )
    id_attribute = "fid" if version == "2" else "gml:id"
    open_tag = f'<{member}><{PREFIX}:{layer.name} {id_attribute}="'
    statement = sql.SQL(
        "SELECT {open} || {fid} || '\">' || coalesce({forest}, '') || "
        "'<{prefix}:{geom_name}>' || {gml} || '</{prefix}:{geom_name}></{prefix}:{layer}>"
        "</{member}>' FROM {table} AS t WHERE {where} ORDER BY {order} LIMIT %s OFFSET %s"
    )
    where, params = where_clause(query)
    statement = statement.format(
        open=sql.Literal(open_tag),
        fid=fid,
        forest=forest,
        prefix=sql.SQL(PREFIX),
        geom_name=sql.SQL(geometry_name),
        gml=gml,
        layer=sql.SQL(layer.name),
        member=sql.SQL(member),
        table=sql.Identifier(layer.table),
        where=where,
        order=order_clause(query),
    )
    return statement, [*params, query.limit, query.offset]


def stream_rows(
    conn: Connection, statement: sql.Composable, params: list, chunk: int = 1000
) -> Iterator[tuple]:
    """Rows of a query through a server-side cursor: memory stays flat for any result size."""
    with conn.transaction(), conn.cursor(name="feature_stream") as cursor:
        cursor.itersize = chunk
        cursor.execute(statement, params)
        while rows := cursor.fetchmany(chunk):
            yield from rows


def estimated_count(conn: Connection, query: FeatureQuery, exact_below: int = 1_000_000) -> tuple:
    """(numberMatched, exact?): planner statistics on huge unfiltered tables, else count(*)."""
    where, params = where_clause(query)
    unfiltered = not (query.bbox or query.filters or query.ids or query.extra_where)
    if unfiltered and not (query.public_only and query.layer.public_filter):
        row = conn.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)",
            [query.layer.table],
        ).fetchone()
        if row and row[0] >= exact_below:
            return int(row[0]), False
    statement = sql.SQL("SELECT count(*) FROM {} AS t WHERE {}").format(
        sql.Identifier(query.layer.table), where
    )
    return conn.execute(statement, params).fetchone()[0], True


def gml_to_wkb(conn: Connection, gml: str, srid: int, flip: bool, target_srid: int) -> bytes:
    """Parse one GML geometry with PostGIS into WKB in the target CRS."""
    statement = "SELECT ST_AsBinary({})"
    geom = "ST_SetSRID(ST_GeomFromGML(%s), %s)"
    if flip:
        geom = f"ST_FlipCoordinates({geom})"
    if srid != target_srid:
        geom = f"ST_Transform({geom}, {int(target_srid)})"
    try:
        with conn.transaction():
            row = conn.execute(statement.format(geom), [gml, srid]).fetchone()
    except Exception as exc:  # PostGIS reports malformed GML as an internal error
        raise InvalidInput(f"Geometría GML no válida: {str(exc).splitlines()[0]}") from None
    return bytes(row[0])
