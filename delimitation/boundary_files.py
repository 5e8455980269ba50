"""A district boundary from a GIS file (GeoPackage, zipped Shapefile, GeoJSON, KML, FlatGeobuf).

All features of the chosen layer are dissolved into one (Multi)Polygon in EPSG:9377: an
analyst's boundary file is often several pieces sharing edges.
"""

from __future__ import annotations

from pathlib import Path

import pyogrio
import shapely
from pyproj import CRS
from shapely.geometry.base import BaseGeometry

from geo.crs import STORAGE_SRID
from geo.errors import InvalidInput
from geo.geojson_input import reproject
from geo.vector_io import open_source

MAX_FEATURES = 10_000


def read_boundary(path: str | Path, source_layer: str | None = None) -> BaseGeometry:
    """The dissolved polygonal boundary of a file, reprojected to EPSG:9377."""
    source = open_source(path, source_layer)
    if source.layer is None:
        raise InvalidInput(
            f"El archivo '{source.display}' tiene varias capas: indique source_layer. Capas: "
            + ", ".join(source.layers),
            where="source_layer",
        )
    if source.missing_prj:
        raise InvalidInput(
            f"El Shapefile '{source.display}' no trae .prj: no se sabe su sistema de coordenadas.",
            where="file",
        )
    frame = pyogrio.read_dataframe(
        source.path,
        layer=source.layer,
        encoding=source.encoding,
        columns=[],
        max_features=MAX_FEATURES + 1,
        **source.open_options,
    )
    if len(frame) > MAX_FEATURES:
        raise InvalidInput(
            f"El archivo trae más de {MAX_FEATURES} elementos: no parece un límite de distrito.",
            where="file",
        )
    if frame.crs is None:
        raise InvalidInput(f"'{source.display}' no declara sistema de coordenadas.", where="file")
    geometries = [g for g in frame.geometry.values if g is not None and not g.is_empty]
    polygons = [g for g in geometries if g.geom_type in ("Polygon", "MultiPolygon")]
    if not polygons:
        kinds = sorted({g.geom_type for g in geometries}) or ["ninguna"]
        raise InvalidInput(
            f"'{source.display}' no tiene polígonos (geometrías: {', '.join(kinds)}).",
            where="file",
        )
    # Heights are not part of a boundary; valid pieces are dissolved, invalid ones are kept
    # as they are so the validation can say where they break.
    pieces = [shapely.force_2d(g) for g in polygons]
    merged = (
        shapely.union_all(pieces)
        if all(p.is_valid for p in pieces)
        else shapely.multipolygons(
            [q for p in pieces for q in (p.geoms if p.geom_type == "MultiPolygon" else [p])]
        )
    )
    srid = CRS.from_user_input(frame.crs).to_epsg(min_confidence=70)
    if srid is None:
        raise InvalidInput(
            f"No se reconoce el sistema de coordenadas de '{source.display}' como un código EPSG.",
            where="file",
        )
    return merged if srid == STORAGE_SRID else reproject(merged, srid, STORAGE_SRID)
