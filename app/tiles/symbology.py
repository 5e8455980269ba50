"""How each registry layer is drawn: the classifying attribute, its classes in Spanish and
their colours. The MapLibre style, the legends and the tile aggregation read this one table.

Layers without an entry are drawn in a neutral colour, so a new registry layer shows up on
the map without touching this file.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LegendClass:
    """One value of the classifying attribute, its Spanish label and its colour."""

    value: str
    label: str
    color: str


@dataclass(frozen=True)
class Symbology:
    """Paint of one layer: attribute that picks the colour, classes, default and outline."""

    property: str | None = None
    classes: tuple[LegendClass, ...] = ()
    color: str = "#7a7a7a"
    fill_opacity: float = 0.35
    outline: str | None = None
    line_width: float = 0.8
    visible: bool = True


def _classes(*rows: tuple[str, str, str]) -> tuple[LegendClass, ...]:
    return tuple(LegendClass(*row) for row in rows)


SYMBOLOGY: dict[str, Symbology] = {
    "departments": Symbology(color="#3a3a3a", fill_opacity=0.0, line_width=1.6),
    "municipalities": Symbology(color="#8c8c8c", fill_opacity=0.04, line_width=0.7),
    "mining_tenures": Symbology(
        property="tenure_type",
        classes=_classes(
            ("title", "Título minero", "#d7301f"),
            ("application", "Solicitud", "#fdae6b"),
            ("formalisation_subcontract", "Subcontrato de formalización", "#8c6bb1"),
            ("special_reserve_area", "Área de reserva especial (ARE)", "#e7298a"),
            ("ethnic_mining_zone", "Zona minera étnica", "#a6761d"),
        ),
        color="#d7301f",
        fill_opacity=0.45,
    ),
    "mining_hotspots": Symbology(
        property="category",
        classes=_classes(
            ("explotacion_ilicita", "Explotación ilícita", "#b10026"),
            ("en_transito_legalidad", "En tránsito a la legalidad", "#fd8d3c"),
            ("con_permisos", "Con permisos técnicos o ambientales", "#fecc5c"),
            ("desconocida", "Sin clasificar", "#969696"),
        ),
        color="#b10026",
        fill_opacity=0.7,
    ),
    "protected_areas": Symbology(
        property="category",
        classes=_classes(
            ("parque_nacional", "Parque Nacional Natural", "#006d2c"),
            ("parque_regional", "Parque Natural Regional", "#238b45"),
            ("reserva_forestal_protectora", "Reserva Forestal Protectora", "#41ab5d"),
            ("drmi", "Distrito de Manejo Integrado", "#74c476"),
            ("rnsc", "Reserva Natural de la Sociedad Civil", "#a1d99b"),
            ("paramo", "Páramo", "#7fcdbb"),
            ("humedal_ramsar", "Humedal Ramsar", "#1d91c0"),
            ("ley2_a", "Reserva Forestal Ley 2ª tipo A", "#78c679"),
            ("ley2_b", "Reserva Forestal Ley 2ª tipo B", "#addd8e"),
            ("ley2_c", "Reserva Forestal Ley 2ª tipo C", "#d9f0a3"),
            ("otra", "Otra", "#bdbdbd"),
        ),
        color="#41ab5d",
        fill_opacity=0.35,
    ),
    "ethnic_territories": Symbology(
        property="kind",
        classes=_classes(
            ("resguardo_indigena", "Resguardo indígena", "#b35806"),
            ("consejo_comunitario", "Consejo comunitario (tierra colectiva)", "#542788"),
        ),
        color="#b35806",
        fill_opacity=0.3,
    ),
    "hydro_units": Symbology(
        property="system",
        classes=_classes(
            ("ideam", "Zonificación hidrográfica IDEAM", "#2171b5"),
            ("pomca", "Cuencas POMCA", "#4292c6"),
            ("watershed", "Cuencas (autoridad ambiental)", "#6baed6"),
            ("hydrobasins", "HydroBASINS", "#9ecae1"),
            ("derived", "Derivadas del DEM", "#08519c"),
        ),
        color="#2171b5",
        fill_opacity=0.05,
        line_width=1.0,
    ),
    "rivers": Symbology(color="#3182bd", line_width=1.2),
    "water_intakes": Symbology(color="#08306b"),
    "districts": Symbology(
        property="status",
        classes=_classes(
            ("draft", "Borrador", "#bdbdbd"),
            ("proposed", "Propuesto", "#fdd49e"),
            ("in_validation", "En validación", "#fc8d59"),
            ("delimited", "Delimitado", "#7a0177"),
            ("in_execution", "En ejecución", "#ae017e"),
            ("archived", "Archivado", "#969696"),
            ("revoked", "Revocado", "#525252"),
        ),
        color="#7a0177",
        fill_opacity=0.2,
        line_width=2.5,
    ),
    "proposals": Symbology(color="#ff7f00", fill_opacity=0.2, line_width=2.0),
    "plan_actions": Symbology(
        property="component",
        classes=_classes(
            ("minero", "Minero", "#8c510a"),
            ("social", "Social", "#c51b7d"),
            ("economico", "Económico", "#e08214"),
            ("institucional", "Institucional", "#4d4d4d"),
            ("etnico", "Étnico", "#762a83"),
            ("ambiental", "Ambiental", "#1b7837"),
        ),
        color="#4d4d4d",
        fill_opacity=0.25,
    ),
}

DEFAULT = Symbology()


def symbology(layer_name: str) -> Symbology:
    """The paint of a layer (neutral when the layer has no entry)."""
    return SYMBOLOGY.get(layer_name, DEFAULT)


def class_properties() -> dict[str, str]:
    """Layer name -> classifying attribute (used when tiles are aggregated)."""
    return {name: s.property for name, s in SYMBOLOGY.items() if s.property}
