"""Tiles: vector (MVT) and raster (PNG) tiles, TileJSON and the MapLibre style."""

from __future__ import annotations

from fastapi import APIRouter


def router() -> APIRouter:
    """Every tile route: vector tiles, TileJSON, raster tiles and legends, the style."""
    from app.tiles import raster, style, vector

    api = APIRouter()
    # Raster routes first: `/tiles/raster/...` must not be read as a layer named "raster".
    api.include_router(raster.router())
    api.include_router(vector.router())
    api.include_router(style.router())
    return api
