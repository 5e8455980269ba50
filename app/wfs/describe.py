"""DescribeFeatureType: one self-contained XML Schema for the requested feature types."""

from __future__ import annotations

from layers.gml import NAMESPACE, PREFIX
from layers.registry import Layer

XSD_TYPES = {
    "string": "xsd:string",
    "integer": "xsd:long",
    "number": "xsd:double",
    "boolean": "xsd:boolean",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
}
_GML3_GEOMETRY = {
    "Point": "gml:PointPropertyType",
    "MultiPoint": "gml:MultiPointPropertyType",
    "LineString": "gml:CurvePropertyType",
    "MultiLineString": "gml:MultiCurvePropertyType",
    "Polygon": "gml:SurfacePropertyType",
    "MultiPolygon": "gml:MultiSurfacePropertyType",
    "Geometry": "gml:GeometryPropertyType",
}
_GML2_GEOMETRY = {
    "Point": "gml:PointPropertyType",
    "MultiPoint": "gml:MultiPointPropertyType",
    "LineString": "gml:LineStringPropertyType",
    "MultiLineString": "gml:MultiLineStringPropertyType",
    "Polygon": "gml:PolygonPropertyType",
    "MultiPolygon": "gml:MultiPolygonPropertyType",
    "Geometry": "gml:GeometryPropertyType",
}


def schema(layers: list[Layer], version: str) -> str:
    """An XSD declaring each layer's element, attributes and exact geometry type."""
    if version == "2.0.0":
        gml_ns, location = "http://www.opengis.net/gml/3.2", "3.2.1/gml.xsd"
        base, group, geometries = "gml:AbstractFeatureType", "gml:AbstractFeature", _GML3_GEOMETRY
    elif version == "1.1.0":
        gml_ns, location = "http://www.opengis.net/gml", "3.1.1/base/gml.xsd"
        base, group, geometries = "gml:AbstractFeatureType", "gml:_Feature", _GML3_GEOMETRY
    else:
        gml_ns, location = "http://www.opengis.net/gml", "2.1.2/feature.xsd"
        base, group, geometries = "gml:AbstractFeatureType", "gml:_Feature", _GML2_GEOMETRY
    types = []
    for layer in layers:
        elements = "".join(
            f'<xsd:element name="{p.name}" type="{XSD_TYPES[p.type]}" minOccurs="0" '
            'maxOccurs="1" nillable="true"/>'
            for p in layer.properties
        )
        geometry = geometries[layer.geometry_type]
        types.append(
            f'<xsd:complexType name="{layer.name}Type"><xsd:complexContent>'
            f'<xsd:extension base="{base}"><xsd:sequence>{elements}'
            f'<xsd:element name="geom" type="{geometry}" minOccurs="0" maxOccurs="1" '
            'nillable="true"/></xsd:sequence></xsd:extension></xsd:complexContent>'
            "</xsd:complexType>"
            f'<xsd:element name="{layer.name}" type="{PREFIX}:{layer.name}Type" '
            f'substitutionGroup="{group}"/>'
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<xsd:schema xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
        f'xmlns:gml="{gml_ns}" xmlns:{PREFIX}="{NAMESPACE}" targetNamespace="{NAMESPACE}" '
        'elementFormDefault="qualified" version="1.0">'
        f'<xsd:import namespace="{gml_ns}" '
        f'schemaLocation="http://schemas.opengis.net/gml/{location}"/>'
        + "".join(types)
        + "</xsd:schema>"
    )
