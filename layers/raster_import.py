"""Raster import: any GeoTIFF (any CRS) written as a Cloud-Optimised GeoTIFF under DATA_DIR and
catalogued as a RasterLayer with its bounds in EPSG:4326 and its class table.

The raster keeps its own CRS (resampling would alter the values); the catalogue records it.
The file is written next to its final name and moved into place inside the database
transaction, so a failure leaves neither a catalogue row nor a half-written COG.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

from geo.errors import InvalidInput
from layers.import_reading import file_checksum
from layers.importer import ImportSummary

THEMES = ("aptitude", "elevation", "other")
_SLUG = re.compile(r"^[-a-zA-Z0-9_]+$")
_TRUE = {"1", "true", "yes", "si", "sí", "synthetic", "sintetico", "sintético"}


def _class_table(path: Path | None) -> list[dict[str, Any]]:
    """Read a class table: a list (or {"classes": [...]}) of value, code, label, colour."""
    if path is None:
        return []
    if not path.exists():
        raise InvalidInput(f"No existe la tabla de clases '{path}'.", where="classes")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise InvalidInput(f"La tabla de clases '{path.name}' no es JSON: {error}.") from None
    return _class_items(data, path.name)


def _class_items(data: Any, where: str) -> list[dict[str, Any]]:
    items = data.get("classes", data) if isinstance(data, dict) else data
    if isinstance(items, dict):  # {"1": {...}} or {"1": "label"}
        items = [
            {"value": k, **(v if isinstance(v, dict) else {"label": v})} for k, v in items.items()
        ]
    table = []
    for position, item in enumerate(items, start=1):
        if not isinstance(item, dict) or "value" not in item:
            raise InvalidInput(
                f"Tabla de clases de '{where}', entrada {position}: falta 'value'.",
                where="classes",
            )
        value = item["value"]
        table.append(
            {
                "value": int(value) if float(value).is_integer() else float(value),
                "code": str(item.get("code", value)),
                "label": str(item.get("label") or item.get("label_es") or item.get("name") or ""),
                "color": str(item.get("color") or item.get("colour") or ""),
            }
        )
    return table


def _is_synthetic(tags: dict[str, str]) -> bool:
    for key, value in tags.items():
        if key.lower() in {"synthetic", "sintetico", "sintético"}:
            return str(value).strip().lower() in _TRUE
        if key.lower() in {"source", "fuente", "tifftag_imagedescription"} and (
            "sintétic" in str(value).lower() or "synthetic" in str(value).lower()
        ):
            return True
    return False


def import_raster(
    path: str | Path,
    *,
    theme: str,
    name: str,
    title: str | None = None,
    classes: str | Path | None = None,
    synthetic: bool | None = None,
    source: str | None = None,
    user: str = "",
    dry_run: bool = False,
) -> ImportSummary:
    """Write the raster as a COG under DATA_DIR and upsert its RasterLayer (by name)."""
    import rasterio
    import rasterio.shutil
    from django.conf import settings
    from django.db import transaction
    from django.utils import timezone
    from rasterio.warp import transform_bounds

    from layers.models import ImportBatch, RasterLayer

    started = time.perf_counter()
    file = Path(path)
    if not file.exists():
        raise InvalidInput(f"No existe el archivo '{file}'.", where="path")
    if theme not in THEMES:
        raise InvalidInput(
            f"--theme '{theme}' no existe. Temas: {', '.join(THEMES)}.", where="theme"
        )
    if not _SLUG.match(name or ""):
        raise InvalidInput(
            f"--name '{name}' no es válido: use letras, números, guiones o guiones bajos.",
            where="name",
        )
    table = _class_table(Path(classes) if classes else None)
    try:
        dataset = rasterio.open(file)
    except rasterio.errors.RasterioIOError as error:
        raise InvalidInput(
            f"'{file.name}' no es un ráster legible: {error}", where="path"
        ) from None
    with dataset:
        if dataset.crs is None:
            raise InvalidInput(
                f"El ráster '{file.name}' no declara su sistema de coordenadas (CRS).",
                where="crs",
            )
        epsg = dataset.crs.to_epsg()
        crs = f"EPSG:{epsg}" if epsg else dataset.crs.to_string()
        bounds = transform_bounds(dataset.crs, "EPSG:4326", *dataset.bounds, densify_pts=21)
        resolution = float(dataset.res[0])
        nodata = dataset.nodata
        tags = {**dataset.tags(), **dataset.tags(1)}
    if not table and tags.get("CLASSES"):
        # A class table written into the GeoTIFF's own tags (make_synthetic.py does).
        table = _class_items(json.loads(tags["CLASSES"]), file.name)
    is_synthetic = _is_synthetic(tags) if synthetic is None else synthetic
    summary = ImportSummary(
        layer="rasters",
        file=file.name,
        schema=f"GeoTIFF → COG ({theme})",
        source_crs=crs,
        target_crs=f"{crs} (se conserva)",
        read=1,
        dry_run=dry_run,
    )
    data_dir = Path(settings.DATA_DIR)
    target = data_dir / f"{name}.tif"
    existing = RasterLayer.objects.filter(name=name).exists()
    summary.inserted, summary.updated = (0, 1) if existing else (1, 0)
    if is_synthetic:
        summary.warn("Ráster sintético: se cataloga como tal y nunca se presenta como real.")
    if dry_run:
        summary.seconds = round(time.perf_counter() - started, 3)
        return summary
    data_dir.mkdir(parents=True, exist_ok=True)
    partial = data_dir / f".{name}.tif.partial"
    rasterio.shutil.copy(
        str(file),
        str(partial),
        driver="COG",
        COMPRESS="DEFLATE",
        PREDICTOR="YES",
        BLOCKSIZE=512,
        OVERVIEWS="AUTO",
        RESAMPLING="NEAREST" if table or theme == "aptitude" else "AVERAGE",
    )
    try:
        with transaction.atomic():
            batch = ImportBatch.objects.create(
                layer="rasters",
                file_name=file.name,
                checksum=file_checksum(file),
                user=user,
            )
            RasterLayer.objects.update_or_create(
                name=name,
                defaults={
                    "title": title or name,
                    "theme": theme,
                    "path": target.name,
                    "crs": crs,
                    "resolution": resolution,
                    "nodata": nodata,
                    "bounds_4326": [round(v, 7) for v in bounds],
                    "class_table": table,
                    "synthetic": is_synthetic,
                    "source": source or tags.get("SOURCE", "") or tags.get("source", ""),
                    "batch": batch,
                },
            )
            summary.batch_id = batch.pk
            summary.seconds = round(time.perf_counter() - started, 3)
            counts = {"read": 1, "inserted": summary.inserted, "updated": summary.updated}
            ImportBatch.objects.filter(pk=batch.pk).update(
                finished_at=timezone.now(), counts={**counts, "seconds": summary.seconds}
            )
            os.replace(partial, target)
    finally:
        if partial.exists():
            partial.unlink()
    return summary
