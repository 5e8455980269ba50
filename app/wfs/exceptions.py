"""OWS ExceptionReports: every WFS error is XML with an exceptionCode and an HTTP status."""

from __future__ import annotations

from fastapi.responses import Response

from app.wfs.xml import attr, text
from geo.errors import DomainError

XML = "application/xml"


def exception_report(
    code: str, message: str, locator: str | None, version: str, status: int
) -> Response:
    """An ExceptionReport in the dialect of the requested version."""
    where = f" locator={attr(locator)}" if locator else ""
    if version.startswith("1.0"):
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<ServiceExceptionReport version="1.2.0" xmlns="http://www.opengis.net/ogc">'
            f"<ServiceException code={attr(code)}{where}>{text(message)}</ServiceException>"
            "</ServiceExceptionReport>"
        )
    else:
        ows, ows_version = (
            ("http://www.opengis.net/ows", "1.0.0")
            if version.startswith("1.1")
            else ("http://www.opengis.net/ows/1.1", "2.0.0")
        )
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<ows:ExceptionReport xmlns:ows="{ows}" version="{ows_version}" xml:lang="es-CO">'
            f"<ows:Exception exceptionCode={attr(code)}{where}>"
            f"<ows:ExceptionText>{text(message)}</ows:ExceptionText></ows:Exception>"
            "</ows:ExceptionReport>"
        )
    headers = {}
    if status == 401:
        # QGIS and browsers ask the user for credentials on this challenge.
        headers["WWW-Authenticate"] = 'Basic realm="Distritos Mineros"'
    return Response(body, status_code=status, media_type=XML, headers=headers)


def report_for(error: DomainError, version: str) -> Response:
    """The ExceptionReport of a domain error."""
    code = error.code
    if error.status == 404:
        code = "NotFound"
    return exception_report(code, error.detail, error.where, version, error.status)
