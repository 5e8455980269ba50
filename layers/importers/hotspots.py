"""Unauthorised-mining detections (EVOA-like, detection models, field reports)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pyarrow as pa

from geo.repair import circle_of_area
from layers import values
from layers.importer import Column, Importer
from layers.values import Issues


def hotspot_category(label: str) -> str | None:
    """Explotación ilícita / en tránsito a la legalidad / con permisos / sin clasificar."""
    codes = {"explotacion_ilicita", "en_transito_legalidad", "con_permisos", "desconocida"}
    if label in codes:
        return label
    if "ilicit" in label or "ilegal" in label:
        return "explotacion_ilicita"
    if "transito" in label or "legaliza" in label:
        return "en_transito_legalidad"
    if "permiso" in label or "licencia" in label:
        return "con_permisos"
    if label in {"desconocida", "sin clasificar", "sin dato", "desconocido"}:
        return "desconocida"
    return None


def hotspot_setting(label: str) -> str | None:
    """Aluvial en tierra / aluvial en agua / filón o veta / sin clasificar."""
    codes = {"aluvial_tierra", "aluvial_agua", "veta", "desconocido"}
    if label in codes:
        return label
    if "agua" in label or "rio" in label or "draga" in label:
        return "aluvial_agua"
    if "aluvi" in label or "tierra" in label:
        return "aluvial_tierra"
    if "veta" in label or "filon" in label:
        return "veta"
    if label in {"desconocido", "sin clasificar", "sin dato"}:
        return "desconocido"
    return None


class HotspotImporter(Importer):
    """Detections keyed by (source, source id); a point with an area becomes a circle of it."""

    layer = "mining_hotspots"
    model = "layers.MiningHotspot"
    table = "layers_mininghotspot"
    defaults: ClassVar[dict[str, Any] | None] = {"synthetic": False}
    key = ("source", "source_id")
    required = ("source", "source_id")
    columns = (
        Column("source"),
        Column("source_id"),
        Column(
            "category",
            convert=values.choice(hotspot_category, strict=False, default="desconocida"),
        ),
        Column(
            "setting",
            convert=values.choice(hotspot_setting, strict=False, default="desconocido"),
        ),
        Column("detected_on", "date"),
        Column("period_end", "date"),
        Column("confidence", "float8"),
        Column("synthetic", "bool"),
    )
    helpers = ("declared_area_ha",)

    def convert_batch(self, batch: pa.RecordBatch, issues: Issues) -> dict[str, pa.Array]:
        data = super().convert_batch(batch, issues)
        for name, default in (("category", "desconocida"), ("setting", "desconocido")):
            if name not in data:
                data[name] = pa.array([default] * batch.num_rows, pa.string())
        if "declared_area_ha" in self.sources:
            source = self.sources["declared_area_ha"]
            data["_area_ha"] = values.number(batch.column(source), issues, source)
        return data

    def polygons_from_points(
        self, geoms: np.ndarray, rows: np.ndarray, data: dict[str, pa.Array], issues: Issues
    ) -> dict[int, str]:
        area = data.get("_area_ha")
        if area is None:
            return {}
        hectares = area.take(pa.array(rows)).to_numpy(zero_copy_only=False).astype("float64")
        usable = np.isfinite(hectares) & (hectares > 0)
        picked = rows[usable]
        geoms[picked] = circle_of_area(geoms[picked], hectares[usable] * 10_000)
        return {
            int(i): f"punto convertido en un círculo de {h:g} ha (área publicada)"
            for i, h in zip(picked, hectares[usable], strict=True)
        }


class SampleHotspots(HotspotImporter):
    """The deterministic synthetic Urabá sample (and files shaped like it)."""

    label = "focos (fuente/categoria/ambito)"
    fields: ClassVar[dict[str, tuple[str, ...]]] = {
        "source": ("fuente",),
        "source_id": ("id_foco", "id", "codigo", "identificador"),
        "category": ("categoria",),
        "setting": ("ambito",),
        "detected_on": ("fecha_deteccion", "fecha"),
        "period_end": ("fecha_fin", "fin_periodo"),
        "confidence": ("confianza",),
        "synthetic": ("sintetico",),
        "declared_area_ha": ("area_ha",),
    }
    signature = ("fuente", "categoria")
