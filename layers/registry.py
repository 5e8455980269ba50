"""The layer registry: every publishable layer described once.

REST listings, WFS capabilities and schemas, OGC API collections, tiles, styles and exports
are generated from these entries. Adding a layer is adding one `Layer` here. Tables may be
views (e.g. a district's current boundary); upper packages are named by table, never
imported, so the dependency direction holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from geo.errors import Forbidden, InvalidInput, NotFound

PropertyType = Literal["string", "integer", "number", "boolean", "date", "datetime"]
GeometryType = Literal[
    "Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon", "Geometry"
]

ANONYMOUS = "anonymous"
VIEWER = "viewer"
ANALYST = "analyst"
MESA_SECRETARY = "mesa_secretary"
FOCAL_POINT = "focal_point"
COORDINATOR = "coordinator"
ADMIN = "admin"
ROLES = (ANONYMOUS, VIEWER, ANALYST, MESA_SECRETARY, FOCAL_POINT, COORDINATOR, ADMIN)
EVERYONE = frozenset(ROLES)
STAFF = frozenset({ANALYST, MESA_SECRETARY, FOCAL_POINT, COORDINATOR, ADMIN})


@dataclass(frozen=True)
class Property:
    """One published attribute: API name, SQL expression over the table alias `t`, type."""

    name: str
    type: PropertyType = "string"
    sql: str | None = None  # defaults to t.<name>
    title: str = ""

    @property
    def expression(self) -> str:
        return self.sql or f"t.{self.name}"


@dataclass(frozen=True)
class Layer:
    """An immutable description of one publishable layer."""

    name: str
    title: str
    description: str
    table: str
    geometry_type: GeometryType
    properties: tuple[Property, ...]
    id_column: str = "id"
    id_type: Literal["integer", "string"] = "integer"
    geometry_column: str = "geom"
    srid: int = 9377
    read_roles: frozenset[str] = EVERYONE
    edit_roles: frozenset[str] = frozenset()
    # SQL condition over alias `t` that anonymous readers (and public tiles) must satisfy.
    public_filter: str | None = None
    min_zoom: int = 0
    max_zoom: int = 22
    # Tolerance in metres per zoom-0 pixel multiple used to simplify tiles; 0 = no simplification.
    simplify: bool = True
    label: str | None = None
    # First zoom whose tiles carry the label points (`<name>_labels`) and the map shows them.
    label_min_zoom: int = 9
    # "package.module:Class" handling writes (WFS-T, OGC API Part 4), resolved lazily.
    editor: str | None = None
    keywords: tuple[str, ...] = field(default_factory=tuple)
    # Base tables whose writes change this layer when `table` is a view (tile invalidation).
    source_tables: tuple[str, ...] = ()

    @property
    def written_tables(self) -> tuple[str, ...]:
        """The tables whose writes change this layer: its source tables, else its table."""
        return self.source_tables or (self.table,)

    def property(self, name: str) -> Property:
        """A published property by name, or a 400 naming the valid ones."""
        for prop in self.properties:
            if prop.name == name:
                return prop
        raise InvalidInput(
            f"La capa '{self.name}' no publica el atributo '{name}'. Atributos: "
            + ", ".join(p.name for p in self.properties),
            where=name,
        )

    def readable_by(self, roles: set[str] | frozenset[str]) -> bool:
        return bool(self.read_roles & set(roles))

    def editable_by(self, roles: set[str] | frozenset[str]) -> bool:
        return bool(self.edit_roles & set(roles))


def _p(
    name: str, type_: PropertyType = "string", sql: str | None = None, title: str = ""
) -> Property:
    return Property(name, type_, sql, title)


LAYERS: tuple[Layer, ...] = (
    Layer(
        name="departments",
        title="Departamentos",
        description="Departamentos de Colombia (DANE, Marco Geoestadístico Nacional).",
        table="layers_department",
        id_column="code",
        id_type="string",
        geometry_type="MultiPolygon",
        properties=(
            _p("code", title="Código DIVIPOLA"),
            _p("name", title="Nombre"),
            _p("area_ha", "number", title="Área (ha)"),
        ),
        label="name",
        label_min_zoom=5,
        max_zoom=12,
    ),
    Layer(
        name="municipalities",
        title="Municipios",
        description="Municipios de Colombia (DANE, Marco Geoestadístico Nacional).",
        table="layers_municipality",
        id_column="code",
        id_type="string",
        geometry_type="MultiPolygon",
        properties=(
            _p("code", title="Código DIVIPOLA"),
            _p("name", title="Nombre"),
            _p("department_code", sql="t.department_id", title="Departamento"),
            _p("legal_act", title="Acto de creación"),
            _p("area_ha", "number", title="Área (ha)"),
        ),
        label="name",
        label_min_zoom=8,
        max_zoom=14,
    ),
    Layer(
        name="mining_tenures",
        title="Títulos y solicitudes mineras",
        description="Registro minero de la ANM: títulos, solicitudes, subcontratos de "
        "formalización, áreas de reserva especial y zonas mineras étnicas.",
        table="layers_miningtenure",
        geometry_type="MultiPolygon",
        properties=(
            _p("tenure_type", title="Tipo"),
            _p("expediente", title="Código de expediente"),
            _p("holders", sql="array_to_string(t.holders, '; ')", title="Titulares"),
            _p("minerals", sql="array_to_string(t.minerals, ', ')", title="Minerales"),
            _p("mineral_group", title="Grupo mineral"),
            _p("status", title="Estado"),
            _p("stage", title="Etapa"),
            _p("modality", title="Modalidad"),
            _p("scale", title="Escala"),
            _p("application_date", "date", title="Fecha de radicación"),
            _p("grant_date", "date", title="Fecha de otorgamiento"),
            _p("expiry_date", "date", title="Fecha de terminación"),
            _p("municipalities_published", title="Municipios (publicado)"),
            _p("declared_area_ha", "number", title="Área declarada (ha)"),
            _p("area_ha", "number", title="Área calculada (ha)"),
            _p("source", title="Fuente"),
        ),
        label="expediente",
        min_zoom=5,
    ),
    Layer(
        name="mining_hotspots",
        title="Focos de minería no autorizada",
        description="Detecciones de explotación de minerales sin autorización (EVOA, modelos, "
        "reportes de campo). Los datos de muestra son sintéticos.",
        table="layers_mininghotspot",
        geometry_type="MultiPolygon",
        properties=(
            _p("source", title="Fuente"),
            _p("source_id", title="Identificador"),
            _p("category", title="Categoría"),
            _p("setting", title="Ámbito"),
            _p("detected_on", "date", title="Fecha de detección"),
            _p("period_end", "date", title="Fin del periodo"),
            _p("area_ha", "number", title="Área (ha)"),
            _p("confidence", "number", title="Confianza"),
            _p("synthetic", "boolean", title="Sintético"),
        ),
        min_zoom=5,
        edit_roles=frozenset({ANALYST, COORDINATOR, ADMIN}),
        editor="layers.editing:HotspotEditor",
    ),
    Layer(
        name="protected_areas",
        title="Áreas protegidas y de exclusión",
        description="Áreas protegidas (RUNAP), páramos, humedales y zonas de Ley 2ª de 1959.",
        table="layers_protectedarea",
        geometry_type="MultiPolygon",
        properties=(
            _p("name", title="Nombre"),
            _p("category", title="Categoría"),
            _p("category_published", title="Categoría (publicada)"),
            _p("legal_basis", title="Fundamento legal"),
            _p("excludes_mining", "boolean", title="Excluye minería"),
            _p("official_area_ha", "number", title="Área oficial (ha)"),
            _p("area_ha", "number", title="Área calculada (ha)"),
        ),
        label="name",
    ),
    Layer(
        name="ethnic_territories",
        title="Territorios étnicos",
        description="Resguardos indígenas y tierras colectivas de comunidades negras (ANT).",
        table="layers_ethnicterritory",
        geometry_type="MultiPolygon",
        properties=(
            _p("kind", title="Tipo"),
            _p("source_id", title="Identificador ANT"),
            _p("name", title="Nombre"),
            _p("people", title="Pueblo"),
            _p("legal_act", title="Acto legal"),
            _p("act_year", "integer", title="Año del acto"),
            _p("official_area_ha", "number", title="Área oficial (ha)"),
            _p("area_ha", "number", title="Área calculada (ha)"),
        ),
        label="name",
    ),
    Layer(
        name="hydro_units",
        title="Unidades hidrográficas",
        description="Zonificación hidrográfica (IDEAM, POMCA, cuencas y unidades derivadas del "
        "DEM) con su topología de drenaje (next_down).",
        table="hydrology_hydrounit",
        geometry_type="MultiPolygon",
        properties=(
            _p("system", title="Sistema"),
            _p("code", title="Código"),
            _p("name", title="Nombre"),
            _p("level", "integer", title="Nivel"),
            _p("parent_id", "integer", title="Unidad padre"),
            _p("next_down_id", "integer", title="Drena hacia"),
            _p("area_ha", "number", title="Área (ha)"),
        ),
        label="name",
    ),
    Layer(
        name="rivers",
        title="Ríos y drenajes",
        description="Red de drenaje con orden de Strahler (cartografía oficial o extraída del "
        "DEM).",
        table="hydrology_river",
        geometry_type="MultiLineString",
        properties=(
            _p("name", title="Nombre"),
            _p("strahler_order", "integer", title="Orden de Strahler"),
            _p("length_km", "number", title="Longitud (km)"),
            _p("source", title="Fuente"),
            _p("source_id", title="Identificador en la fuente"),
        ),
        label="name",
    ),
    Layer(
        name="water_intakes",
        title="Bocatomas",
        description="Captaciones de agua (bocatomas) y el municipio o acueducto que abastecen.",
        table="hydrology_waterintake",
        geometry_type="Point",
        properties=(
            _p("name", title="Nombre"),
            _p("serves_municipality", sql="t.serves_municipality_id", title="Municipio abastecido"),
            _p("aqueduct", title="Acueducto"),
            _p("source", title="Fuente"),
            _p("source_id", title="Identificador en la fuente"),
        ),
        label="name",
        min_zoom=6,
    ),
    Layer(
        name="districts",
        title="Distritos mineros",
        description="Distritos Mineros para la Diversificación Productiva con su límite vigente "
        "(la versión más reciente). Los borradores no son públicos.",
        table="delimitation_district_current",
        id_column="code",
        id_type="string",
        geometry_type="MultiPolygon",
        properties=(
            _p("code", title="Código"),
            _p("name", title="Nombre"),
            _p("type", title="Tipo"),
            _p("status", title="Estado"),
            _p("description", title="Descripción"),
            _p("version", "integer", title="Versión del límite"),
            _p("area_ha", "number", title="Área (ha)"),
            _p("source", title="Origen del límite"),
            _p("author", title="Autor del límite"),
            _p("version_at", "datetime", title="Fecha del límite"),
            _p("last_act", title="Último acto administrativo"),
            _p("revision", "integer", title="Revisión"),
        ),
        edit_roles=frozenset({ANALYST, COORDINATOR, ADMIN}),
        # Drafts are an analyst's working material: anonymous readers and tiles never see them.
        public_filter="t.status <> 'draft'",
        label="name",
        label_min_zoom=6,
        editor="delimitation.editing:DistrictEditor",
        # A view: writes to these tables change the layer (tile cache revisions).
        source_tables=(
            "delimitation_district",
            "delimitation_boundaryversion",
            "delimitation_administrativeact",
        ),
    ),
    Layer(
        name="plan_actions",
        title="Acciones del Plan Estratégico de Gestión",
        description="Acciones de los planes estratégicos de los distritos con su alcance "
        "espacial (distrito, unidades hidrográficas, municipios o geometría dibujada).",
        table="plan_action",
        geometry_type="Geometry",
        properties=(
            _p(
                "district",
                sql="(SELECT d.code FROM plan_strategicplan p JOIN "
                "delimitation_district d ON d.id = p.district_id WHERE p.id = t.plan_id)",
                title="Distrito",
            ),
            _p("code", title="Código"),
            _p("title", title="Título"),
            _p("component", title="Componente"),
            _p("purposes", sql="array_to_string(t.purposes, ',')", title="Propósitos"),
            _p(
                "responsible",
                sql="(SELECT o.name FROM plan_organisation o WHERE o.id = t.responsible_id)",
                title="Entidad responsable",
            ),
            _p("status", title="Estado"),
            _p("scope_kind", title="Alcance"),
            _p("start", "date", title="Inicio"),
            _p("end", "date", sql='t."end"', title="Fin"),
        ),
        # Only actions of published (approved or later) plans are public.
        public_filter="EXISTS (SELECT 1 FROM plan_strategicplan p WHERE p.id = t.plan_id "
        "AND p.status <> 'draft')",
        label="code",
        min_zoom=5,
        # Its attributes and public filter read these tables too (tile cache revisions).
        source_tables=(
            "plan_action",
            "plan_strategicplan",
            "delimitation_district",
            "plan_organisation",
        ),
    ),
    Layer(
        name="proposals",
        title="Propuestas de distrito",
        description="Alternativas de delimitación del motor de propuestas: uniones de unidades "
        "hidrográficas completas alrededor de la presión minera, con su puesto y puntaje. "
        "Material de trabajo: no se publica a lectores anónimos.",
        table="delimitation_proposal",
        geometry_type="MultiPolygon",
        properties=(
            _p("run_id", "integer", title="Ejecución"),
            _p("rank", "integer", title="Puesto"),
            _p("alternative", title="Alternativa"),
            _p("score", "number", title="Puntaje"),
            _p("area_ha", "number", title="Área (ha)"),
            _p("units", "integer", sql="cardinality(t.unit_ids)", title="Unidades"),
            _p(
                "consulta_previa_flag",
                "boolean",
                sql="(t.metrics->>'consulta_previa_flag')::boolean",
                title="Consulta previa",
            ),
        ),
        read_roles=STAFF,
        public_filter="FALSE",
        label="alternative",
        label_min_zoom=7,
    ),
)

_BY_NAME = {layer.name: layer for layer in LAYERS}


def all_layers() -> tuple[Layer, ...]:
    """Every registered layer, in registry order."""
    return LAYERS


def readable_layer(name: str, roles: frozenset[str], where: str = "layer") -> Layer:
    """The layer if these roles may read it: 404 for unknown names, 403 when not allowed."""
    layer = get_layer(name)
    if not layer.readable_by(roles):
        raise Forbidden(f"No tiene permiso para leer la capa '{layer.name}'.", where=where)
    return layer


def get_layer(name: str) -> Layer:
    """The layer called `name`, or a 404 naming the known layers."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise NotFound(
            f"Capa desconocida: '{name}'. Capas disponibles: " + ", ".join(_BY_NAME),
            where="layer",
        ) from None
