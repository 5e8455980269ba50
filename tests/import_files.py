"""Small published-looking files for the importer tests, written on the fly."""

from __future__ import annotations

import json
import warnings
import zipfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import pyogrio
import shapely

TABLES = (
    "layers_department",
    "layers_municipality",
    "layers_miningtenure",
    "layers_mininghotspot",
    "layers_protectedarea",
    "layers_ethnicterritory",
    "hydrology_hydrounit",
    "hydrology_river",
    "hydrology_waterintake",
    "layers_rasterlayer",
    "layers_importbatch",
)


def square(lon: float, lat: float, size: float = 0.01) -> list[list[list[float]]]:
    """A closed lon/lat square ring list (GeoJSON Polygon coordinates)."""
    return [
        [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    ]


def feature(properties: dict[str, Any], geometry: dict[str, Any] | None) -> dict[str, Any]:
    """A GeoJSON feature."""
    return {"type": "Feature", "properties": properties, "geometry": geometry}


def polygon(coordinates: list) -> dict[str, Any]:
    """A GeoJSON Polygon geometry."""
    return {"type": "Polygon", "coordinates": coordinates}


def write_geojson(path: Path, features: list[dict[str, Any]]) -> Path:
    """A FeatureCollection file (GeoJSON is EPSG:4326 by definition)."""
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def tenure(code: str, lon: float, lat: float, **extra: Any) -> dict[str, Any]:
    """A CORPOURABA-style tenure feature on a small square."""
    props = {
        "nombre": code,
        "tipo": "titulo",
        "titular": "MINERA DE PRUEBA S.A.S.",
        "mineral": "Metálicos (oro y asociados)",
        "minerales_detalle": "ORO, PLATA",
        "estado": "Activo",
        "etapa": "Explotación",
        "clasificacion": "Pequeña",
        "municipios": "DABEIBA",
        "ano": 2010,
        "area_ha": 120.5,
    }
    props.update(extra)
    return feature(props, polygon(square(lon, lat)))


def tenures_frame(codes: list[str], crs: int = 4326) -> gpd.GeoDataFrame:
    """CORPOURABA-style tenures as a GeoDataFrame (for writing other formats)."""
    rows = [tenure(code, -75.6 + i * 0.02, 6.2) for i, code in enumerate(codes)]
    frame = gpd.GeoDataFrame.from_features(rows, crs=4326)
    return frame.to_crs(crs) if crs != 4326 else frame


def write_zip(path: Path, files: dict[str, bytes]) -> Path:
    """A zip with the given members."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def shapefile_members(frame: gpd.GeoDataFrame, folder: Path, stem: str, **kwargs) -> dict:
    """Write a shapefile and return its members' bytes by file name."""
    folder.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # Shapefiles cut field names to 10 characters, as published ones are.
        warnings.filterwarnings("ignore", "Normalized/laundered field name", RuntimeWarning)
        pyogrio.write_dataframe(frame, folder / f"{stem}.shp", **kwargs)
    return {p.name: p.read_bytes() for p in sorted(folder.glob(f"{stem}.*"))}


def counts(db) -> dict[str, int]:
    """Row counts of every table an import may write."""
    return {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


def wkt_csv(path: Path, rows: list[tuple[str, str]], header: str = "nombre,WKT") -> Path:
    """A CSV with a WKT column."""
    lines = [header] + [f'{name},"{wkt}"' for name, wkt in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def box_wkt(x: float, y: float, size: float) -> str:
    """WKT of an axis-aligned square."""
    return shapely.box(x, y, x + size, y + size).wkt


def forget_imports_since(db, batch_id: int) -> None:
    """Delete every row loaded by import batches after `batch_id`, then those batches."""
    for table in TABLES[:-1]:
        db.execute(f"DELETE FROM {table} WHERE batch_id > %s", [batch_id])
    db.execute("DELETE FROM layers_importbatch WHERE id > %s", [batch_id])


def last_batch(db) -> int:
    """The highest ImportBatch id so far (0 when none)."""
    return db.execute("SELECT coalesce(max(id), 0) FROM layers_importbatch").fetchone()[0]
