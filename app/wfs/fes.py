"""FES 2.0 and Filter 1.1/1.0 XML to the shared filter AST (pygeofilter nodes).

Geometries stay GML (PostGIS parses them) with their CRS and axis order resolved here, so the
one translator in `layers.filtering` turns both CQL2 and FES into parameterised SQL.
"""

from __future__ import annotations

import re

from lxml import etree
from pygeofilter import ast

from app.wfs.xml import local, parse_xml
from geo.errors import InvalidInput
from layers.filtering import GmlGeometry, ResourceIds
from layers.gml import SrsName, parse_srs_name

_COMPARISONS = {
    "PropertyIsEqualTo": ast.Equal,
    "PropertyIsNotEqualTo": ast.NotEqual,
    "PropertyIsLessThan": ast.LessThan,
    "PropertyIsLessThanOrEqualTo": ast.LessEqual,
    "PropertyIsGreaterThan": ast.GreaterThan,
    "PropertyIsGreaterThanOrEqualTo": ast.GreaterEqual,
}
_SPATIAL = {
    "Intersects": ast.GeometryIntersects,
    "Intersect": ast.GeometryIntersects,
    "Within": ast.GeometryWithin,
    "Contains": ast.GeometryContains,
    "Disjoint": ast.GeometryDisjoint,
    "Touches": ast.GeometryTouches,
    "Crosses": ast.GeometryCrosses,
    "Overlaps": ast.GeometryOverlaps,
    "Equals": ast.GeometryEquals,
}
_ID_ELEMENTS = {"ResourceId", "FeatureId", "GmlObjectId"}
_GML_NAMESPACES = {"http://www.opengis.net/gml", "http://www.opengis.net/gml/3.2"}
_NUMBERS = re.compile(r"[-+0-9.eE]+")


def parse_filter(
    source: str | bytes | etree._Element, default_srs: SrsName, xy_only: bool = False
) -> object:
    """A filter document or element as an AST (ResourceIds for pure id filters).

    `xy_only`: WFS 1.0.0 requests are always x/y (east/north), whatever the srsName says;
    QGIS writes its 1.0.0 transactions that way.
    """
    element = (
        parse_xml(source.encode() if isinstance(source, str) else source)
        if not isinstance(source, etree._Element)
        else source
    )
    if local(element) != "Filter":
        raise InvalidInput("Se esperaba un elemento Filter.", where="FILTER")
    children = list(element)
    if not children:
        raise InvalidInput("Filtro vacío.", where="FILTER")
    if all(local(c) in _ID_ELEMENTS for c in children):
        return ResourceIds(tuple(feature_id(c) for c in children))
    return _FilterReader(default_srs, xy_only).node(children[0])


def feature_id(element: etree._Element) -> str:
    """The id a ResourceId/FeatureId/GmlObjectId names (still with its layer prefix)."""
    for key, value in element.attrib.items():
        if etree.QName(key).localname in ("rid", "fid", "id"):
            return value
    raise InvalidInput(f"{local(element)} sin identificador.", where="FILTER")


def bare_name(name: str) -> str:
    """`dm:area_ha` or `dm:layer/dm:area_ha` -> `area_ha`."""
    return name.strip().rpartition("/")[2].rpartition(":")[2]


class _FilterReader:
    def __init__(self, default_srs: SrsName, xy_only: bool) -> None:
        self.default_srs = default_srs
        self.xy_only = xy_only

    def node(self, element: etree._Element) -> object:  # noqa: C901 - one branch per operator
        name = local(element)
        children = list(element)
        if name in ("And", "Or"):
            if len(children) < 2:
                raise InvalidInput(f"{name} necesita al menos dos operandos.", where="FILTER")
            nodes = [self.node(c) for c in children]
            combined = nodes[0]
            for other in nodes[1:]:
                combined = (ast.And if name == "And" else ast.Or)(combined, other)
            return combined
        if name == "Not":
            return ast.Not(self.node(children[0]))
        if name in _COMPARISONS:
            lhs, rhs = (self.expression(c) for c in children[:2])
            return _COMPARISONS[name](lhs, rhs)
        if name == "PropertyIsLike":
            lhs, pattern = (self.expression(c) for c in children[:2])
            escape = element.get("escapeChar") or element.get("escape") or "\\"
            return ast.Like(
                lhs,
                str(pattern),
                nocase=element.get("matchCase", "true").lower() == "false",
                wildcard=element.get("wildCard", "*"),
                singlechar=element.get("singleChar", "."),
                escapechar=escape,
                not_=False,
            )
        if name in ("PropertyIsNull", "PropertyIsNil"):
            return ast.IsNull(self.expression(children[0]), not_=False)
        if name == "PropertyIsBetween":
            lhs = self.expression(children[0])
            bounds = {local(c): self.expression(list(c)[0]) for c in children[1:]}
            return ast.Between(lhs, bounds["LowerBoundary"], bounds["UpperBoundary"], False)
        if name == "BBOX":
            prop = [c for c in children if local(c) in ("PropertyName", "ValueReference")]
            box = [c for c in children if local(c) not in ("PropertyName", "ValueReference")]
            lhs = ast.Attribute(bare_name(prop[0].text or "")) if prop else ast.Attribute("geom")
            return ast.GeometryIntersects(lhs, self.geometry(box[0]))
        if name in _SPATIAL:
            lhs = self.expression(children[0])
            return _SPATIAL[name](lhs, self.geometry(children[1]))
        if name in ("DWithin", "Beyond"):
            lhs = self.expression(children[0])
            geometry = self.geometry(children[1])
            distance = children[2]
            units = distance.get("uom") or distance.get("units") or "m"
            node_type = ast.DistanceWithin if name == "DWithin" else ast.DistanceBeyond
            return node_type(lhs, geometry, float(distance.text), units)
        if name in _ID_ELEMENTS:
            return ResourceIds((feature_id(element),))
        raise InvalidInput(f"Operador de filtro no soportado: {name}", where="FILTER")

    def expression(self, element: etree._Element) -> object:
        name = local(element)
        if name in ("PropertyName", "ValueReference"):
            return ast.Attribute(bare_name(element.text or ""))
        if name == "Literal":
            inner = list(element)
            if inner:
                return self.geometry(inner[0])
            return element.text or ""
        if etree.QName(element).namespace in _GML_NAMESPACES:
            return self.geometry(element)
        raise InvalidInput(f"Expresión no soportada: {name}", where="FILTER")

    def geometry(self, element: etree._Element) -> GmlGeometry:
        return read_gml_geometry(element, self.default_srs, self.xy_only)


def read_gml_geometry(
    element: etree._Element, default_srs: SrsName, xy_only: bool = False
) -> GmlGeometry:
    """A GML geometry (or Envelope/Box) with its srsName resolved to code and axis order."""
    if etree.QName(element).namespace not in _GML_NAMESPACES:
        raise InvalidInput(f"Se esperaba una geometría GML, no {local(element)}.", where="gml")
    srs_text = next(
        (e.get("srsName") for e in element.iter() if isinstance(e.tag, str) and e.get("srsName")),
        None,
    )
    srs = parse_srs_name(srs_text) if srs_text else default_srs
    flip = srs.flip and not xy_only
    if local(element) in ("Envelope", "Box"):
        return GmlGeometry(_envelope_polygon(element), srs.srid, flip)
    copy = etree.fromstring(etree.tostring(element))
    for node in copy.iter():
        if isinstance(node.tag, str):
            # PostGIS would apply its own axis rules to srsName; ours are already resolved.
            node.attrib.pop("srsName", None)
    return GmlGeometry(etree.tostring(copy).decode(), srs.srid, flip)


def _envelope_polygon(element: etree._Element) -> str:
    numbers: list[float] = []
    for node in element.iter():
        if not isinstance(node.tag, str) or not node.text:
            continue
        if local(node) in ("lowerCorner", "upperCorner", "pos", "coordinates", "X", "Y"):
            numbers.extend(float(v) for v in _NUMBERS.findall(node.text.replace(",", " ")))
    if len(numbers) != 4:
        raise InvalidInput("Envelope/Box mal formado (se esperan dos esquinas).", where="BBOX")
    x1, y1, x2, y2 = numbers
    ring = f"{x1} {y1} {x2} {y1} {x2} {y2} {x1} {y2} {x1} {y1}"
    return (
        '<gml:Polygon xmlns:gml="http://www.opengis.net/gml"><gml:exterior><gml:LinearRing>'
        f"<gml:posList>{ring}</gml:posList></gml:LinearRing></gml:exterior></gml:Polygon>"
    )
