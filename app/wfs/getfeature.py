"""GetFeature: counts, paging and the streamed collection in GML 3.2/3.1.1/2 or GeoJSON."""

from __future__ import annotations

import datetime as dt

from fastapi.responses import Response, StreamingResponse

from app.auth import Principal
from app.db import Database
from app.ogc.formats import DEFAULT_GML, Part, by_name, find_format, stream_geojson, stream_gml
from app.wfs.requests import GetFeatureRequest, TypeQuery, default_srs
from app.wfs.xml import attr
from layers import queries
from layers.filtering import filter_sql
from layers.gml import NAMESPACE, PREFIX, estimated_count
from layers.registry import ANONYMOUS, VIEWER

WFS_FORMATS = ("gml32", "gml311", "gml2", "geojson")
_WFS_NS = {"2.0.0": "http://www.opengis.net/wfs/2.0", "1.1.0": "http://www.opengis.net/wfs"}


def feature_query(tq: TypeQuery, principal: Principal, version: str) -> Part:
    """The FeatureQuery (and output CRS) of one type query, unpaged."""
    srs = tq.srs or default_srs(tq.layer, version)
    extra: tuple = ()
    params: tuple = ()
    if tq.filter is not None:
        condition, values = filter_sql(tq.filter, tq.layer, geometry_srid=srs.srid)
        extra, params = (condition,), tuple(values)
    query = queries.FeatureQuery(
        layer=tq.layer,
        out_srid=srs.srid,
        flip_axes=srs.flip,
        properties=tq.properties,
        sortby=tq.sortby,
        limit=None,
        offset=0,
        public_only=principal.roles <= {ANONYMOUS, VIEWER},
        extra_where=extra,
        extra_params=params,
    )
    query.selected()  # unknown PROPERTYNAME -> 400 before streaming starts
    for name, _ in tq.sortby:
        tq.layer.property(name)
    return Part(query, srs)


def _paged(parts: list[Part], matched: list[int], start: int, count: int | None) -> list[Part]:
    """Spread STARTINDEX/COUNT over the type queries in order."""
    paged = []
    skip, left = start, count
    for part, n in zip(parts, matched, strict=True):
        offset = min(skip, n)
        skip -= offset
        take = n - offset if left is None else min(left, n - offset)
        if left is not None:
            left -= take
        if take > 0:
            query = queries.FeatureQuery(**{**part.query.__dict__, "offset": offset, "limit": take})
            paged.append(Part(query, part.srs))
    return paged


def get_feature(
    db: Database, request: GetFeatureRequest, principal: Principal, self_url: str
) -> Response:
    """Run a GetFeature: hits or a streamed collection, with next links in 2.0."""
    output = (
        find_format(request.output_format, WFS_FORMATS)
        if request.output_format
        else by_name(DEFAULT_GML[request.version])
    )
    parts = [feature_query(tq, principal, request.version) for tq in request.queries]
    with db.connection() as conn:
        counted = [estimated_count(conn, p.query) for p in parts]
    matched = sum(c for c, _ in counted)
    exact = all(e for _, e in counted)
    timestamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if request.hits:
        return Response(
            _hits_xml(request.version, matched, exact, timestamp), media_type="application/xml"
        )
    returned = max(0, matched - request.start)
    if request.count is not None:
        returned = min(returned, request.count)
    paged = _paged(parts, [c for c, _ in counted], request.start, request.count)
    next_url = None
    if request.count is not None and request.kvp and request.start + returned < matched:
        next_url = _with_start(self_url, request.kvp, request.start + request.count)
    if output.gml is None:
        head = {"type": "FeatureCollection", "numberMatched": matched, "timeStamp": timestamp}
        srs = paged[0].srs if paged else None
        if srs is not None:
            head["crs"] = {"type": "name", "properties": {"name": srs.name}}
        if next_url:
            head["links"] = [{"rel": "next", "href": next_url, "type": output.media_type}]
        body = stream_geojson(db, paged, head, lambda n, _last, _more: {"numberReturned": n})
        return StreamingResponse(body, media_type=output.media_type)
    head, tail, member = _gml_frame(
        request, output.gml, matched, exact, returned, timestamp, next_url, self_url
    )
    body = stream_gml(db, paged, output.gml, member, head, tail)
    return StreamingResponse(body, media_type=output.media_type)


def _with_start(self_url: str, kvp: dict[str, str], start: int) -> str:
    from urllib.parse import urlencode

    params = {k: v for k, v in kvp.items() if k != "STARTINDEX"}
    params["STARTINDEX"] = str(start)
    return f"{self_url}?{urlencode(params)}"


def _hits_xml(version: str, matched: int, exact: bool, timestamp: str) -> str:
    number = str(matched) if exact or version != "2.0.0" else "unknown"
    if version == "2.0.0":
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<wfs:FeatureCollection xmlns:wfs="http://www.opengis.net/wfs/2.0" '
            f'numberMatched="{number}" numberReturned="0" timeStamp="{timestamp}"/>'
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<wfs:FeatureCollection xmlns:wfs="http://www.opengis.net/wfs" '
        f'numberOfFeatures="{matched}" timeStamp="{timestamp}"/>'
    )


def _gml_frame(
    request: GetFeatureRequest,
    gml: str,
    matched: int,
    exact: bool,
    returned: int,
    timestamp: str,
    next_url: str | None,
    self_url: str,
) -> tuple[str, str, str]:
    """Opening and closing text of the collection, and the member element name."""
    names = ",".join(f"{PREFIX}:{tq.layer.name}" for tq in request.queries)
    describe = (
        f"{self_url}?service=WFS&amp;version={request.version}&amp;request=DescribeFeatureType"
        f"&amp;typeNames={names}"
    )
    gml_ns = "http://www.opengis.net/gml/3.2" if gml == "3.2" else "http://www.opengis.net/gml"
    common = (
        f'xmlns:gml="{gml_ns}" xmlns:{PREFIX}="{NAMESPACE}" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
    )
    if request.version == "2.0.0":
        number = str(matched) if exact else "unknown"
        next_attr = f" next={attr(next_url)}" if next_url else ""
        head = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<wfs:FeatureCollection xmlns:wfs="{_WFS_NS["2.0.0"]}" {common} '
            f'xsi:schemaLocation="{NAMESPACE} {describe} http://www.opengis.net/wfs/2.0 '
            'http://schemas.opengis.net/wfs/2.0/wfs.xsd" '
            f'numberMatched="{number}" numberReturned="{returned}" timeStamp="{timestamp}"'
            f"{next_attr}>\n"
        )
        member = "wfs:member"
    elif request.version == "1.1.0":
        head = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<wfs:FeatureCollection xmlns:wfs="{_WFS_NS["1.1.0"]}" {common} '
            f'xsi:schemaLocation="{NAMESPACE} {describe}" '
            f'numberOfFeatures="{returned}" timeStamp="{timestamp}">\n'
        )
        member = "gml:featureMember"
    else:
        head = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<wfs:FeatureCollection xmlns:wfs="http://www.opengis.net/wfs" {common} '
            f'xsi:schemaLocation="{NAMESPACE} {describe}">\n'
            "<gml:boundedBy><gml:null>unknown</gml:null></gml:boundedBy>\n"
        )
        member = "gml:featureMember"
    return head, "</wfs:FeatureCollection>\n", member
