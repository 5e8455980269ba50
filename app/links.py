"""Links and paging shared by the REST and OGC API interfaces."""

from __future__ import annotations

from fastapi import Request


def page_links(
    request: Request,
    offset: int,
    limit: int,
    matched: int | None,
    returned: int,
    media_type: str = "application/geo+json",
) -> list[dict]:
    """self/next/prev links that keep every other query parameter."""

    def url(new_offset: int) -> str:
        return str(request.url.include_query_params(offset=new_offset, limit=limit))

    links = [{"rel": "self", "type": media_type, "href": str(request.url)}]
    has_next = offset + returned < matched if matched is not None else returned == limit
    if has_next:
        links.append({"rel": "next", "type": media_type, "href": url(offset + limit)})
    if offset > 0:
        links.append({"rel": "prev", "type": media_type, "href": url(max(0, offset - limit))})
    return links
