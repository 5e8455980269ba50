"""PNG raster tiles of the raster catalogue with rio-tiler: class colours or hillshade.

Class rasters (aptitude) are read with nearest resampling and painted with the colours of
their catalogue class table; elevation rasters are shaded (azimuth 315°, altitude 45°) from
a tile read with a one-pixel buffer, so neighbouring tiles join without seams.
"""

from __future__ import annotations

import hashlib
import math
import re
from pathlib import Path as FilePath

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from rio_tiler.errors import TileOutsideBounds
from rio_tiler.io import Reader
from rio_tiler.utils import render as _render

from geo.errors import NotFound
from layers.tiles import WORLD_WIDTH, TileAddress

PNG = "image/png"
TILE_SIZE = 256
_HEX = re.compile(r"^#?([0-9a-fA-F]{6})([0-9a-fA-F]{2})?$")
_COLUMNS = (
    "name",
    "title",
    "theme",
    "path",
    "crs",
    "resolution",
    "nodata",
    "bounds_4326",
    "class_table",
    "synthetic",
    "source",
)


def catalogue(conn) -> list[dict]:
    """Every catalogued raster as a dict (bounds, classes, theme, relative path)."""
    rows = conn.execute(
        f"SELECT {', '.join(_COLUMNS)} FROM layers_rasterlayer ORDER BY name"
    ).fetchall()
    entries = []
    for row in rows:
        entry = dict(zip(_COLUMNS, row, strict=True))
        entry["bounds"] = entry.pop("bounds_4326")
        entries.append(entry)
    return entries


def raster_entry(conn, name: str) -> dict:
    """One catalogue entry, or a 404 naming the known rasters."""
    entries = {entry["name"]: entry for entry in catalogue(conn)}
    if name not in entries:
        raise NotFound(
            f"Ráster desconocido: '{name}'. Rásteres: " + (", ".join(entries) or "ninguno"),
            where="name",
        )
    return entries[name]


def _rgba(text: str) -> tuple[int, int, int, int]:
    match = _HEX.match(str(text).strip())
    if not match:
        return (128, 128, 128, 255)
    rgb = match.group(1)
    alpha = int(match.group(2), 16) if match.group(2) else 255
    return (int(rgb[0:2], 16), int(rgb[2:4], 16), int(rgb[4:6], 16), alpha)


def classes(entry: dict) -> list[dict]:
    """The class table normalised to value, label, colour (accepts `colour`, `name`...)."""
    normalised = []
    for item in entry.get("class_table") or []:
        value = item.get("value", item.get("code", item.get("class")))
        if value is None:
            continue
        normalised.append(
            {
                "value": value,
                "label": item.get("label") or item.get("name") or str(value),
                "color": item.get("color") or item.get("colour") or "#808080",
            }
        )
    return normalised


def colormap(entry: dict) -> dict[int, tuple[int, int, int, int]]:
    """rio-tiler colormap {class value: RGBA} from the catalogue."""
    return {int(item["value"]): _rgba(item["color"]) for item in classes(entry)}


def hillshade(
    elevation: np.ndarray, cell: float, azimuth: float = 315.0, altitude: float = 45.0
) -> np.ndarray:
    """Shaded relief 0-255 of a (buffered) elevation array with square cells of `cell` m."""
    dy, dx = np.gradient(elevation.astype("float64"), cell)
    slope = np.arctan(np.hypot(dx, dy))
    aspect = np.arctan2(-dx, dy)
    az = math.radians(360.0 - azimuth + 90.0)
    alt = math.radians(altitude)
    shaded = np.sin(alt) * np.cos(slope) + np.cos(alt) * np.sin(slope) * np.cos(az - aspect)
    return np.clip(shaded * 255.0, 0, 255).astype("uint8")


def _ground_cell(tile: TileAddress) -> float:
    """Ground size in metres of one pixel at the tile's centre latitude."""
    n = 2**tile.z
    lat = math.atan(math.sinh(math.pi * (1 - 2 * (tile.y + 0.5) / n)))
    return WORLD_WIDTH / n / TILE_SIZE * math.cos(lat)


def render_raster_tile(path: FilePath, entry: dict, tile: TileAddress) -> bytes | None:
    """PNG bytes of one tile of a catalogued raster, or None outside its extent."""
    with Reader(str(path)) as src:
        if not src.tile_exists(tile.x, tile.y, tile.z):
            return None
        elevation = entry["theme"] == "elevation"
        try:
            img = src.tile(
                tile.x,
                tile.y,
                tile.z,
                tilesize=TILE_SIZE,
                indexes=1,
                buffer=1 if elevation else None,
                resampling_method="bilinear" if elevation else "nearest",
            )
        except TileOutsideBounds:
            return None
    data = img.array[0]
    valid = ~np.ma.getmaskarray(data)
    if elevation:
        shaded = hillshade(np.ma.filled(data.astype("float64"), 0.0), _ground_cell(tile))
        gray = shaded[1:-1, 1:-1]
        return render(np.stack([gray, gray, gray]), mask=_alpha(valid[1:-1, 1:-1]))
    values = np.ma.filled(data, 0).astype("int64")
    rgba = np.zeros((4, *values.shape), dtype="uint8")
    for value, color in colormap(entry).items():
        hit = values == value
        for band in range(4):
            rgba[band][hit] = color[band]
    # Values outside the class table stay transparent rather than painted a guessed colour.
    rgba[3][~valid] = 0
    return render(rgba[:3], mask=rgba[3])


def _alpha(valid: np.ndarray) -> np.ndarray:
    return np.where(valid, 255, 0).astype("uint8")


def render(bands: np.ndarray, mask: np.ndarray) -> bytes:
    """RGB bands and an alpha mask as PNG bytes."""
    return _render(bands, mask=mask, img_format="PNG")


def legend_document(entry: dict) -> dict:
    """The legend of a raster: class colours, or the shading description for elevation."""
    body = {"name": entry["name"], "title": entry["title"], "theme": entry["theme"]}
    if entry["theme"] == "elevation":
        body["type"] = "hillshade"
        body["description"] = "Relieve sombreado (azimut 315°, altura 45°) del modelo de elevación."
        body["classes"] = []
    else:
        body["type"] = "classes"
        body["classes"] = classes(entry)
    body["synthetic"] = entry["synthetic"]
    body["source"] = entry["source"]
    return body


def router() -> APIRouter:
    """Routes for raster tiles and their legends."""
    api = APIRouter(tags=["teselas"])

    @api.get(
        "/tiles/raster/{name}/{z}/{x}/{y}.png",
        operation_id="raster_tile",
        summary="Tesela ráster (PNG): clases de aptitud o relieve sombreado",
        response_class=Response,
        responses={200: {"content": {PNG: {}}}, 204: {"description": "Fuera del ráster"}},
    )
    def raster_tile(request: Request, name: str, z: int, x: int, y: int) -> Response:
        tile = TileAddress(z, x, y)
        with request.app.state.db.connection() as conn:
            entry = raster_entry(conn, name)
        path = request.app.state.settings.data_dir / entry["path"]
        if not path.exists():
            raise NotFound(f"El archivo del ráster '{name}' no está en el servidor.", where="name")
        stat = path.stat()
        stamp = f"{name}|{stat.st_mtime_ns}|{stat.st_size}|{z}/{x}/{y}|{entry['class_table']}"
        etag = '"' + hashlib.sha1(stamp.encode()).hexdigest()[:20] + '"'
        headers = {"Cache-Control": "public, max-age=3600", "ETag": etag}
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        png = render_raster_tile(path, entry, tile)
        if png is None:
            return Response(status_code=204, headers=headers)
        return Response(png, media_type=PNG, headers=headers)

    @api.get(
        "/tiles/raster/{name}/legend.json",
        operation_id="raster_legend",
        summary="Leyenda de un ráster",
    )
    def raster_legend(request: Request, name: str) -> JSONResponse:
        with request.app.state.db.connection() as conn:
            entry = raster_entry(conn, name)
        return JSONResponse(legend_document(entry))

    return api
