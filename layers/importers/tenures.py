"""Mining tenures (ANM register): the layer and its published schemas."""

from __future__ import annotations

from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.compute as pc

from layers import values
from layers.importer import Column, Importer
from layers.values import Issues

TENURE_TYPES = "title, application, formalisation_subcontract, special_reserve_area, "
TENURE_TYPES += "ethnic_mining_zone (o titulo, solicitud, subcontrato, ARE, zona minera étnica)"


def tenure_type(label: str) -> str | None:
    """A published tenure kind or ANM modality (folded) as a TenureType value."""
    codes = {
        "title",
        "application",
        "formalisation_subcontract",
        "special_reserve_area",
        "ethnic_mining_zone",
    }
    if label in codes:
        return label
    if "subcontrato" in label:
        return "formalisation_subcontract"
    if "reserva especial" in label or label in {"are", "area de reserva especial"}:
        return "special_reserve_area"
    if "zona minera" in label and any(w in label for w in ("etnic", "indigena", "negras", "afro")):
        return "ethnic_mining_zone"
    if any(w in label for w in ("solicitud", "propuesta", "legalizacion", "application")):
        return "application"
    if any(w in label for w in ("titulo", "contrato", "licencia", "autorizacion", "concesion")):
        return "title"
    return None


def stage(label: str) -> str | None:
    """Exploración, construcción y montaje, explotación; '' for 'sin dato'."""
    if "explora" in label:
        return "exploración"
    if "construc" in label or "montaje" in label:
        return "construcción y montaje"
    if "explota" in label:
        return "explotación"
    if label in {"sin dato", "no aplica", "n/a", "na", "-", "sin informacion"}:
        return ""
    return None


def scale(label: str) -> str | None:
    """Pequeña, mediana, grande (Decreto 1666 de 2016); '' for 'sin dato'."""
    for word, value in (("peque", "pequeña"), ("median", "mediana"), ("grande", "grande")):
        if word in label:
            return value
    if label in {"sin dato", "no aplica", "n/a", "na", "-", "sin informacion"}:
        return ""
    return None


class TenureImporter(Importer):
    """Titles, applications, subcontracts, AREs and ethnic zones, keyed by (expediente, tipo)."""

    layer = "mining_tenures"
    model = "layers.MiningTenure"
    table = "layers_miningtenure"
    defaults: ClassVar[dict[str, Any] | None] = dict.fromkeys(
        (
            "mineral_group",
            "status",
            "stage",
            "modality",
            "scale",
            "municipalities_published",
            "source",
        ),
        "",
    )
    key = ("expediente", "tenure_type")
    required = ("expediente", "tenure_type")
    columns = (
        Column(
            "tenure_type", convert=values.choice(tenure_type, strict=True, allowed=TENURE_TYPES)
        ),
        Column("expediente"),
        Column("holders", "list", values.listing(";|")),
        Column("minerals", "list", values.listing(";,|")),
        Column("mineral_group"),
        Column("status"),
        Column("stage", convert=values.choice(stage, strict=False, default="")),
        Column("modality"),
        Column("scale", convert=values.choice(scale, strict=False, default="")),
        Column("application_date", "date"),
        Column("grant_date", "date"),
        Column("expiry_date", "date"),
        Column("municipalities_published"),
        Column("declared_area_ha", "float8"),
        Column("source"),
    )


class AnmTenures(TenureImporter):
    """ANM AnnA Minería exports (full names or shapefile-truncated ones; FECHA_* epoch ms)."""

    label = "ANM AnnA Minería"
    fields: ClassVar[dict[str, tuple[str, ...]]] = {
        "expediente": ("CODIGO_EXPEDIENTE", "TENURE_ID", "CODIGO_EXP", "EXPEDIENTE"),
        "tenure_type": ("TIPO_EXPEDIENTE", "TIPO_TITULO", "TIPO"),
        "status": ("TITULO_ESTADO", "TITULO_EST", "SOLICITUD_ESTADO", "ESTADO"),
        "stage": ("ETAPA",),
        "modality": ("MODALIDAD",),
        "minerals": ("MINERALES",),
        "mineral_group": ("GRUPO_MINERAL", "GRUPO_MINE"),
        "holders": ("SOLICITANTES_O_TITULARES", "SOLICITANT", "TITULARES"),
        "scale": ("CLASIFICACION_MINERIA", "CLASIFICAC"),
        "declared_area_ha": ("AREA_HA", "AREA"),
        "application_date": ("FECHA_RADICACION", "FECHA_RADI"),
        "grant_date": ("FECHA_OTORGAMIENTO", "FECHA_INSCRIPCION", "FECHA_INSC", "FECHA_OTOR"),
        "expiry_date": ("FECHA_TERMINACION", "FECHA_EXPIRACION", "FECHA_TERM", "FECHA_EXPI"),
        "municipalities_published": ("MUNICIPIOS", "MPIO_CCNCT", "MPIO_CNMBR"),
    }
    constants: ClassVar[dict[str, Any]] = {"source": "ANM AnnA Minería"}
    required = ("expediente",)

    @classmethod
    def recognises(cls, file_fields: list[str]) -> bool:
        present = {f.lower() for f in file_fields}
        return any(name.lower() in present for name in cls.fields["expediente"][:3])

    @classmethod
    def constants_for(cls, file_fields: list[str]) -> dict[str, Any]:
        # AnnA publishes titles and applications as separate layers; the state field's name
        # is the fallback kind when neither the state text nor the modality tells.
        present = {f.upper() for f in file_fields}
        constants = dict(cls.constants)
        if not present & set(cls.fields["tenure_type"]):
            if present & {"TITULO_ESTADO", "TITULO_EST"}:
                constants["tenure_type"] = "title"
            elif present & {"SOLICITUD_ESTADO", "SOLICITUD_"}:
                constants["tenure_type"] = "application"
        return constants

    def convert_batch(self, batch: pa.RecordBatch, issues: Issues) -> dict[str, pa.Array]:
        data = super().convert_batch(batch, issues)
        if "tenure_type" in self.sources:
            return data
        # Per row: a special modality (subcontract, ARE, ethnic zone), else the state text
        # ('Solicitud ...' / 'Título ...'), else the modality, else the layer's kind.
        quiet = Issues(0)
        guesses = []
        if "modality" in data:
            guesses.append(values.choice(_special_kind, strict=False)(data["modality"], quiet, ""))
        if "status" in data:
            guesses.append(values.choice(_state_kind, strict=False)(data["status"], quiet, ""))
        if "modality" in data:
            guesses.append(values.choice(tenure_type, strict=False)(data["modality"], quiet, ""))
        fallback = data.get("tenure_type")
        if fallback is not None:
            guesses.append(fallback)
        if guesses:
            data["tenure_type"] = pc.coalesce(*guesses) if len(guesses) > 1 else guesses[0]
        return data


def _state_kind(label: str) -> str | None:
    if label.startswith("solicitud") or label.startswith("propuesta"):
        return "application"
    if label.startswith("titulo"):
        return "title"
    return None


def _special_kind(label: str) -> str | None:
    kind = tenure_type(label)
    return kind if kind not in {"title", "application"} else None


class CorpourabaTenures(TenureImporter):
    """ANM cartography as published by the CORPOURABA deforestation observatory."""

    label = "ANM vía observatorio CORPOURABA"
    fields: ClassVar[dict[str, tuple[str, ...]]] = {
        "expediente": ("nombre",),
        "tenure_type": ("tipo",),
        "holders": ("titular",),
        "mineral_group": ("mineral",),
        "minerals": ("minerales_detalle", "minerales_"),
        "status": ("estado",),
        "stage": ("etapa",),
        "scale": ("clasificacion", "clasificac"),
        "municipalities_published": ("municipios",),
        "declared_area_ha": ("area_ha",),
    }
    signature = ("nombre", "tipo", "titular")
    constants: ClassVar[dict[str, Any]] = {
        "source": "ANM, cartografía oficial vía observatorio de deforestación CORPOURABA"
    }
