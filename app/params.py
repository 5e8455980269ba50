"""Query parameter groups shared by every endpoint that returns features."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Query, Request

from geo.crs import WGS84, parse_srid
from layers.queries import parse_bbox

# Names that are not attribute filters on feature listings.
RESERVED = {
    "bbox",
    "bbox-crs",
    "crs",
    "limit",
    "offset",
    "properties",
    "f",
    "datetime",
    "filter",
    "filter-lang",
    "filter-crs",
    "sortby",
    "token",
}


@dataclass
class FeatureParams:
    """bbox (+ bbox-crs), output crs, paging and property selection, parsed once."""

    bbox: tuple[float, float, float, float] | None
    bbox_srid: int
    out_srid: int
    limit: int
    offset: int
    properties: tuple[str, ...] | None
    filters: tuple[tuple[str, str], ...]


def feature_params(
    request: Request,
    bbox: Annotated[
        str | None, Query(description="minx,miny,maxx,maxy (lon/lat salvo bbox-crs)")
    ] = None,
    bbox_crs: Annotated[str | None, Query(alias="bbox-crs")] = None,
    crs: Annotated[
        str | None, Query(description="CRS de salida: 4326 (defecto), 9377, 4686, 3116, 3857")
    ] = None,
    limit: Annotated[
        int, Query(ge=1, description="máximo de elementos (se limita al tope del servicio)")
    ] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
    properties: Annotated[
        str | None, Query(description="atributos a incluir, separados por coma")
    ] = None,
) -> FeatureParams:
    """Parse the shared feature parameters; unknown names become equality filters."""
    settings = request.app.state.settings
    filters = tuple((k, v) for k, v in request.query_params.multi_items() if k not in RESERVED)
    return FeatureParams(
        bbox=parse_bbox(bbox) if bbox else None,
        bbox_srid=parse_srid(bbox_crs) if bbox_crs else WGS84,
        out_srid=parse_srid(crs) if crs else WGS84,
        limit=min(limit, settings.api.max_limit),
        offset=offset,
        properties=tuple(p.strip() for p in properties.split(",") if p.strip())
        if properties is not None
        else None,
        filters=filters,
    )


# Output CRS of single resources (districts, proposals): 4326 unless asked.
Crs = Annotated[
    str | None, Query(description="CRS de salida: 4326 (defecto), 9377, 4686, 3116, 3857")
]
