"""Departments and municipalities (DANE Marco Geoestadístico Nacional), keyed by DIVIPOLA."""

from __future__ import annotations

from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.compute as pc

from layers import values
from layers.importer import Column, Importer
from layers.values import Issues


class DepartmentImporter(Importer):
    """Departments by 2-digit DIVIPOLA code (text)."""

    layer = "departments"
    model = "layers.Department"
    table = "layers_department"
    defaults: ClassVar[dict[str, Any] | None] = {}
    key = ("code",)
    required = ("code", "name")
    columns = (Column("code", convert=values.divipola(2)), Column("name"))


class DaneDepartments(DepartmentImporter):
    """DANE MGN departments layer."""

    label = "DANE MGN (departamentos)"
    fields: ClassVar[dict[str, tuple[str, ...]]] = {
        "code": ("DPTO_CCDGO",),
        "name": ("DPTO_CNMBR",),
    }

    @classmethod
    def recognises(cls, file_fields: list[str]) -> bool:
        # The municipalities layer repeats DPTO_* fields; it is not a departments layer.
        present = {f.upper() for f in file_fields}
        return {"DPTO_CCDGO", "DPTO_CNMBR"} <= present and "MPIO_CCNCT" not in present


class MunicipalityImporter(Importer):
    """Municipalities by 5-digit DIVIPOLA code (text); the department is the code's prefix."""

    layer = "municipalities"
    model = "layers.Municipality"
    table = "layers_municipality"
    defaults: ClassVar[dict[str, Any] | None] = {"legal_act": ""}
    key = ("code",)
    required = ("code", "name")
    columns = (
        Column("code", convert=values.divipola(5)),
        Column("name"),
        Column("department_id", convert=values.divipola(2)),
        Column("legal_act"),
        Column("official_area_km2", "float8"),
    )

    def convert_batch(self, batch: pa.RecordBatch, issues: Issues) -> dict[str, pa.Array]:
        data = super().convert_batch(batch, issues)
        if "code" in data:
            prefix = pc.utf8_slice_codeunits(data["code"], 0, 2)
            department = data.get("department_id")
            data["department_id"] = (
                prefix if department is None else pc.coalesce(department, prefix)
            )
        return data


class DaneMunicipalities(MunicipalityImporter):
    """DANE MGN municipalities layer (MPIO_CCNCT = department + municipality code)."""

    label = "DANE MGN (municipios)"
    fields: ClassVar[dict[str, tuple[str, ...]]] = {
        "code": ("MPIO_CCNCT", "COD_DANE", "CODIGO_DANE"),
        "name": ("MPIO_CNMBR",),
        "department_id": ("DPTO_CCDGO",),
        "legal_act": ("MPIO_CRSLC",),
        "official_area_km2": ("MPIO_NAREA",),
    }
    signature = ("MPIO_CCNCT", "MPIO_CNMBR")


class CorpourabaMunicipalities(MunicipalityImporter):
    """Municipalities of the CORPOURABA sample (`codigo_dane`, `nombre`)."""

    label = "CORPOURABA (municipios)"
    fields: ClassVar[dict[str, tuple[str, ...]]] = {
        "code": ("codigo_dane",),
        "name": ("nombre",),
    }
    signature = ("codigo_dane", "nombre")
