"""Protected and exclusion areas (RUNAP, CORPOURABA, Ley 2ª de 1959 zones)."""

from __future__ import annotations

from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.compute as pc

from layers import values
from layers.importer import Column, Importer
from layers.values import Issues

# Categories of the Sistema de Parques Nacionales Naturales besides the parks themselves:
# mining is excluded in all of them (Código de Minas art. 34) though the model has no choice.
_SPNN_OTHER = ("santuario", "via parque", "area natural unica", "reserva nacional natural")


def protected_category(label: str) -> str:
    """A published category (folded, with its legal figure) as a ProtectedCategory value."""
    if "ley 2" in label or "ley segunda" in label:
        for letter in "abc":
            if f"tipo {letter}" in label or label.endswith(f" {letter}"):
                return f"ley2_{letter}"
        return "otra"
    # Stems, so plural RUNAP wording ("Parques Nacionales Naturales") matches too.
    rules = (
        (("parque", "nacional"), "parque_nacional"),
        (("parque", "regional"), "parque_regional"),
        (("reserva", "forestal", "protector"), "reserva_forestal_protectora"),
        (("manejo integrado",), "drmi"),
        (("drmi",), "drmi"),
        (("sociedad civil",), "rnsc"),
        (("rnsc",), "rnsc"),
        (("paramo",), "paramo"),
        (("ramsar",), "humedal_ramsar"),
        (("humedal", "importancia internacional"), "humedal_ramsar"),
    )
    for stems, category in rules:
        if all(stem in label for stem in stems):
            return category
    return "otra"


class ProtectedAreaImporter(Importer):
    """Protected areas keyed by (name, category); `excludes_mining` follows the category."""

    layer = "protected_areas"
    model = "layers.ProtectedArea"
    table = "layers_protectedarea"
    defaults: ClassVar[dict[str, Any] | None] = {"category_published": "", "legal_basis": ""}
    key = ("name", "category")
    replace_scope = ("category",)  # RUNAP, páramos, Ramsar... each publisher its categories
    required = ("name", "category_published")
    columns = (
        Column("name"),
        Column("category"),
        Column("category_published"),
        Column("legal_basis"),
        Column("excludes_mining", "bool"),
        Column("official_area_ha", "float8"),
    )
    helpers = ("figure",)

    def convert_batch(self, batch: pa.RecordBatch, issues: Issues) -> dict[str, pa.Array]:
        from layers.models import MINING_EXCLUDED

        data = super().convert_batch(batch, issues)
        published = data.get("category_published")
        if published is None:
            return data
        figure = pa.nulls(batch.num_rows, pa.string())
        if "figure" in self.sources:
            figure = values.text(batch.column(self.sources["figure"]), issues, "figura")
        labels = pc.binary_join_element_wise(
            pc.fill_null(figure, ""), pc.fill_null(published, ""), " "
        )
        mapping = {}
        for text in pc.unique(labels).to_pylist():
            folded = values.fold(text)
            category = protected_category(folded)
            spnn = any(word in folded for word in _SPNN_OTHER)
            basis = _legal_basis(folded, category, spnn)
            mapping[text] = (category, category in MINING_EXCLUDED or spnn, basis)
        keys = pa.array(list(mapping), pa.string())
        positions = pc.index_in(labels, value_set=keys)
        table = list(mapping.values())
        data["category"] = pc.take(pa.array([t[0] for t in table]), positions)
        if "excludes_mining" not in self.sources:
            data["excludes_mining"] = pc.take(pa.array([t[1] for t in table]), positions)
        basis = pc.take(pa.array([t[2] for t in table], pa.string()), positions)
        current = data.get("legal_basis")
        data["legal_basis"] = basis if current is None else pc.coalesce(current, basis)
        return data


def _legal_basis(folded: str, category: str, spnn: bool) -> str | None:
    if "ley 2" in folded or "ley segunda" in folded:
        return "Ley 2ª de 1959 (zonificación Resolución 1922 de 2013 y siguientes)"
    if category == "parque_nacional" or spnn:
        return "Sistema de Parques Nacionales Naturales; Código de Minas art. 34"
    if category == "paramo":
        return "Ley 1930 de 2018"
    return None


class RunapProtectedAreas(ProtectedAreaImporter):
    """RUNAP (Registro Único Nacional de Áreas Protegidas) exports."""

    label = "RUNAP"
    fields: ClassVar[dict[str, tuple[str, ...]]] = {
        "name": ("ap_nombre",),
        "category_published": ("ap_categor", "ap_categoria"),
        "official_area_ha": ("ap_area", "ap_area_ha", "area_ha"),
        "legal_basis": ("ap_acto", "ap_acto_ad", "acto_admin"),
    }
    signature = ("ap_nombre", "ap_categor")


class CorpourabaProtectedAreas(ProtectedAreaImporter):
    """CORPOURABA protected areas and Ley 2ª zones (`figura` names the legal figure)."""

    label = "CORPOURABA (áreas protegidas / Ley 2ª)"
    fields: ClassVar[dict[str, tuple[str, ...]]] = {
        "name": ("nombre",),
        "category_published": ("categoria",),
        "figure": ("figura",),
        "official_area_ha": ("area_ha",),
    }
    signature = ("nombre", "categoria", "figura")
    constants: ClassVar[dict[str, Any]] = {}
