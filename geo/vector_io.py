"""Vector file discovery before reading: format, zip members, layers, encoding, CRS plausibility.

Pure functions over paths and bounds; reading itself is pyogrio's job. Every refusal names the
file (and member or layer) and says what to do.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np
import pyogrio

from geo.crs import COLOMBIA_LONLAT
from geo.errors import InvalidInput

# File suffix -> GDAL driver. `.zip` is a container resolved to one of these.
DRIVERS = {
    ".gpkg": "GPKG",
    ".shp": "ESRI Shapefile",
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
    ".fgb": "FlatGeobuf",
    ".kml": "KML",
    ".csv": "CSV",
}
FORMAT_NAMES = "GeoPackage (.gpkg), Shapefile (.shp o .zip), GeoJSON, FlatGeobuf (.fgb), KML, CSV"
# GDAL CSV open options: geometry from a WKT column or lon/lat columns; keep codes as text
# (type autodetection would turn '05154' into 5154).
CSV_OPTIONS = {
    "GEOM_POSSIBLE_NAMES": "wkt,WKT,geometry,geometria,geom,the_geom",
    "X_POSSIBLE_NAMES": "lon,longitud,longitude,lng,x,X,LON,LONGITUD",
    "Y_POSSIBLE_NAMES": "lat,latitud,latitude,y,Y,LAT,LATITUD",
    "KEEP_GEOM_COLUMNS": "NO",
}
_SHAPE_SIDECARS = (".dbf", ".shx")


@dataclass(frozen=True)
class VectorSource:
    """A readable vector dataset: the GDAL path, its driver, layer and reading options."""

    path: str  # what GDAL opens (may be /vsizip/...)
    display: str  # what messages show
    driver: str
    layer: str | None
    layers: tuple[str, ...]
    encoding: str | None = None
    missing_prj: bool = False
    open_options: dict[str, str] = field(default_factory=dict)


# Limits for uploaded archives: GDAL reads members in place (/vsizip/), so nothing is extracted
# to disk, but a zip bomb would still make it inflate gigabytes.
MAX_UNCOMPRESSED_BYTES = 4 * 1024**3
MAX_COMPRESSION_RATIO = 200
RATIO_CHECK_FROM_BYTES = 50 * 1024**2


def check_archive(archive: zipfile.ZipFile, name: str) -> None:
    """Refuse members that escape the archive (absolute, `..`) and zip bombs."""
    total = 0
    for info in archive.infolist():
        member = PurePosixPath(info.filename.replace("\\", "/"))
        if member.is_absolute() or ".." in member.parts or ":" in info.filename:
            raise InvalidInput(
                f"El zip '{name}' contiene una ruta insegura: '{info.filename}'.", where="path"
            )
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > RATIO_CHECK_FROM_BYTES and ratio > MAX_COMPRESSION_RATIO:
            raise InvalidInput(
                f"El zip '{name}' parece una bomba de compresión: '{info.filename}' se expande "
                f"{ratio:,.0f} veces ({info.file_size:,} bytes).",
                where="path",
            )
    if total > MAX_UNCOMPRESSED_BYTES:
        raise InvalidInput(
            f"El zip '{name}' se expande a {total:,} bytes, más que el límite de "
            f"{MAX_UNCOMPRESSED_BYTES:,}.",
            where="path",
        )


def _zip_member(path: Path, source_layer: str | None) -> tuple[str, list[str]]:
    """Pick the dataset inside a zip: the named one, else the only one."""
    try:
        with zipfile.ZipFile(path) as archive:
            check_archive(archive, path.name)
            names = [n for n in archive.namelist() if not n.endswith("/")]
    except zipfile.BadZipFile:
        raise InvalidInput(f"'{path.name}' no es un archivo zip válido.", where="path") from None
    candidates = [n for n in names if Path(n).suffix.lower() in DRIVERS]
    if source_layer:
        chosen = [n for n in candidates if Path(n).stem == source_layer or n == source_layer]
        if chosen:
            candidates = chosen
    shapes = [n for n in candidates if n.lower().endswith(".shp")]
    if len(shapes) == 1:
        candidates = shapes
    if len(candidates) != 1:
        listed = ", ".join(candidates) or "ninguno"
        raise InvalidInput(
            f"El zip '{path.name}' debe contener un único conjunto de datos vectorial "
            f"(o indique --source-layer). Encontrados: {listed}.",
            where="path",
        )
    member = candidates[0]
    if member.lower().endswith(".shp"):
        stem = member[:-4]
        lower = {n.lower() for n in names}
        for sidecar in _SHAPE_SIDECARS:
            if (stem + sidecar).lower() not in lower:
                raise InvalidInput(
                    f"El shapefile '{member}' dentro de '{path.name}' no trae su archivo "
                    f"'{Path(stem).name}{sidecar}'.",
                    where="path",
                )
    return member, names


def _read_dbf_sample(path: Path, member: str | None, limit: int = 4 << 20) -> bytes:
    """The first bytes of a .dbf, from disk or from inside a zip."""
    if member is not None:
        with zipfile.ZipFile(path) as archive, archive.open(member) as handle:
            return handle.read(limit)
    with open(path, "rb") as handle:
        return handle.read(limit)


def guess_dbf_encoding(dbf: bytes) -> str:
    """Encoding of a .dbf without .cpg: UTF-8 when its bytes decode as such, else Windows-1252.

    Colombian shapefiles exported from ArcGIS on Windows are usually Windows-1252 (a superset
    of Latin-1 for letters like Á, Ñ); a UTF-8 dbf decodes cleanly, Latin-1 text almost never.
    """
    header_len = int.from_bytes(dbf[8:10], "little") if len(dbf) >= 10 else 0
    body = dbf[header_len:]
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as error:
        # A multi-byte character cut by the sample limit is not evidence against UTF-8.
        if error.start < len(body) - 4:
            return "CP1252"
    return "UTF-8"


def _shapefile_encoding(
    file: Path, member: str | None, names: list[str] | None
) -> tuple[str | None, bool]:
    """(encoding to force, .prj missing) for a shapefile: None when GDAL can tell by itself."""
    if member is not None and names is not None:
        stem = member[:-4].lower()
        by_lower = {n.lower(): n for n in names}
        has_cpg = stem + ".cpg" in by_lower
        has_prj = stem + ".prj" in by_lower
        dbf_path, dbf_member = file, by_lower[stem + ".dbf"]
    else:
        siblings = {p.name.lower(): p for p in file.parent.iterdir()}
        stem = file.stem.lower()
        has_cpg = stem + ".cpg" in siblings
        has_prj = stem + ".prj" in siblings
        if stem + ".dbf" not in siblings:
            raise InvalidInput(
                f"Al shapefile '{file.name}' le falta su archivo .dbf.", where="path"
            )
        dbf_path, dbf_member = siblings[stem + ".dbf"], None
    if has_cpg:
        return None, not has_prj
    sample = _read_dbf_sample(dbf_path, dbf_member)
    # Byte 29 is the dBASE language driver id; GDAL honours it when set.
    if len(sample) > 29 and sample[29] != 0:
        return None, not has_prj
    return guess_dbf_encoding(sample), not has_prj


def open_source(path: str | Path, source_layer: str | None = None) -> VectorSource:
    """Resolve a user path to a readable vector source, or refuse with a clear message."""
    file = Path(path)
    if not file.exists():
        raise InvalidInput(f"No existe el archivo '{file}'.", where="path")
    if file.is_dir():
        raise InvalidInput(f"'{file}' es una carpeta; indique el archivo a importar.", where="path")
    suffix = file.suffix.lower()
    names: list[str] | None = None
    member: str | None = None
    if suffix == ".zip":
        member, names = _zip_member(file, source_layer)
        gdal_path = f"/vsizip/{file.resolve()}/{member}"
        display = f"{file.name}:{member}"
        suffix = Path(member).suffix.lower()
        if source_layer and Path(member).stem == source_layer:
            source_layer = None
    elif suffix in DRIVERS:
        gdal_path = str(file.resolve())
        display = file.name
    else:
        raise InvalidInput(
            f"Formato de archivo no reconocido: '{file.name}' (extensión '{file.suffix or '-'}'). "
            f"Formatos admitidos: {FORMAT_NAMES}.",
            where="path",
        )
    driver = DRIVERS[suffix]
    options = dict(CSV_OPTIONS) if driver == "CSV" else {}
    encoding, missing_prj = None, False
    if driver == "ESRI Shapefile":
        encoding, missing_prj = _shapefile_encoding(file, member, names)
    try:
        layers = tuple(str(name) for name, _ in pyogrio.list_layers(gdal_path))
    except Exception as error:  # GDAL's own error text says why the file cannot be opened
        raise InvalidInput(
            f"No se pudo leer '{display}' como {driver}: {error}", where="path"
        ) from None
    if source_layer is not None and source_layer not in layers:
        raise InvalidInput(
            f"El archivo '{display}' no tiene la capa '{source_layer}'. Capas: "
            + ", ".join(layers),
            where="source_layer",
        )
    layer = source_layer or (layers[0] if len(layers) == 1 else None)
    return VectorSource(
        path=gdal_path,
        display=display,
        driver=driver,
        layer=layer,
        layers=layers,
        encoding=encoding,
        missing_prj=missing_prj,
        open_options=options,
    )


def lonlat_fit(bounds: np.ndarray) -> np.ndarray:
    """Per feature bounds (N x 4): 1 plainly lon/lat in Colombia, -1 swapped lat/lon, 0 neither."""
    west, south, east, north = COLOMBIA_LONLAT
    minx, miny, maxx, maxy = (bounds[:, i] for i in range(4))
    inside = (minx >= west) & (maxx <= east) & (miny >= south) & (maxy <= north)
    swapped = (miny >= west) & (maxy <= east) & (minx >= south) & (maxx <= north)
    return np.where(inside, 1, np.where(swapped, -1, 0))
