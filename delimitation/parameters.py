"""Parameters of the proposal engine: documented defaults and strict validation.

Every number of a proposal is reproducible from these parameters (stored with the run).

Mining pressure of a hydro unit (step 3 of the engine, a share of the unit's land):

    pressure = hotspot_weight * hotspot_ha / unit_ha + tenure_weight * tenure_ha / unit_ha

where `hotspot_ha` is the area of the counted hotspot categories inside the unit and
`tenure_ha` the area of the counted tenure types/statuses inside it (overlapping tenures are
dissolved first, so an application over a title is not counted twice). Hotspots weigh more
than tenures: a hotspot is land actually disturbed, a tenure an envelope of which only a
small part is ever mined. A unit is a seed when `pressure >= pressure_threshold`.

Score of an alternative (step 5), every term a share in [0, 1]:

    score = w.hotspot_captured * hotspot_share + w.tenure_captured * tenure_share
          + w.compactness * polsby_popper + w.integrity * watershed_integrity
          - w.exclusion * exclusion_share - w.ethnic * ethnic_share

`hotspot_share`/`tenure_share` are the fractions of the study area's hotspot/tenure area the
alternative captures; `exclusion_share`/`ethnic_share` the fractions of the alternative's
area inside exclusion zones / ethnic territories. Ties are broken by smaller area, then by
the lowest unit id, so the ranking is deterministic.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from geo.errors import InvalidInput

TENURE_TYPES = (
    "title",
    "application",
    "formalisation_subcontract",
    "special_reserve_area",
    "ethnic_mining_zone",
)
HOTSPOT_CATEGORIES = (
    "explotacion_ilicita",
    "en_transito_legalidad",
    "con_permisos",
    "desconocida",
)


@dataclass(frozen=True)
class Weights:
    """Ranking weights (see the module docstring for the score formula)."""

    hotspot_captured: float = 0.40
    tenure_captured: float = 0.20
    compactness: float = 0.15
    integrity: float = 0.10
    exclusion: float = 0.10
    ethnic: float = 0.05


@dataclass(frozen=True)
class ProposalParameters:
    """What the engine counts, when a unit is a seed, how alternatives are cut and ranked."""

    # Seed when the weighted share of mined/titled land reaches this (0.02 = 2 % of the unit).
    pressure_threshold: float = 0.02
    hotspot_weight: float = 1.0
    tenure_weight: float = 0.25
    # Tenure types counted as mining pressure (layers.models.TenureType values).
    tenure_types: tuple[str, ...] = tuple(sorted(TENURE_TYPES))
    # Tenure statuses counted (ANM "estado" text, case-insensitive); empty = every status.
    tenure_statuses: tuple[str, ...] = ()
    hotspot_categories: tuple[str, ...] = tuple(sorted(HOTSPOT_CATEGORIES))
    # Units that only graze the study area (less than this share of the unit inside) are left
    # out: published unit and municipal boundaries never coincide exactly.
    min_unit_overlap: float = 0.01
    # No alternative is larger than this; bigger ones are cut (whole units) around the seeds.
    max_area_ha: float = 1_500_000.0
    # Number of ranked alternatives kept.
    alternatives: int = 6
    # Without a drainage graph, seeds separated by at most this many non-seed units (by shared
    # boundary) are joined into one cluster.
    adjacency_gap: int = 1
    weights: Weights = field(default_factory=Weights)

    def to_json(self) -> dict[str, Any]:
        """The effective parameters as stored with the run."""
        data = asdict(self)
        for key in ("tenure_types", "tenure_statuses", "hotspot_categories"):
            data[key] = list(data[key])
        return data


_NUMBER_BOUNDS = {
    "pressure_threshold": (0.0, 10.0),
    "hotspot_weight": (0.0, 100.0),
    "tenure_weight": (0.0, 100.0),
    "min_unit_overlap": (0.0, 1.0),
    "max_area_ha": (1.0, 1e9),
}
_INT_BOUNDS = {"alternatives": (1, 50), "adjacency_gap": (0, 10)}
_CHOICES = {"tenure_types": TENURE_TYPES, "hotspot_categories": HOTSPOT_CATEGORIES}


def _number(name: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(f"El parámetro '{name}' debe ser un número.", where=name)
    if not low <= value <= high:
        raise InvalidInput(
            f"El parámetro '{name}' debe estar entre {low:g} y {high:g} (recibido {value}).",
            where=name,
        )
    return float(value)


def _strings(name: str, value: Any, choices: tuple[str, ...] | None) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidInput(f"El parámetro '{name}' debe ser una lista de textos.", where=name)
    if choices is not None:
        unknown = [v for v in value if v not in choices]
        if unknown:
            raise InvalidInput(
                f"Valores desconocidos en '{name}': {', '.join(unknown)}. "
                f"Valores válidos: {', '.join(choices)}.",
                where=name,
            )
    # Sorted and deduplicated: the same request always stores the same parameters.
    return tuple(sorted(set(value)))


def _weights(value: Any) -> Weights:
    if not isinstance(value, dict):
        raise InvalidInput("El parámetro 'weights' debe ser un objeto.", where="weights")
    known = {f.name for f in fields(Weights)}
    unknown = sorted(set(value) - known)
    if unknown:
        raise InvalidInput(
            f"Pesos desconocidos: {', '.join(unknown)}. Pesos válidos: {', '.join(sorted(known))}.",
            where="weights",
        )
    return Weights(**{k: _number(f"weights.{k}", v, 0.0, 100.0) for k, v in value.items()})


def parse_parameters(raw: dict[str, Any] | None) -> ProposalParameters:
    """Defaults overridden by `raw`; unknown keys or bad values raise a Spanish 400."""
    raw = raw or {}
    if not isinstance(raw, dict):
        raise InvalidInput("'parameters' debe ser un objeto.", where="parameters")
    known = {f.name for f in fields(ProposalParameters)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise InvalidInput(
            f"Parámetros desconocidos: {', '.join(unknown)}. "
            f"Parámetros válidos: {', '.join(sorted(known))}.",
            where="parameters",
        )
    values: dict[str, Any] = {}
    for name, value in raw.items():
        if name in _NUMBER_BOUNDS:
            values[name] = _number(name, value, *_NUMBER_BOUNDS[name])
        elif name in _INT_BOUNDS:
            low, high = _INT_BOUNDS[name]
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise InvalidInput(
                    f"El parámetro '{name}' debe ser un entero entre {low} y {high}.", where=name
                )
            values[name] = value
        elif name == "weights":
            values[name] = _weights(value)
        else:
            values[name] = _strings(name, value, _CHOICES.get(name))
    return ProposalParameters(**values)


def parameters_from_json(data: dict[str, Any]) -> ProposalParameters:
    """Rebuild stored parameters (the inverse of `ProposalParameters.to_json`)."""
    return parse_parameters(data)
