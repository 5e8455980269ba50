"""WFS requests, KVP or XML, normalised into small dataclasses before anything runs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from lxml import etree
from pygeofilter import ast

from app.auth import Principal
from app.wfs.fes import bare_name, feature_id, parse_filter
from app.wfs.xml import local
from geo.errors import DomainError, InvalidInput
from layers.filtering import GmlGeometry, ResourceIds
from layers.gml import SrsName, parse_srs_name, urn
from layers.registry import Layer, readable_layer

VERSIONS = ("2.0.0", "1.1.0", "1.0.0")


class MissingParameter(DomainError):
    """A mandatory WFS parameter is absent."""

    status = 400
    code = "MissingParameterValue"
    title = "Falta un parámetro"


class NotSupported(DomainError):
    """An operation or option this service does not offer."""

    status = 400
    code = "OperationNotSupported"
    title = "Operación no soportada"


@dataclass
class TypeQuery:
    """One feature type of a GetFeature with its own filter, properties and order."""

    layer: Layer
    filter: object | None = None
    properties: tuple[str, ...] | None = None
    sortby: tuple[tuple[str, bool], ...] = ()
    srs: SrsName | None = None


@dataclass
class GetFeatureRequest:
    """A parsed GetFeature."""

    version: str
    queries: list[TypeQuery]
    count: int | None = None
    start: int = 0
    hits: bool = False
    output_format: str | None = None
    srs: SrsName | None = None
    kvp: dict[str, str] = field(default_factory=dict)


def negotiate_version(value: str | None, accept: str | None = None) -> str:
    """The version to answer in: the requested one, else the best accepted, else 2.0.0."""
    if value:
        if value.startswith("2"):
            return "2.0.0"
        if value.startswith("1.1"):
            return "1.1.0"
        if value.startswith("1.0"):
            return "1.0.0"
        raise InvalidInput(f"Versión WFS no soportada: {value}", where="VERSION")
    for candidate in (accept or "").split(","):
        if candidate.strip() in VERSIONS:
            return candidate.strip()
    return "2.0.0"


def default_srs(layer: Layer, version: str) -> SrsName:
    """The default CRS of a feature type: URN (authority axes) in 1.1/2.0, EPSG:n in 1.0."""
    if version == "1.0.0":
        return parse_srs_name(f"EPSG:{layer.srid}")
    return parse_srs_name(urn(layer.srid))


def readable(typename: str, principal: Principal) -> Layer:
    """The layer behind a type name (`dm:name` or `name`) if the caller may read it."""
    return readable_layer(bare_name(typename), principal.roles, where="TYPENAMES")


def split_ids(ids: list[str]) -> dict[str, list[str]]:
    """`layer.pk` ids grouped by layer name."""
    grouped: dict[str, list[str]] = {}
    for value in ids:
        name, dot, pk = value.strip().rpartition(".")
        if not dot or not name:
            raise InvalidInput(
                f"Identificador inválido: '{value}' (se espera capa.id).", where="RESOURCEID"
            )
        grouped.setdefault(bare_name(name), []).append(pk)
    return grouped


def parse_sortby(text: str) -> tuple[tuple[str, bool], ...]:
    """`name ASC,area_ha DESC` (2.0) or `name A,area_ha D` (1.1)."""
    keys = []
    for part in text.split(","):
        tokens = part.split()
        if not tokens:
            continue
        desc = len(tokens) > 1 and tokens[1].upper() in ("DESC", "D")
        keys.append((bare_name(tokens[0]), desc))
    return tuple(keys)


def _property_lists(text: str, count: int) -> list[tuple[str, ...] | None]:
    groups = [g.strip("()") for g in text.split(")(")] if text.startswith("(") else [text]
    lists = [tuple(bare_name(p) for p in g.split(",") if p.strip()) for g in groups]
    return (lists + [lists[-1]] * count)[:count] if lists else [None] * count


def _positive(value: str | None, name: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except ValueError:
        raise InvalidInput(f"{name} debe ser un entero: '{value}'", where=name) from None
    if number < 0:
        raise InvalidInput(f"{name} no puede ser negativo.", where=name)
    return number


def _for_version(srs: SrsName, version: str) -> SrsName:
    """WFS 1.0.0 is always x/y (east/north), whatever the CRS name says."""
    return replace(srs, flip=False) if version == "1.0.0" else srs


def _bbox_filter(text: str, srs: SrsName, version: str) -> GmlGeometry:
    parts = text.split(",")
    crs_text = parts[4] if len(parts) == 5 else ",".join(parts[4:]) if len(parts) > 5 else None
    try:
        x1, y1, x2, y2 = (float(v) for v in parts[:4])
    except ValueError:
        raise InvalidInput(f"BBOX inválido: '{text}'", where="BBOX") from None
    box_srs = _for_version(parse_srs_name(crs_text), version) if crs_text else srs
    ring = f"{x1} {y1} {x2} {y1} {x2} {y2} {x1} {y2} {x1} {y1}"
    gml = (
        '<gml:Polygon xmlns:gml="http://www.opengis.net/gml"><gml:exterior><gml:LinearRing>'
        f"<gml:posList>{ring}</gml:posList></gml:LinearRing></gml:exterior></gml:Polygon>"
    )
    return GmlGeometry(gml, box_srs.srid, box_srs.flip)


def _and(first: object | None, second: object | None) -> object | None:
    if first is None:
        return second
    if second is None:
        return first
    return ast.And(first, second)


def getfeature_from_kvp(
    params: Mapping[str, str], version: str, principal: Principal
) -> GetFeatureRequest:
    """A GetFeature from KVP parameters (keys upper-cased)."""
    names = params.get("TYPENAMES") or params.get("TYPENAME")
    ids_text = params.get("RESOURCEID") or params.get("FEATUREID")
    ids = split_ids(ids_text.split(",")) if ids_text else {}
    typenames = [n for n in names.split(",") if n.strip()] if names else list(ids)
    if not typenames:
        raise MissingParameter("Falta el parámetro TYPENAMES.", where="TYPENAMES")
    layers = [readable(n, principal) for n in typenames]
    srs_text = params.get("SRSNAME")
    srs = _for_version(parse_srs_name(srs_text), version) if srs_text else None
    props = _property_lists(params.get("PROPERTYNAME", ""), len(layers))
    filters: list[object | None] = [None] * len(layers)
    # OWSLib (0.35) sends a WFS 2.0 KVP filter as QUERY=<fes:Filter ...>.
    texts = params.get("FILTER") or (
        params["QUERY"] if "Filter" in params.get("QUERY", "")[:200] else None
    )
    if texts:
        parts = [f"<{p}" for p in texts.split("(<")[1:]] if texts.startswith("(") else [texts]
        parts = [p[:-1] if p.endswith(")") and len(parts) > 1 else p for p in parts]
        for i, layer in enumerate(layers):
            text = parts[min(i, len(parts) - 1)]
            filters[i] = parse_filter(text, srs or default_srs(layer, version), version == "1.0.0")
    if params.get("BBOX"):
        for i, layer in enumerate(layers):
            box = _bbox_filter(params["BBOX"], srs or parse_srs_name(f"EPSG:{layer.srid}"), version)
            filters[i] = _and(filters[i], ast.GeometryIntersects(ast.Attribute("geom"), box))
    if ids:
        for i, layer in enumerate(layers):
            own = tuple(f"{layer.name}.{pk}" for pk in ids.get(layer.name, ()))
            filters[i] = _and(filters[i], ResourceIds(own))
    sortby = parse_sortby(params.get("SORTBY", ""))
    count = _positive(params.get("COUNT") or params.get("MAXFEATURES"), "COUNT")
    return GetFeatureRequest(
        version=version,
        queries=[
            TypeQuery(layer, filters[i], _non_empty(props[i]), sortby, srs)
            for i, layer in enumerate(layers)
        ],
        count=count,
        start=_positive(params.get("STARTINDEX"), "STARTINDEX") or 0,
        hits=params.get("RESULTTYPE", "results").lower() == "hits",
        output_format=params.get("OUTPUTFORMAT"),
        srs=srs,
        kvp=dict(params),
    )


def _non_empty(props: tuple[str, ...] | None) -> tuple[str, ...] | None:
    return props or None


def getfeature_from_xml(
    root: etree._Element, version: str, principal: Principal
) -> GetFeatureRequest:
    """A GetFeature from its XML encoding (wfs:Query children)."""
    queries = []
    first_srs = None
    for query in (c for c in root if isinstance(c.tag, str) and local(c) == "Query"):
        names = query.get("typeNames") or query.get("typeName") or ""
        srs_text = query.get("srsName")
        srs = _for_version(parse_srs_name(srs_text), version) if srs_text else None
        first_srs = first_srs or srs
        for name in names.split():
            layer = readable(name, principal)
            props, sortby, node = [], [], None
            for child in query:
                if not isinstance(child.tag, str):
                    continue
                kind = local(child)
                if kind == "PropertyName":
                    props.append(bare_name(child.text or ""))
                elif kind == "Filter":
                    node = parse_filter(
                        child, srs or default_srs(layer, version), version == "1.0.0"
                    )
                elif kind == "SortBy":
                    for prop in child:
                        fields = {local(e): (e.text or "").strip() for e in prop}
                        field_name = fields.get("ValueReference") or fields.get("PropertyName")
                        desc = fields.get("SortOrder", "ASC").upper() in ("DESC", "D")
                        sortby.append((bare_name(field_name or ""), desc))
            queries.append(TypeQuery(layer, node, tuple(props) or None, tuple(sortby), srs))
    if not queries:
        raise MissingParameter("GetFeature sin wfs:Query.", where="Query")
    count = _positive(root.get("count") or root.get("maxFeatures"), "count")
    return GetFeatureRequest(
        version=version,
        queries=queries,
        count=count,
        start=_positive(root.get("startIndex"), "startIndex") or 0,
        hits=(root.get("resultType") or "results").lower() == "hits",
        output_format=root.get("outputFormat"),
        srs=first_srs,
    )


def id_of(element: etree._Element) -> str:
    """Re-export for transactions: the id named by an id element."""
    return feature_id(element)
