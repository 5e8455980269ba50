"""Landing page, conformance, collection descriptions and queryables from the registry."""

from __future__ import annotations

from psycopg import Connection

from app.ogc.items import CRS84, temporal_property
from geo.crs import COLOMBIA_LONLAT, crs_uri
from layers import queries
from layers.registry import Layer

GEOJSON = "application/geo+json"
JSON = "application/json"
HTML = "text/html"
OUTPUT_CRS = (CRS84, *(crs_uri(s) for s in (9377, 4326, 4686, 3116, 3857)))
CONFORMANCE = (
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/update",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/features",
)
_JSON_TYPES = {
    "string": {"type": "string"},
    "integer": {"type": "integer"},
    "number": {"type": "number"},
    "boolean": {"type": "boolean"},
    "date": {"type": "string", "format": "date"},
    "datetime": {"type": "string", "format": "date-time"},
}


def landing(base: str) -> dict:
    """The landing page with its service-desc, service-doc, conformance and data links."""
    return {
        "title": "Distritos Mineros - OGC API Features",
        "description": "Capas de los Distritos Mineros para la Diversificación Productiva "
        "(Art. 231, Ley 2294 de 2023; Decreto 0977 de 2024), con filtros CQL2 y edición.",
        "links": [
            {"rel": "self", "type": JSON, "title": "Esta página", "href": f"{base}/ogc"},
            {"rel": "alternate", "type": HTML, "title": "En HTML", "href": f"{base}/ogc?f=html"},
            {
                "rel": "service-desc",
                "type": "application/vnd.oai.openapi+json;version=3.0",
                "title": "Definición OpenAPI",
                "href": f"{base}/openapi.json",
            },
            {
                "rel": "service-doc",
                "type": HTML,
                "title": "Documentación de la API",
                "href": f"{base}/docs",
            },
            {
                "rel": "conformance",
                "type": JSON,
                "title": "Clases de conformidad",
                "href": f"{base}/ogc/conformance",
            },
            {
                "rel": "data",
                "type": JSON,
                "title": "Colecciones",
                "href": f"{base}/ogc/collections",
            },
        ],
    }


def collection(base: str, conn: Connection, layer: Layer, editable: bool) -> dict:
    """One collection: extent, CRS list, storage CRS and links."""
    extent = queries.layer_extent(conn, layer) or COLOMBIA_LONLAT
    url = f"{base}/ogc/collections/{layer.name}"
    doc = {
        "id": layer.name,
        "title": layer.title,
        "description": layer.description,
        "itemType": "feature",
        "extent": {"spatial": {"bbox": [list(extent)], "crs": CRS84}},
        "crs": list(OUTPUT_CRS),
        "storageCrs": crs_uri(layer.srid),
        "geometryType": layer.geometry_type,
        "editable": editable,
        "links": [
            {"rel": "self", "type": JSON, "href": url},
            {"rel": "alternate", "type": HTML, "href": f"{url}?f=html"},
            {"rel": "items", "type": GEOJSON, "title": "Elementos", "href": f"{url}/items"},
            {
                "rel": "items",
                "type": HTML,
                "title": "Elementos (HTML)",
                "href": f"{url}/items?f=html",
            },
            {
                "rel": "http://www.opengis.net/def/rel/ogc/1.0/queryables",
                "type": "application/schema+json",
                "title": "Atributos consultables",
                "href": f"{url}/queryables",
            },
        ],
    }
    if temporal_property(layer):
        doc["extent"]["temporal"] = {
            "interval": [[None, None]],
            "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian",
        }
    return doc


def collections(base: str, conn: Connection, layers: list[tuple[Layer, bool]]) -> dict:
    """Every readable collection."""
    return {
        "links": [
            {"rel": "self", "type": JSON, "href": f"{base}/ogc/collections"},
            {"rel": "alternate", "type": HTML, "href": f"{base}/ogc/collections?f=html"},
        ],
        "crs": list(OUTPUT_CRS),
        "collections": [collection(base, conn, layer, editable) for layer, editable in layers],
    }


def queryables(base: str, layer: Layer) -> dict:
    """JSON Schema of the properties a filter may use, plus the geometry."""
    props = {
        "geom": {
            "title": "Geometría",
            "format": f"geometry-{layer.geometry_type.lower()}",
            "x-ogc-role": "primary-geometry",
        }
    }
    for prop in layer.properties:
        props[prop.name] = {"title": prop.title or prop.name, **_JSON_TYPES[prop.type]}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{base}/ogc/collections/{layer.name}/queryables",
        "type": "object",
        "title": layer.title,
        "properties": props,
        "additionalProperties": False,
    }
