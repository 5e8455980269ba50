"""Hardened XML parsing and small writing helpers for the OGC XML interfaces."""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from lxml import etree

from geo.errors import InvalidInput

# No entity expansion, no network, no DTDs, bounded trees: XML bombs and XXE are refused.
_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    huge_tree=False,
    load_dtd=False,
    dtd_validation=False,
    remove_comments=True,
    remove_pis=True,
)

NS = {
    "wfs20": "http://www.opengis.net/wfs/2.0",
    "wfs": "http://www.opengis.net/wfs",
    "fes": "http://www.opengis.net/fes/2.0",
    "ogc": "http://www.opengis.net/ogc",
    "gml32": "http://www.opengis.net/gml/3.2",
    "gml": "http://www.opengis.net/gml",
    "ows11": "http://www.opengis.net/ows/1.1",
    "ows": "http://www.opengis.net/ows",
    "xlink": "http://www.w3.org/1999/xlink",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
}


def parse_xml(body: bytes) -> etree._Element:
    """Parse a request body; documents with a DOCTYPE are refused outright."""
    head = body[:2048].lower()
    if b"<!doctype" in head or b"<!entity" in body.lower():
        raise InvalidInput("No se aceptan documentos XML con DOCTYPE o entidades.", where="body")
    try:
        return etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise InvalidInput(f"XML mal formado: {exc}", where="body") from None


def local(element: etree._Element) -> str:
    """Local name of an element (namespace stripped)."""
    return etree.QName(element).localname


def text(value: object) -> str:
    """Escape text content."""
    return escape(str(value))


def attr(value: object) -> str:
    """A quoted, escaped attribute value."""
    return quoteattr(str(value))
