"""Boundary validation: every finding an analyst needs before a boundary can be delimited.

Run by `POST /api/v1/validate` and on every boundary save (the report is stored with the
version). Findings with severity `error` block promotion to `delimited`; `warning` informs.
All figures are computed by PostGIS in EPSG:9377 (`delimitation.overlay_queries`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from psycopg import Connection
from shapely.geometry.base import BaseGeometry

from delimitation import overlay_queries as q
from geo.spanish_numbers import hectares, percent

Severity = Literal["error", "warning"]
ERROR: Severity = "error"
WARNING: Severity = "warning"
# Findings that make every overlay meaningless: nothing else is computed after them.
STRUCTURAL = {"empty", "not_polygonal", "invalid_geometry"}


@dataclass(frozen=True)
class ValidationRules:
    """Configurable thresholds (hectares and fractions)."""

    min_area_ha: float = 100.0
    max_area_ha: float = 5_000_000.0
    # Part outside the departments below this is border noise, not a finding.
    outside_tolerance_ha: float = 1.0
    cut_low: float = 0.05
    cut_high: float = 0.95
    snap_threshold: float = 0.5
    sliver_percent: float = 1.0
    # Pieces smaller than this (overlay slivers from digitising) are ignored.
    min_piece_ha: float = 0.0001
    hydro_preference: tuple[str, ...] = ("pomca", "watershed", "ideam", "hydrobasins", "derived")


@dataclass
class Finding:
    """One thing found about a boundary: stable code, severity, Spanish message, figures."""

    code: str
    severity: Severity
    message: str
    figures: dict[str, Any] = field(default_factory=dict)
    geometry: Any = None


@dataclass
class Report:
    """The validation answer: valid when there is no error; watershed summary when computed."""

    findings: list[Finding] = field(default_factory=list)
    area_ha: float | None = None
    watershed: dict[str, Any] | None = None

    @property
    def valid(self) -> bool:
        return not any(f.severity == ERROR for f in self.findings)

    @property
    def structural(self) -> bool:
        return any(f.code in STRUCTURAL for f in self.findings)

    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == ERROR]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready report."""
        return {
            "valid": self.valid,
            "area_ha": _round(self.area_ha),
            "findings": [asdict(f) for f in self.findings],
            "watershed": self.watershed,
        }


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def validate(
    conn: Connection,
    geometry: BaseGeometry,
    *,
    district_code: str | None = None,
    hydro_system: str | None = None,
    hydro_level: int | None = None,
    rules: ValidationRules | None = None,
    out_srid: int = 4326,
) -> Report:
    """Validate a boundary (shapely, EPSG:9377) against every reference layer."""
    rules = rules or ValidationRules()
    report = Report()
    _structure(conn, geometry, report, out_srid)
    if report.structural:
        return report
    report.area_ha = q.area_ha(conn, geometry)
    _area_bounds(report, rules)
    _outside_colombia(conn, geometry, report, rules, out_srid)
    _overlaps(conn, geometry, report, rules, district_code, out_srid)
    _watersheds(conn, geometry, report, rules, hydro_system, hydro_level, out_srid)
    _partly_outside(conn, geometry, report, rules, out_srid)
    _inside(conn, geometry, report, rules, out_srid)
    _slivers(conn, geometry, report, rules)
    return report


def _structure(conn: Connection, geometry: BaseGeometry, report: Report, out: int) -> None:
    if geometry.is_empty:
        report.findings.append(Finding("empty", ERROR, "La geometría está vacía."))
        return
    if geometry.geom_type not in ("Polygon", "MultiPolygon"):
        report.findings.append(
            Finding(
                "not_polygonal",
                ERROR,
                f"El límite debe ser un polígono o multipolígono; llegó {geometry.geom_type}.",
                {"geometry_type": geometry.geom_type},
            )
        )
        return
    valid, reason, location = q.validity_detail(conn, geometry, out)
    if not valid:
        report.findings.append(
            Finding(
                "invalid_geometry",
                ERROR,
                f"La geometría no es válida: {reason}.",
                {"reason": reason},
                location,
            )
        )


def _area_bounds(report: Report, rules: ValidationRules) -> None:
    area = report.area_ha or 0.0
    figures = {"area_ha": _round(area), "min_ha": rules.min_area_ha, "max_ha": rules.max_area_ha}
    if area < rules.min_area_ha:
        report.findings.append(
            Finding(
                "area_too_small",
                ERROR,
                f"El área ({hectares(area)}) es menor que el mínimo configurado "
                f"({hectares(rules.min_area_ha)}).",
                figures,
            )
        )
    elif area > rules.max_area_ha:
        report.findings.append(
            Finding(
                "area_too_large",
                ERROR,
                f"El área ({hectares(area)}) supera el máximo configurado "
                f"({hectares(rules.max_area_ha)}).",
                figures,
            )
        )


def _outside_colombia(
    conn: Connection, geometry: BaseGeometry, report: Report, rules: ValidationRules, out: int
) -> None:
    loaded, outside_ha, outside_geom = q.outside_colombia(conn, geometry, out)
    if loaded == 0:
        report.findings.append(
            Finding(
                "reference_missing",
                WARNING,
                "No hay departamentos cargados: no se pudo comprobar que el límite esté en "
                "Colombia.",
                {"layer": "departments"},
            )
        )
        return
    if outside_ha > rules.outside_tolerance_ha:
        report.findings.append(
            Finding(
                "outside_colombia",
                ERROR,
                f"{hectares(outside_ha)} del límite quedan fuera de Colombia (unión de los "
                "departamentos del DANE).",
                {"outside_ha": _round(outside_ha)},
                outside_geom,
            )
        )


def _overlaps(
    conn: Connection,
    geometry: BaseGeometry,
    report: Report,
    rules: ValidationRules,
    district_code: str | None,
    out: int,
) -> None:
    for other in q.overlapping_districts(conn, geometry, out, district_code):
        if other["area_ha"] < rules.min_piece_ha:
            continue
        report.findings.append(
            Finding(
                "overlaps_district",
                ERROR,
                f"Se superpone {hectares(other['area_ha'])} con el distrito {other['code']} "
                f"({other['name']}, {other['status']}).",
                {
                    "district": other["code"],
                    "name": other["name"],
                    "status": other["status"],
                    "overlap_ha": _round(other["area_ha"]),
                },
                other["geometry"],
            )
        )


def _watersheds(
    conn: Connection,
    geometry: BaseGeometry,
    report: Report,
    rules: ValidationRules,
    system: str | None,
    level: int | None,
    out: int,
) -> None:
    if system is None:
        choice = q.default_hydro_choice(conn, geometry, rules.hydro_preference)
        if choice is None:
            report.findings.append(
                Finding(
                    "reference_missing",
                    WARNING,
                    "No hay unidades hidrográficas bajo el límite: no se evaluó la integridad "
                    "de cuencas.",
                    {"layer": "hydro_units"},
                )
            )
            return
        system, level = choice
    elif level is None:
        # Levels nest: mixing them would count the same ground twice; use the finest one.
        choice = q.default_hydro_choice(conn, geometry, (system,))
        level = choice[1] if choice and choice[0] == system else None
    units = q.hydro_units_under(conn, geometry, system, level)
    boundary_ha = report.area_ha or 0.0
    entries = []
    whole_ha = 0.0
    snap_ids = []
    for unit in units:
        fraction = unit["inside_ha"] / unit["unit_area_ha"] if unit["unit_area_ha"] else 0.0
        if unit["inside_ha"] < rules.min_piece_ha:
            continue
        entries.append(
            {
                "id": unit["id"],
                "code": unit["code"],
                "name": unit["name"],
                "unit_area_ha": _round(unit["unit_area_ha"]),
                "inside_ha": _round(unit["inside_ha"]),
                "fraction": _round(fraction, 6),
                "cut": rules.cut_low < fraction < rules.cut_high,
            }
        )
        if fraction >= rules.cut_high:
            whole_ha += unit["inside_ha"]
        if fraction > rules.snap_threshold:
            snap_ids.append(unit["id"])
    score = whole_ha / boundary_ha if boundary_ha else 0.0
    snap_ha, snap_geometry = q.union_of_units(conn, snap_ids, out) if snap_ids else (0.0, None)
    report.watershed = {
        "system": system,
        "level": level,
        "integrity": _round(score, 6),
        "units": entries,
        "snap": {"unit_ids": snap_ids, "area_ha": _round(snap_ha), "geometry": snap_geometry},
    }
    cut = [e for e in entries if e["cut"]]
    if cut:
        names = ", ".join(f"{e['code']} ({percent(e['fraction'] * 100)})" for e in cut)
        report.findings.append(
            Finding(
                "watershed_cut",
                WARNING,
                f"El límite corta {len(cut)} unidad(es) hidrográfica(s) ({system}, nivel "
                f"{level}): {names}. Integridad de cuencas: {score:.3f}. La geometría sugerida "
                "ajusta el límite a las unidades incluidas en más de la mitad.",
                {
                    "system": system,
                    "level": level,
                    "integrity": _round(score, 6),
                    "units": cut,
                    "snap_unit_ids": snap_ids,
                    "snap_area_ha": _round(snap_ha),
                },
                snap_geometry,
            )
        )


def _partly_outside(
    conn: Connection, geometry: BaseGeometry, report: Report, rules: ValidationRules, out: int
) -> None:
    for overlay, code, label in (
        (q.HOTSPOTS, "hotspot_partly_outside", "El foco {source_id}"),
        (q.TENURES, "tenure_partly_outside", "El título o solicitud {expediente}"),
    ):
        for item in q.partly_outside(conn, geometry, overlay, out):
            if item["inside_ha"] < rules.min_piece_ha or item["outside_ha"] < rules.min_piece_ha:
                continue
            figures = {k: v for k, v in item.items() if k != "geometry"}
            for key in ("area_ha", "inside_ha", "outside_ha"):
                figures[key] = _round(figures[key])
            report.findings.append(
                Finding(
                    code,
                    WARNING,
                    label.format(**item)
                    + f" queda parcialmente fuera del límite: {hectares(item['outside_ha'])} "
                    f"fuera, {hectares(item['inside_ha'])} dentro.",
                    figures,
                    item["geometry"],
                )
            )


def _inside(
    conn: Connection, geometry: BaseGeometry, report: Report, rules: ValidationRules, out: int
) -> None:
    for item in q.inside(conn, geometry, q.EXCLUSION_ZONES, out):
        if item["inside_ha"] < rules.min_piece_ha:
            continue
        report.findings.append(
            Finding(
                "exclusion_zone_inside",
                WARNING,
                f"Incluye {hectares(item['inside_ha'])} de la zona excluida de la minería "
                f"'{item['name']}' ({item['category']}).",
                {
                    "id": item["id"],
                    "name": item["name"],
                    "category": item["category"],
                    "area_ha": _round(item["area_ha"]),
                    "inside_ha": _round(item["inside_ha"]),
                },
                item["geometry"],
            )
        )
    for item in q.inside(conn, geometry, q.ETHNIC_TERRITORIES, out):
        if item["inside_ha"] < rules.min_piece_ha:
            continue
        report.findings.append(
            Finding(
                "ethnic_territory_inside",
                WARNING,
                f"Incluye {hectares(item['inside_ha'])} del territorio étnico '{item['name']}': "
                "requiere consulta previa.",
                {
                    "id": item["id"],
                    "name": item["name"],
                    "kind": item["kind"],
                    "people": item["people"],
                    "source_id": item["source_id"],
                    "area_ha": _round(item["area_ha"]),
                    "inside_ha": _round(item["inside_ha"]),
                    "consulta_previa": True,
                },
                item["geometry"],
            )
        )


def _slivers(
    conn: Connection, geometry: BaseGeometry, report: Report, rules: ValidationRules
) -> None:
    for muni in q.municipalities_touched(conn, geometry):
        if muni["inside_ha"] < rules.min_piece_ha:
            continue  # shared edges of neighbours leave only floating-point dust
        share = muni["inside_ha"] / muni["area_ha"] * 100 if muni["area_ha"] else 0.0
        if share >= rules.sliver_percent:
            continue
        report.findings.append(
            Finding(
                "municipality_sliver",
                WARNING,
                f"El límite toca el municipio {muni['code']} {muni['name']} en solo "
                f"{hectares(muni['inside_ha'])} ({percent(share, 2)} del municipio): "
                "¿una astilla de digitalización?",
                {
                    "code": muni["code"],
                    "name": muni["name"],
                    "inside_ha": _round(muni["inside_ha"]),
                    "percent": _round(share, 4),
                    "district_percent": _round(
                        muni["inside_ha"] / report.area_ha * 100 if report.area_ha else 0.0, 4
                    ),
                },
            )
        )
