"""Upload a file into a layer over HTTP: the same importer as `distritos import`."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Query, Request, UploadFile
from starlette.concurrency import run_in_threadpool

from app.auth import Caller, require_role
from delimitation import jobs
from delimitation.engine import FIGURE_LAYERS
from layers.registry import ADMIN, ANALYST, COORDINATOR, get_layer

IMPORTERS = frozenset({ANALYST, COORDINATOR, ADMIN})
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(filename: str | None) -> str:
    """The upload's base name only, with anything but letters, digits, . _ - replaced:
    a client-supplied path can never leave the temporary folder."""
    base = Path((filename or "archivo").replace("\\", "/")).name
    cleaned = _SAFE.sub("_", base).lstrip(".")
    return cleaned or "archivo"


def router() -> APIRouter:
    """Routes under /api/v1/layers/{name}/imports."""
    api = APIRouter(prefix="/api/v1", tags=["importación"])

    @api.post(
        "/layers/{name}/imports",
        status_code=201,
        operation_id="import_file",
        summary="Importar un archivo a una capa",
    )
    async def import_file(
        name: str,
        request: Request,
        principal: Caller,
        file: Annotated[UploadFile, File(description="GeoPackage, Shapefile .zip, GeoJSON...")],
        dry_run: Annotated[bool, Query(alias="dry-run")] = False,
        source_layer: Annotated[str | None, Query(alias="source-layer")] = None,
        crs: str | None = None,
    ) -> dict:
        require_role(principal, IMPORTERS, "importar datos")
        get_layer(name)
        from layers.importer import run_import

        with tempfile.TemporaryDirectory(prefix="dm-upload-") as folder:
            target = Path(folder) / safe_name(file.filename)
            with target.open("wb") as handle:
                while chunk := await file.read(1024 * 1024):
                    handle.write(chunk)
            summary = await run_in_threadpool(
                run_import,
                name,
                target,
                source_layer=source_layer,
                crs=crs,
                dry_run=dry_run,
                user=principal.username,
            )
        result = summary.as_dict()
        settings = request.app.state.settings
        changed = summary.inserted + summary.updated
        if settings.precompute_figures and not dry_run and name in FIGURE_LAYERS and changed:
            # Proposals read per-unit figures from a cache this import made stale: refresh it
            # in the background so the next proposal does not pay for it.
            result["figures_job"] = await run_in_threadpool(
                jobs.enqueue_precompute, settings.database.url
            )
        return result

    return api
