"""Ethnic territories (ANT): indigenous resguardos and black communities' collective lands."""

from __future__ import annotations

from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.compute as pc

from layers import values
from layers.importer import Column, Importer
from layers.values import Issues


def ethnic_kind(label: str) -> str | None:
    """Resguardo indígena or consejo comunitario (tierra colectiva)."""
    if label in {"resguardo_indigena", "consejo_comunitario"}:
        return label
    if "resguardo" in label or "indigena" in label:
        return "resguardo_indigena"
    if any(w in label for w in ("consejo", "colectiv", "comunidad negra", "comunidades negras")):
        return "consejo_comunitario"
    return None


class EthnicTerritoryImporter(Importer):
    """Territories keyed by (kind, ANT identifier); without one, the name identifies them."""

    layer = "ethnic_territories"
    model = "layers.EthnicTerritory"
    table = "layers_ethnicterritory"
    defaults: ClassVar[dict[str, Any] | None] = {"people": "", "legal_act": ""}
    key = ("kind", "source_id")
    replace_scope = ("kind",)  # resguardos and consejos comunitarios come in separate files
    required = ("kind", "name")
    columns = (
        Column(
            "kind",
            convert=values.choice(
                ethnic_kind, strict=True, allowed="resguardo indígena, consejo comunitario"
            ),
        ),
        Column("source_id"),
        Column("name"),
        Column("people"),
        Column("legal_act"),
        Column("act_year", "int4"),
        Column("official_area_ha", "float8"),
    )
    helpers = ("act_type", "act_number", "act_date")

    def convert_batch(self, batch: pa.RecordBatch, issues: Issues) -> dict[str, pa.Array]:
        data = super().convert_batch(batch, issues)
        text = {
            name: values.text(batch.column(self.sources[name]), issues, self.sources[name])
            for name in ("act_type", "act_number")
            if name in self.sources
        }
        if text and "legal_act" not in self.sources:
            parts = [pc.fill_null(a, "") for a in text.values()]
            joined = pc.utf8_trim_whitespace(pc.binary_join_element_wise(*parts, " "))
            data["legal_act"] = pc.if_else(pc.equal(joined, ""), None, joined)
        if "act_date" in self.sources and "act_year" not in self.sources:
            dates = values.date(batch.column(self.sources["act_date"]), issues, "fecha del acto")
            data["act_year"] = pc.cast(pc.year(dates), pa.int32())
        if "source_id" not in self.sources and "name" in data:
            issues.warn(
                "El archivo no trae identificador ANT; se usa el nombre como identificador "
                "(una reimportación con otro nombre creará otro territorio)."
            )
            data["source_id"] = data["name"]
        return data


class AntResguardos(EthnicTerritoryImporter):
    """ANT resguardos layer (shapefile field names)."""

    label = "ANT (resguardos indígenas)"
    fields: ClassVar[dict[str, tuple[str, ...]]] = {
        "source_id": ("CODIGO", "COD_RESGUA", "ID_RESGUAR", "ID_RESGUARDO"),
        "name": ("NOMBRE",),
        "people": ("PUEBLO",),
        "official_area_ha": ("AREA_ACTO_", "AREA_HA", "AREA_OFICI"),
        "act_type": ("TIPO_ACTO_", "TIPO_ACTO"),
        "act_number": ("NUMERO_ACT", "NUMERO_ACTO"),
        "act_date": ("FECHA_ACTO", "FECHA_ACTO_"),
    }
    signature = ("NOMBRE", "PUEBLO", "TIPO_ACTO_")
    constants: ClassVar[dict[str, Any]] = {"kind": "resguardo_indigena"}


class SampleResguardos(EthnicTerritoryImporter):
    """Resguardos as published by the CORPOURABA observatory (from ANT)."""

    label = "ANT vía CORPOURABA (resguardos)"
    fields: ClassVar[dict[str, tuple[str, ...]]] = {
        "source_id": ("id_resguardo",),
        "name": ("nombre",),
        "people": ("pueblo",),
        "act_year": ("ano_acto",),
        "official_area_ha": ("area_oficial_ha",),
    }
    signature = ("nombre", "pueblo", "id_resguardo")
    constants: ClassVar[dict[str, Any]] = {"kind": "resguardo_indigena"}


class SampleConsejos(EthnicTerritoryImporter):
    """Consejos comunitarios as published by the CORPOURABA observatory (from ANT)."""

    label = "ANT vía CORPOURABA (consejos comunitarios)"
    fields: ClassVar[dict[str, tuple[str, ...]]] = {
        "source_id": ("id_consejo",),
        "name": ("nombre",),
        "legal_act": ("resolucion",),
        "act_year": ("ano_acto",),
        "official_area_ha": ("area_oficial_ha",),
    }
    signature = ("nombre", "id_consejo")
    constants: ClassVar[dict[str, Any]] = {"kind": "consejo_comunitario"}
