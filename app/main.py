"""The FastAPI application: every interface combined, built from explicit settings."""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path

import psycopg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from app.db import Database
from app.djangoapp import setup_django
from app.limits import BodyLimitMiddleware
from app.problems import install_problem_handlers
from app.settings import Settings

API_DESCRIPTION = (
    "Servicio de planificación y delimitación de los Distritos Mineros para la "
    "Diversificación Productiva (Artículo 231, Ley 2294 de 2023; Decreto 0977 de 2024)."
)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the service: Django (ORM, admin), the pool, and every router."""
    settings = settings or Settings.from_env()
    setup_django(settings.database.url)
    db = Database(settings.database)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        db.open()
        yield
        db.close()

    app = FastAPI(
        title="Distritos Mineros",
        description=API_DESCRIPTION,
        version="0.1.0",
        lifespan=lifespan,
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    app.state.settings = settings
    app.state.db = db
    install_problem_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.api.max_body_bytes)

    # Tiles first: the busiest routes, and Starlette tries routes in order (a cached tile
    # spent a fifth of its time matching the routes registered before it).
    from app import tiles

    app.include_router(tiles.router())
    from app.rest import layers as rest_layers

    app.include_router(rest_layers.router())
    from app.rest import plan as rest_plan

    app.include_router(rest_plan.router())
    from app.rest import tokens as rest_tokens

    app.include_router(rest_tokens.router())
    from app.rest import imports as rest_imports

    app.include_router(rest_imports.router())
    from app.rest import hydrology as rest_hydrology

    app.include_router(rest_hydrology.router())
    from app.rest import districts as rest_districts

    app.include_router(rest_districts.router())
    from app.rest import proposals as rest_proposals

    app.include_router(rest_proposals.router())

    from app import pages

    app.include_router(pages.router())
    from app import glyphs

    app.include_router(glyphs.router())
    from app.wfs import router as wfs_router

    app.include_router(wfs_router.router())
    from app.ogc import router as ogc_router

    app.include_router(ogc_router.router())

    @app.get("/healthz", tags=["servicio"], operation_id="healthz")
    def healthz() -> JSONResponse:
        """PostgreSQL and PostGIS versions, or 503 when the database is unreachable."""
        try:
            with psycopg.connect(settings.database.url, connect_timeout=3) as conn:
                pg, postgis = conn.execute(
                    "SELECT current_setting('server_version'), postgis_lib_version()"
                ).fetchone()
        except psycopg.Error as exc:
            return JSONResponse(
                {
                    "status": "error",
                    "detail": f"Base de datos no disponible: {exc.__class__.__name__}",
                },
                status_code=503,
            )
        return JSONResponse({"status": "ok", "postgresql": pg, "postgis": postgis})

    @app.get("/", include_in_schema=False)
    def index(request: Request) -> RedirectResponse:
        return RedirectResponse(str(request.url_for("list_layers")))

    _mount_django(app)
    _mount_static(app, settings.static_dir)
    return app


def _mount_django(app: FastAPI) -> None:
    """Django's admin (Spanish back-office) and its static files, served by this app."""
    import django.contrib.admin
    import django.contrib.gis
    from django.core.asgi import get_asgi_application

    admin_static = Path(django.contrib.admin.__file__).parent / "static" / "admin"
    app.mount("/static/admin", StaticFiles(directory=admin_static), name="admin-static")
    gis_static = Path(django.contrib.gis.__file__).parent / "static" / "gis"
    app.mount("/static/gis", StaticFiles(directory=gis_static), name="gis-static")
    django_asgi = get_asgi_application()

    async def admin_app(scope, receive, send):
        # Django routes on the full path (Starlette keeps it in scope["path"]); it must not
        # also see the mount prefix as a script name.
        scope = dict(scope, root_path="")
        await django_asgi(scope, receive, send)

    app.mount("/admin", admin_app, name="admin")


def _mount_static(app: FastAPI, static_dir: Path) -> None:
    if static_dir.exists():
        app.mount("/static", StaticFiles(directory=static_dir), name="static")


def asgi() -> FastAPI:
    """Entry point for uvicorn (`app.main:asgi --factory`)."""
    return create_app()
