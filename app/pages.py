"""Portal pages: the map viewer (`/map`), its embeddable version and the analysts' workspace.

Pages are Django templates (already configured for the admin) rendered with a small context;
all data comes from the documented HTTP API, so the pages are clients like any other.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from app.auth import Principal, current_principal
from layers.registry import ADMIN, ANALYST, COORDINATOR

WORKSPACE_ROLES = frozenset({ANALYST, COORDINATOR, ADMIN})
SEARCH_LIMIT = 12


def _render(name: str, context: dict) -> HTMLResponse:
    from django.template.loader import render_to_string

    return HTMLResponse(render_to_string(name, context))


def _base(request: Request) -> str:
    public = request.app.state.settings.public_url
    return (public or str(request.base_url)).rstrip("/")


def _district_sql(public: bool) -> str:
    drafts = "AND d.status <> 'draft'" if public else ""
    return (
        "SELECT 'distrito', d.code, d.name, "
        "ARRAY[ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)] FROM ("
        "SELECT d.*, ST_Transform(ST_Envelope(d.geom), 4326)::box2d AS e "
        "FROM delimitation_district_current d "
        f"WHERE (d.code ILIKE %(exact)s OR d.name ILIKE %(like)s) {drafts}) d "
        "ORDER BY d.code LIMIT %(limit)s"
    )


def search_places(conn, text: str, public: bool) -> list[dict]:
    """Municipalities and districts whose name or code matches, with their 4326 bbox."""
    params = {"like": f"%{text}%", "exact": text, "limit": SEARCH_LIMIT}
    rows = conn.execute(
        "SELECT 'municipio', m.code, m.name || COALESCE(' (' || d.name || ')', ''), "
        "ARRAY[ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)] FROM ("
        "SELECT m.*, ST_Transform(ST_Envelope(m.geom), 4326)::box2d AS e "
        "FROM layers_municipality m WHERE m.name ILIKE %(like)s OR m.code = %(exact)s "
        "ORDER BY m.name LIMIT %(limit)s) m "
        "LEFT JOIN layers_department d ON d.code = m.department_id ORDER BY m.name",
        params,
    ).fetchall()
    has_districts = conn.execute(
        "SELECT to_regclass('delimitation_district_current') IS NOT NULL"
    ).fetchone()[0]
    if has_districts:
        rows = conn.execute(_district_sql(public), params).fetchall() + rows
    return [
        {"kind": kind, "code": code, "name": name, "bbox": [round(v, 6) for v in bbox]}
        for kind, code, name, bbox in rows
    ]


def router() -> APIRouter:
    """Routes of the viewer, its embed, the place search and the workspace."""
    api = APIRouter(tags=["portal"])

    @api.get("/map", include_in_schema=False, response_class=HTMLResponse)
    def viewer(
        request: Request, district: Annotated[str | None, Query(max_length=40)] = None
    ) -> HTMLResponse:
        return _render(
            "portal/map.html", {"embed": False, "district": district or "", "base": _base(request)}
        )

    @api.get("/map/embed", include_in_schema=False, response_class=HTMLResponse)
    def viewer_embed(
        request: Request, district: Annotated[str | None, Query(max_length=40)] = None
    ) -> HTMLResponse:
        return _render(
            "portal/map.html", {"embed": True, "district": district or "", "base": _base(request)}
        )

    @api.get("/map/search", operation_id="search_places", summary="Buscar municipio o distrito")
    def search(
        request: Request,
        principal: Annotated[Principal, Depends(current_principal)],
        q: Annotated[str, Query(min_length=2, max_length=80, description="nombre o código")],
    ) -> dict:

        with request.app.state.db.connection() as conn:
            places = search_places(conn, q.strip(), principal.public_only)
        return {"query": q, "places": places}

    @api.get("/workspace", include_in_schema=False, response_class=HTMLResponse)
    def workspace(request: Request, principal: Annotated[Principal, Depends(current_principal)]):
        if not principal.authenticated:
            return RedirectResponse("/admin/login/?next=/workspace", status_code=303)
        allowed = bool(principal.roles & WORKSPACE_ROLES)
        return _render(
            "portal/workspace.html",
            {
                "allowed": allowed,
                "username": principal.username,
                "roles": ", ".join(sorted(principal.roles)),
                "base": _base(request),
            },
        )

    return api
