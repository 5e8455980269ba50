"""OGC API - Features items: parameters (Parts 1-3) parsed once into a FeatureQuery."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Annotated

from fastapi import Query, Request
from psycopg import sql
from pygeofilter import ast
from pygeofilter.parsers.cql2_json import parse as parse_cql2_json
from pygeofilter.parsers.cql2_text import parse as parse_cql2_text

from app.auth import Principal
from geo.errors import InvalidInput
from layers import queries
from layers.filtering import filter_sql
from layers.gml import SrsName, parse_srs_name
from layers.registry import ANONYMOUS, VIEWER, Layer

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
# Query parameter names that are not queryables (attribute equality filters).
RESERVED = {
    "bbox",
    "bbox-crs",
    "crs",
    "limit",
    "offset",
    "cursor",
    "properties",
    "f",
    "datetime",
    "filter",
    "filter-lang",
    "filter-crs",
    "sortby",
}


@dataclass(frozen=True)
class ItemsParams:
    """Parsed items parameters: the one parameter group of every OGC API items endpoint."""

    bbox: tuple[float, float, float, float] | None
    bbox_srs: SrsName
    out_srs: SrsName
    datetime: str | None
    limit: int
    offset: int
    cursor: str | None
    properties: tuple[str, ...] | None
    filter: str | None
    filter_lang: str
    filter_srs: SrsName
    sortby: tuple[tuple[str, bool], ...]
    equals: tuple[tuple[str, str], ...]
    output: str | None


def _srs(text: str | None) -> SrsName:
    return parse_srs_name(text) if text else SrsName(4326, CRS84, False)


def items_params(
    request: Request,
    bbox: Annotated[
        str | None, Query(description="minx,miny,maxx,maxy (CRS84 salvo bbox-crs)")
    ] = None,
    bbox_crs: Annotated[str | None, Query(alias="bbox-crs")] = None,
    crs: Annotated[str | None, Query(description="CRS de salida (URI OGC)")] = None,
    datetime: Annotated[str | None, Query(description="instante o intervalo ISO 8601")] = None,
    limit: Annotated[int, Query(ge=1, description="elementos por página")] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
    cursor: Annotated[str | None, Query(description="paginación por clave (enlace next)")] = None,
    properties: Annotated[str | None, Query(description="atributos a incluir")] = None,
    filter: Annotated[str | None, Query(description="expresión CQL2")] = None,
    filter_lang: Annotated[str, Query(alias="filter-lang")] = "cql2-text",
    filter_crs: Annotated[str | None, Query(alias="filter-crs")] = None,
    sortby: Annotated[str | None, Query(description="p. ej. name,-area_ha")] = None,
    f: Annotated[str | None, Query(description="json o html")] = None,
) -> ItemsParams:
    """Parse the items parameters; unknown names become equality filters on queryables."""
    settings = request.app.state.settings
    keys = []
    for part in (sortby or "").split(","):
        part = part.strip()
        if part:
            keys.append((part.lstrip("+-"), part.startswith("-")))
    return ItemsParams(
        bbox=queries.parse_bbox(bbox) if bbox else None,
        bbox_srs=_srs(bbox_crs),
        out_srs=_srs(crs),
        datetime=datetime,
        limit=min(limit, settings.api.max_limit),
        offset=offset,
        cursor=cursor,
        properties=tuple(p.strip() for p in properties.split(",") if p.strip())
        if properties is not None
        else None,
        filter=filter,
        filter_lang=filter_lang,
        filter_srs=_srs(filter_crs),
        sortby=tuple(keys),
        equals=tuple((k, v) for k, v in request.query_params.multi_items() if k not in RESERVED),
        output=f,
    )


def _bbox_to_json(value: object) -> object:
    """CQL2-JSON `{"bbox": [...]}` as a GeoJSON polygon (the parser swaps its corners)."""
    if isinstance(value, dict):
        if set(value) == {"bbox"}:
            box = value["bbox"]
            x1, y1, x2, y2 = (
                (box[0], box[1], box[2], box[3])
                if len(box) == 4
                else (
                    box[0],
                    box[1],
                    box[3],
                    box[4],
                )
            )
            ring = [[x1, y1], [x2, y1], [x2, y2], [x1, y2], [x1, y1]]
            return {"type": "Polygon", "coordinates": [ring]}
        return {k: _bbox_to_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_bbox_to_json(v) for v in value]
    return value


def parse_cql2(text: str, lang: str) -> object:
    """A CQL2 text or JSON expression as an AST (400 with the parser's complaint)."""
    try:
        if lang == "cql2-json":
            return parse_cql2_json(_bbox_to_json(json.loads(text)))
        if lang == "cql2-text":
            return parse_cql2_text(text)
    except Exception as exc:  # the parsers raise many types; all mean a bad expression
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InvalidInput(f"Filtro CQL2 inválido: {first}", where="filter") from None
    raise InvalidInput(
        f"filter-lang no soportado: '{lang}' (use cql2-text o cql2-json).", where="filter-lang"
    )


def temporal_property(layer: Layer) -> str | None:
    """The first date/datetime property: what `datetime` filters on."""
    return next((p.name for p in layer.properties if p.type in ("date", "datetime")), None)


def _datetime_filter(layer: Layer, text: str) -> tuple[sql.Composable, list]:
    name = temporal_property(layer)
    if name is None:
        raise InvalidInput(
            f"La colección '{layer.name}' no tiene atributo temporal para datetime.",
            where="datetime",
        )
    expression = sql.SQL("(" + layer.property(name).expression + ")")

    def instant(value: str) -> dt.datetime | None:
        if value in ("", ".."):
            return None
        try:
            return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInput(f"datetime inválido: '{text}'", where="datetime") from None

    if "/" in text:
        start, end = (instant(v) for v in text.split("/", 1))
        parts, params = [], []
        if start is not None:
            parts.append(expression + sql.SQL(" >= %s"))
            params.append(start)
        if end is not None:
            parts.append(expression + sql.SQL(" <= %s"))
            params.append(end)
        return sql.SQL(" AND ").join(parts or [sql.SQL("TRUE")]), params
    moment = instant(text)
    if len(text) <= 10:
        return expression + sql.SQL("::date = %s::date"), [moment]
    return expression + sql.SQL(" = %s"), [moment]


def build_query(
    layer: Layer, params: ItemsParams, principal: Principal, *, ids: tuple[str, ...] | None = None
) -> queries.FeatureQuery:
    """The FeatureQuery of an items request (keyset paging when a cursor is given)."""
    extra: list[sql.Composable] = []
    values: list = []
    if params.filter:
        node = parse_cql2(params.filter, params.filter_lang)
        condition, found = filter_sql(node, layer, geometry_srid=params.filter_srs.srid)
        if params.filter_srs.flip:
            raise InvalidInput(
                "filter-crs con ejes lat/lon no está soportado; use CRS84 o EPSG:9377.",
                where="filter-crs",
            )
        extra.append(condition)
        values.extend(found)
    if params.datetime:
        condition, found = _datetime_filter(layer, params.datetime)
        extra.append(condition)
        values.extend(found)
    if params.equals:
        node = None
        for name, value in params.equals:
            term = ast.Equal(ast.Attribute(name), value)
            node = term if node is None else ast.And(node, term)
        condition, found = filter_sql(node, layer)
        extra.append(condition)
        values.extend(found)
    bbox = params.bbox
    if bbox is not None and params.bbox_srs.flip:
        bbox = (bbox[1], bbox[0], bbox[3], bbox[2])
    keyset = params.cursor is not None and not params.sortby
    query = queries.FeatureQuery(
        layer=layer,
        bbox=bbox,
        bbox_srid=params.bbox_srs.srid,
        out_srid=params.out_srs.srid,
        flip_axes=params.out_srs.flip,
        properties=params.properties,
        ids=ids,
        sortby=params.sortby,
        after=params.cursor if keyset else None,
        # One row more than the page: its presence says there is a next page.
        limit=params.limit + 1,
        offset=0 if keyset else params.offset,
        public_only=principal.roles <= {ANONYMOUS, VIEWER},
        extra_where=tuple(extra),
        extra_params=tuple(values),
    )
    query.selected()
    for name, _ in params.sortby:
        layer.property(name)
    return query
