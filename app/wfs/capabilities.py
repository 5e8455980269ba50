"""GetCapabilities for WFS 2.0.0, 1.1.0 and 1.0.0, generated from the layer registry."""

from __future__ import annotations

from dataclasses import dataclass

from app.auth import Principal
from app.db import Database
from app.ogc.formats import by_name
from app.wfs.xml import attr, text
from geo.crs import COLOMBIA_LONLAT
from layers import queries
from layers.gml import NAMESPACE, PREFIX, urn
from layers.registry import Layer, all_layers

OTHER_SRIDS = (4326, 4686, 3116, 3857)
TITLE = "Distritos Mineros - Servicio WFS"
ABSTRACT = (
    "Capas de referencia, unidades hidrográficas y distritos mineros para la Diversificación "
    "Productiva (Artículo 231, Ley 2294 de 2023; Decreto 0977 de 2024). CRS de "
    "almacenamiento EPSG:9377 (MAGNA-SIRGAS / Origen-Nacional)."
)
COMPARISONS = (
    "PropertyIsEqualTo",
    "PropertyIsNotEqualTo",
    "PropertyIsLessThan",
    "PropertyIsGreaterThan",
    "PropertyIsLessThanOrEqualTo",
    "PropertyIsGreaterThanOrEqualTo",
    "PropertyIsLike",
    "PropertyIsNull",
    "PropertyIsBetween",
)
SPATIAL = ("BBOX", "Intersects", "Within", "Contains", "Disjoint", "Touches", "Overlaps")
GEOMETRY_OPERANDS = ("Envelope", "Point", "LineString", "Polygon", "MultiPolygon", "MultiSurface")


@dataclass(frozen=True)
class TypeInfo:
    """A feature type as listed: layer, WGS84 box, and whether this caller may edit it."""

    layer: Layer
    bbox: tuple[float, float, float, float]
    editable: bool


def feature_types(db: Database, principal: Principal) -> list[TypeInfo]:
    """Every layer the caller may read, with its extent."""
    infos = []
    with db.connection() as conn:
        for layer in all_layers():
            if not layer.readable_by(principal.roles):
                continue
            extent = queries.layer_extent(conn, layer) or COLOMBIA_LONLAT
            editable = principal.authenticated and layer.editable_by(principal.roles)
            infos.append(TypeInfo(layer, extent, editable))
    return infos


def capabilities(version: str, url: str, types: list[TypeInfo]) -> str:
    """The capabilities document of one version."""
    if version == "1.0.0":
        return _v100(url, types)
    return _v1x_v2(version, url, types)


def _dcp(url: str, ows: str = "ows") -> str:
    return (
        f"<{ows}:DCP><{ows}:HTTP><{ows}:Get xlink:href={attr(url + '?')}/>"
        f"<{ows}:Post xlink:href={attr(url)}/></{ows}:HTTP></{ows}:DCP>"
    )


def _values(name: str, values: tuple[str, ...] | list[str]) -> str:
    inner = "".join(f"<ows:Value>{text(v)}</ows:Value>" for v in values)
    return (
        f'<ows:Parameter name="{name}"><ows:AllowedValues>{inner}</ows:AllowedValues>'
        "</ows:Parameter>"
    )


def _constraint(name: str, value: str, tag: str = "ows:Constraint") -> str:
    return (
        f'<{tag} name="{name}"><ows:NoValues/><ows:DefaultValue>{value}</ows:DefaultValue></{tag}>'
    )


def _keywords(layer: Layer) -> str:
    words = layer.keywords or (layer.name, "distritos mineros")
    return (
        "<ows:Keywords>"
        + "".join(f"<ows:Keyword>{text(w)}</ows:Keyword>" for w in words)
        + "</ows:Keywords>"
    )


def _v1x_v2(version: str, url: str, types: list[TypeInfo]) -> str:
    v2 = version == "2.0.0"
    wfs_ns = "http://www.opengis.net/wfs/2.0" if v2 else "http://www.opengis.net/wfs"
    ows_ns = "http://www.opengis.net/ows/1.1" if v2 else "http://www.opengis.net/ows"
    gml_ns = "http://www.opengis.net/gml/3.2" if v2 else "http://www.opengis.net/gml"
    formats = [by_name(n).media_type for n in ("gml32", "gml311", "gml2", "geojson")]
    if not v2:
        formats = [by_name(n).media_type for n in ("gml311", "gml2", "geojson", "gml32")]
    transactional = any(t.editable for t in types)
    operations = [
        f'<ows:Operation name="GetCapabilities">{_dcp(url)}'
        + _values("AcceptVersions", ["2.0.0", "1.1.0", "1.0.0"])
        + _values("AcceptFormats", ["text/xml"])
        + "</ows:Operation>",
        f'<ows:Operation name="DescribeFeatureType">{_dcp(url)}'
        + _values("outputFormat", [formats[0]])
        + "</ows:Operation>",
        f'<ows:Operation name="GetFeature">{_dcp(url)}'
        + _values("resultType", ["results", "hits"])
        + _values("outputFormat", formats)
        + "</ows:Operation>",
    ]
    if v2:
        operations.append(
            f'<ows:Operation name="ListStoredQueries">{_dcp(url)}</ows:Operation>'
            f'<ows:Operation name="DescribeStoredQueries">{_dcp(url)}</ows:Operation>'
        )
    if transactional:
        operations.append(
            f'<ows:Operation name="Transaction">{_dcp(url)}'
            + _values("inputFormat", [formats[0]])
            + _values("idgen", ["GenerateNew"])
            + "</ows:Operation>"
        )
    constraints = ""
    if v2:
        flags = {
            "ImplementsBasicWFS": "TRUE",
            "ImplementsTransactionalWFS": "TRUE" if transactional else "FALSE",
            "ImplementsLockingWFS": "FALSE",
            "KVPEncoding": "TRUE",
            "XMLEncoding": "TRUE",
            "SOAPEncoding": "FALSE",
            "ImplementsInheritance": "FALSE",
            "ImplementsRemoteResolve": "FALSE",
            "ImplementsResultPaging": "TRUE",
            "ImplementsStandardJoins": "FALSE",
            "ImplementsSpatialJoins": "FALSE",
            "ImplementsTemporalJoins": "FALSE",
            "ImplementsFeatureVersioning": "FALSE",
            "ManageStoredQueries": "FALSE",
        }
        constraints = "".join(_constraint(k, v) for k, v in flags.items())
        constraints += (
            '<ows:Constraint name="QueryExpressions"><ows:AllowedValues>'
            "<ows:Value>wfs:Query</ows:Value></ows:AllowedValues></ows:Constraint>"
        )
    feature_types = []
    for info in types:
        layer = info.layer
        minx, miny, maxx, maxy = info.bbox
        crs_tag, other_tag = ("DefaultCRS", "OtherCRS") if v2 else ("DefaultSRS", "OtherSRS")
        other = "".join(f"<wfs:{other_tag}>{urn(s)}</wfs:{other_tag}>" for s in OTHER_SRIDS)
        outputs = "".join(f"<wfs:Format>{text(f)}</wfs:Format>" for f in formats)
        ops = ""
        if info.editable and not v2:
            ops = (
                "<wfs:Operations><wfs:Operation>Query</wfs:Operation><wfs:Operation>Insert"
                "</wfs:Operation><wfs:Operation>Update</wfs:Operation><wfs:Operation>Delete"
                "</wfs:Operation></wfs:Operations>"
            )
        feature_types.append(
            f"<wfs:FeatureType><wfs:Name>{PREFIX}:{layer.name}</wfs:Name>"
            f"<wfs:Title>{text(layer.title)}</wfs:Title>"
            f"<wfs:Abstract>{text(layer.description)}</wfs:Abstract>{_keywords(layer)}"
            f"<wfs:{crs_tag}>{urn(layer.srid)}</wfs:{crs_tag}>{other}{ops}"
            f"<wfs:OutputFormats>{outputs}</wfs:OutputFormats>"
            f"<ows:WGS84BoundingBox><ows:LowerCorner>{minx} {miny}</ows:LowerCorner>"
            f"<ows:UpperCorner>{maxx} {maxy}</ows:UpperCorner></ows:WGS84BoundingBox>"
            "</wfs:FeatureType>"
        )
    filter_caps = _filter_caps_v2() if v2 else _filter_caps_v11()
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<wfs:WFS_Capabilities version="{version}" xmlns:wfs="{wfs_ns}" xmlns:ows="{ows_ns}" '
        f'xmlns:gml="{gml_ns}" xmlns:fes="http://www.opengis.net/fes/2.0" '
        'xmlns:ogc="http://www.opengis.net/ogc" xmlns:xlink="http://www.w3.org/1999/xlink" '
        f'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:{PREFIX}="{NAMESPACE}" '
        f'xsi:schemaLocation="{wfs_ns} '
        + (
            "http://schemas.opengis.net/wfs/2.0/wfs.xsd"
            if v2
            else "http://schemas.opengis.net/wfs/1.1.0/wfs.xsd"
        )
        + '" xml:lang="es-CO">'
        f"<ows:ServiceIdentification><ows:Title>{text(TITLE)}</ows:Title>"
        f"<ows:Abstract>{text(ABSTRACT)}</ows:Abstract>"
        "<ows:Keywords><ows:Keyword>minería</ows:Keyword><ows:Keyword>distritos mineros"
        "</ows:Keyword><ows:Keyword>Colombia</ows:Keyword></ows:Keywords>"
        f"<ows:ServiceType>WFS</ows:ServiceType><ows:ServiceTypeVersion>{version}"
        "</ows:ServiceTypeVersion><ows:Fees>NINGUNA</ows:Fees>"
        "<ows:AccessConstraints>Edición solo para usuarios autorizados</ows:AccessConstraints>"
        "</ows:ServiceIdentification>"
        "<ows:ServiceProvider><ows:ProviderName>Ministerio de Minas y Energía</ows:ProviderName>"
        "<ows:ServiceContact><ows:ContactInfo><ows:Address><ows:Country>Colombia</ows:Country>"
        "</ows:Address></ows:ContactInfo></ows:ServiceContact></ows:ServiceProvider>"
        f"<ows:OperationsMetadata>{''.join(operations)}{constraints}</ows:OperationsMetadata>"
        f"<wfs:FeatureTypeList>{''.join(feature_types)}</wfs:FeatureTypeList>"
        f"{filter_caps}</wfs:WFS_Capabilities>"
    )


def _filter_caps_v2() -> str:
    conformance = {
        "ImplementsQuery": "TRUE",
        "ImplementsAdHocQuery": "TRUE",
        "ImplementsFunctions": "FALSE",
        "ImplementsResourceId": "TRUE",
        "ImplementsMinStandardFilter": "TRUE",
        "ImplementsStandardFilter": "TRUE",
        "ImplementsMinSpatialFilter": "TRUE",
        "ImplementsSpatialFilter": "TRUE",
        "ImplementsMinTemporalFilter": "FALSE",
        "ImplementsTemporalFilter": "FALSE",
        "ImplementsVersionNav": "FALSE",
        "ImplementsSorting": "TRUE",
        "ImplementsExtendedOperators": "FALSE",
        "ImplementsMinimumXPath": "FALSE",
        "ImplementsSchemaElementFunc": "FALSE",
    }
    return (
        "<fes:Filter_Capabilities><fes:Conformance>"
        + "".join(_constraint(k, v, "fes:Constraint") for k, v in conformance.items())
        + '</fes:Conformance><fes:Id_Capabilities><fes:ResourceIdentifier name="fes:ResourceId"/>'
        "</fes:Id_Capabilities><fes:Scalar_Capabilities><fes:LogicalOperators/>"
        "<fes:ComparisonOperators>"
        + "".join(f'<fes:ComparisonOperator name="{c}"/>' for c in COMPARISONS)
        + "</fes:ComparisonOperators></fes:Scalar_Capabilities><fes:Spatial_Capabilities>"
        "<fes:GeometryOperands>"
        + "".join(f'<fes:GeometryOperand name="gml:{g}"/>' for g in GEOMETRY_OPERANDS)
        + "</fes:GeometryOperands><fes:SpatialOperators>"
        + "".join(f'<fes:SpatialOperator name="{s}"/>' for s in SPATIAL)
        + '<fes:SpatialOperator name="DWithin"/><fes:SpatialOperator name="Beyond"/>'
        "</fes:SpatialOperators></fes:Spatial_Capabilities></fes:Filter_Capabilities>"
    )


def _filter_caps_v11() -> str:
    comparisons = ("EqualTo", "NotEqualTo", "LessThan", "GreaterThan", "LessThanEqualTo")
    comparisons += ("GreaterThanEqualTo", "Like", "Between", "NullCheck")
    return (
        "<ogc:Filter_Capabilities><ogc:Spatial_Capabilities><ogc:GeometryOperands>"
        + "".join(f"<ogc:GeometryOperand>gml:{g}</ogc:GeometryOperand>" for g in GEOMETRY_OPERANDS)
        + "</ogc:GeometryOperands><ogc:SpatialOperators>"
        + "".join(f'<ogc:SpatialOperator name="{s}"/>' for s in SPATIAL)
        + '<ogc:SpatialOperator name="DWithin"/><ogc:SpatialOperator name="Beyond"/>'
        "</ogc:SpatialOperators></ogc:Spatial_Capabilities><ogc:Scalar_Capabilities>"
        "<ogc:LogicalOperators/><ogc:ComparisonOperators>"
        + "".join(f"<ogc:ComparisonOperator>{c}</ogc:ComparisonOperator>" for c in comparisons)
        + "</ogc:ComparisonOperators></ogc:Scalar_Capabilities><ogc:Id_Capabilities>"
        "<ogc:EID/><ogc:FID/></ogc:Id_Capabilities></ogc:Filter_Capabilities>"
    )


def _v100(url: str, types: list[TypeInfo]) -> str:
    def dcp() -> str:
        return (
            f"<DCPType><HTTP><Get onlineResource={attr(url + '?')}/></HTTP></DCPType>"
            f"<DCPType><HTTP><Post onlineResource={attr(url)}/></HTTP></DCPType>"
        )

    transactional = any(t.editable for t in types)
    transaction = f"<Transaction>{dcp()}</Transaction>" if transactional else ""
    items = []
    for info in types:
        minx, miny, maxx, maxy = info.bbox
        ops = (
            "<Operations><Query/><Insert/><Update/><Delete/></Operations>" if info.editable else ""
        )
        items.append(
            f"<FeatureType><Name>{PREFIX}:{info.layer.name}</Name>"
            f"<Title>{text(info.layer.title)}</Title>"
            f"<Abstract>{text(info.layer.description)}</Abstract>"
            f"<SRS>EPSG:{info.layer.srid}</SRS>{ops}"
            f'<LatLongBoundingBox minx="{minx}" miny="{miny}" maxx="{maxx}" maxy="{maxy}"/>'
            "</FeatureType>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<WFS_Capabilities version="1.0.0" xmlns="http://www.opengis.net/wfs" '
        f'xmlns:ogc="http://www.opengis.net/ogc" xmlns:{PREFIX}="{NAMESPACE}">'
        f"<Service><Name>WFS</Name><Title>{text(TITLE)}</Title>"
        f"<Abstract>{text(ABSTRACT)}</Abstract><OnlineResource>{text(url)}</OnlineResource>"
        "<Fees>NINGUNA</Fees><AccessConstraints>NINGUNA</AccessConstraints></Service>"
        "<Capability><Request>"
        f"<GetCapabilities>{dcp()}</GetCapabilities>"
        "<DescribeFeatureType><SchemaDescriptionLanguage><XMLSCHEMA/>"
        f"</SchemaDescriptionLanguage>{dcp()}</DescribeFeatureType>"
        f"<GetFeature><ResultFormat><GML2/><GML3/><GeoJSON/></ResultFormat>{dcp()}</GetFeature>"
        f"{transaction}</Request></Capability>"
        "<FeatureTypeList><Operations><Query/></Operations>" + "".join(items) + "</FeatureTypeList>"
        "<ogc:Filter_Capabilities><ogc:Spatial_Capabilities><ogc:Spatial_Operators><ogc:BBOX/>"
        "<ogc:Intersect/><ogc:Within/><ogc:Contains/><ogc:Disjoint/><ogc:DWithin/>"
        "</ogc:Spatial_Operators></ogc:Spatial_Capabilities><ogc:Scalar_Capabilities>"
        "<ogc:Logical_Operators/><ogc:Comparison_Operators><ogc:Simple_Comparisons/><ogc:Like/>"
        "<ogc:Between/><ogc:NullCheck/></ogc:Comparison_Operators></ogc:Scalar_Capabilities>"
        "</ogc:Filter_Capabilities></WFS_Capabilities>"
    )
