"""Vector tiles (MVT) of registry layers, single or composite, and their TileJSON 3.0."""

from __future__ import annotations

import gzip
import hashlib
import logging
import threading
import time
from dataclasses import dataclass
from typing import Annotated

import psycopg
from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse, Response

from app.auth import Principal, current_principal
from app.tiles.symbology import class_properties
from geo.errors import InvalidInput
from layers import queries, tile_generalised, tilecache
from layers.registry import Layer, readable_layer
from layers.tiles import (
    MAX_TILE_BYTES,
    STORE_MAX_ZOOM,
    TILE_ENCODING,
    TILE_EXTENT,
    TileAddress,
    has_label_points,
    in_zoom_range,
    label_layer,
    label_layer_name,
    render_tile,
)

MVT = "application/vnd.mapbox-vector-tile"
COLOMBIA_BOUNDS = (-79.1, -4.3, -66.8, 13.5)
# How often (seconds) a worker looks for layers whose generalised store is stale.
STORE_CHECK_S = 2.0

log = logging.getLogger(__name__)


class StoreRefresher:
    """Rebuilds stale low-zoom generalised stores (layers.tile_generalised) off the request.

    A stale store is never read (the tile statement checks its revision and builds from
    the storage table instead), so this only restores speed after an import or edit. Low-zoom
    requests poke it; at most every STORE_CHECK_S one background thread per process checks
    and rebuilds, on its own connection (no statement timeout: a national layer takes
    seconds). Workers of other processes skip a layer being built (advisory lock).
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self._lock = threading.Lock()
        self._checked = float("-inf")
        self._thread: threading.Thread | None = None

    def poke(self) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._checked < STORE_CHECK_S or self._thread is not None:
                return
            self._checked = now
            self._thread = threading.Thread(target=self._run, name="tile-store", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        try:
            with psycopg.connect(self.url, autocommit=True) as conn:
                built = tile_generalised.refresh_stale(conn, class_properties=class_properties())
            if built:
                log.info("teselas: almacén generalizado reconstruido para %s", ", ".join(built))
        except psycopg.Error:
            # The next poke retries; tiles are correct meanwhile (built from the tables).
            log.exception("teselas: no se pudo reconstruir el almacén generalizado")
        finally:
            with self._lock:
                self._thread = None


def _store_refresher(request: Request) -> StoreRefresher:
    state = request.app.state
    refresher = getattr(state, "tile_store_refresher", None)
    if refresher is None:
        refresher = StoreRefresher(state.settings.database.url)
        state.tile_store_refresher = refresher
    return refresher


@dataclass(frozen=True)
class TileLayers:
    """The layers a tile request names, readable by the caller, and the audience."""

    layers: tuple[Layer, ...]
    public_only: bool

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(layer.name for layer in self.layers)


async def tile_layers(
    layers: Annotated[str, Path(description="capa, o varias separadas por coma")],
    principal: Annotated[Principal, Depends(current_principal)],
) -> TileLayers:
    """Parse `a,b,c`, answer unknown and forbidden layers in one place."""
    names = [name.strip() for name in layers.split(",") if name.strip()]
    if not names:
        raise InvalidInput("Indique al menos una capa.", where="layers")
    if len(set(names)) != len(names):
        raise InvalidInput("Una capa aparece dos veces en la lista.", where="layers")
    found = []
    for name in names:
        found.append(readable_layer(name, principal.roles, where="layers"))
    return TileLayers(tuple(found), principal.public_only)


def _etag(selection: TileLayers, tile: TileAddress, key: str) -> str:
    text = f"{','.join(selection.names)}|{selection.public_only}|{key}"
    text += f"|{tile.z}/{tile.x}/{tile.y}"
    return '"' + hashlib.sha1(text.encode()).hexdigest()[:20] + '"'


def _headers(request: Request, selection: TileLayers, etag: str) -> dict[str, str]:
    max_age = request.app.state.settings.tiles.max_age_s
    scope = "public" if selection.public_only else "private"
    return {
        "Cache-Control": f"{scope}, max-age={max_age}",
        "ETag": etag,
        "Vary": "Accept-Encoding, Authorization, Cookie",
        "Access-Control-Allow-Origin": "*" if selection.public_only else "",
    }


def _respond(request: Request, compressed: bytes, headers: dict[str, str]) -> Response:
    """204 for an empty tile, 304 when the client has it, gzip when accepted."""
    headers = {k: v for k, v in headers.items() if v}
    if request.headers.get("if-none-match") == headers["ETag"]:
        return Response(status_code=304, headers=headers)
    if not compressed:
        return Response(status_code=204, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(compressed, media_type=MVT, headers=headers)
    return Response(gzip.decompress(compressed), media_type=MVT, headers=headers)


def _compress(data: bytes, kept: bool = True) -> bytes:
    """Gzip a tile: level 5 when it is kept in the cache (compressed once, sent many times),
    level 1 when it is built per request (a quarter of the tile's CPU at level 5 on
    country-wide tiles, for ~8 % more bytes)."""
    return gzip.compress(data, compresslevel=5 if kept else 1, mtime=0) if data else b""


def build_tile(conn, selection: TileLayers, tile: TileAddress) -> bytes:
    """The uncompressed MVT of a selection (empty bytes when nothing is in the tile)."""
    published = {p.name for layer in selection.layers for p in layer.properties}
    classes = {k: v for k, v in class_properties().items() if v in published}
    return render_tile(
        conn, selection.layers, tile, selection.public_only, classes, max_bytes=MAX_TILE_BYTES
    )


def router() -> APIRouter:
    """Routes for vector tiles and TileJSON."""
    api = APIRouter(tags=["teselas"])

    @api.get(
        "/tiles/{layers}/{z}/{x}/{y}.pbf",
        operation_id="vector_tile",
        summary="Tesela vectorial (MVT) de una o varias capas",
        response_class=Response,
        responses={200: {"content": {MVT: {}}}, 204: {"description": "Tesela vacía"}},
    )
    def vector_tile(
        request: Request,
        selection: Annotated[TileLayers, Depends(tile_layers)],
        z: int,
        x: int,
        y: int,
    ) -> Response:
        tile = TileAddress(z, x, y)
        settings = request.app.state.settings.tiles
        if not any(in_zoom_range(layer, z) for layer in selection.layers):
            etag = _etag(selection, tile, "out-of-range")
            return _respond(request, b"", _headers(request, selection, etag))
        if z <= STORE_MAX_ZOOM:
            _store_refresher(request).poke()
        with request.app.state.db.connection() as conn:
            if not settings.cache:
                compressed = _compress(build_tile(conn, selection, tile), kept=False)
                etag = '"' + hashlib.sha1(compressed).hexdigest()[:20] + '"'
                return _respond(request, compressed, _headers(request, selection, etag))
            entry = tilecache.lookup(conn, selection.names, selection.public_only, tile)
            etag = _etag(selection, tile, entry.key)
            if entry.data is not None or request.headers.get("if-none-match") == etag:
                return _respond(request, entry.data or b"", _headers(request, selection, etag))
            compressed = _compress(build_tile(conn, selection, tile))
            tilecache.store(
                conn, selection.names, selection.public_only, tile, entry.key, compressed
            )
        return _respond(request, compressed, _headers(request, selection, etag))

    @api.get(
        "/tiles/{layers}.json",
        operation_id="tilejson",
        summary="TileJSON 3.0 de una o varias capas",
    )
    def tilejson(
        request: Request, selection: Annotated[TileLayers, Depends(tile_layers)]
    ) -> JSONResponse:
        with request.app.state.db.connection() as conn:
            extents = [queries.layer_extent(conn, layer) for layer in selection.layers]
        return JSONResponse(tilejson_document(request, selection, extents))

    return api


def tilejson_document(
    request: Request,
    selection: TileLayers,
    extents: list[tuple[float, float, float, float] | None],
) -> dict:
    """TileJSON 3.0 for a layer selection: URL template, zoom range, bounds, vector_layers."""
    base = str(request.base_url).rstrip("/")
    names = ",".join(selection.names)
    known = [e for e in extents if e]
    bounds = (
        [
            min(e[0] for e in known),
            min(e[1] for e in known),
            max(e[2] for e in known),
            max(e[3] for e in known),
        ]
        if known
        else list(COLOMBIA_BOUNDS)
    )
    minzoom = min(layer.min_zoom for layer in selection.layers)
    maxzoom = max(layer.max_zoom for layer in selection.layers)
    return {
        "tilejson": "3.0.0",
        "name": " + ".join(layer.title for layer in selection.layers),
        "description": " ".join(layer.description for layer in selection.layers),
        "version": TILE_ENCODING,
        "attribution": "Distritos Mineros — MinEnergía; fuentes: DANE, ANM, IDEAM, RUNAP, ANT",
        "scheme": "xyz",
        "tiles": [f"{base}/tiles/{names}/{{z}}/{{x}}/{{y}}.pbf"],
        "minzoom": minzoom,
        "maxzoom": maxzoom,
        "bounds": bounds,
        "center": [
            round((bounds[0] + bounds[2]) / 2, 6),
            round((bounds[1] + bounds[3]) / 2, 6),
            max(minzoom, 5),
        ],
        "vector_layers": [
            *(
                {
                    "id": layer.name,
                    "description": layer.title,
                    "minzoom": layer.min_zoom,
                    "maxzoom": layer.max_zoom,
                    "fields": {p.name: p.title or p.type for p in layer.properties},
                }
                for layer in selection.layers
            ),
            *(
                {
                    "id": label_layer_name(layer),
                    "description": f"{layer.title}: un punto de etiqueta por entidad",
                    "minzoom": max(layer.min_zoom, layer.label_min_zoom),
                    "maxzoom": layer.max_zoom,
                    "fields": {p.name: p.title or p.type for p in label_layer(layer).properties},
                }
                for layer in selection.layers
                if has_label_points(layer)
            ),
        ],
        "extent": TILE_EXTENT,
    }
