"""Service settings grouped by topic, built in `create_app` and passed down (never global)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from app import cluster

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class DatabaseSettings:
    url: str
    pool_min: int = 1
    pool_max: int = 10
    # Fail fast (503) when the database is down instead of queueing requests.
    connect_timeout_s: float = 3.0
    statement_timeout_ms: int = 60_000


@dataclass(frozen=True)
class ApiSettings:
    default_limit: int = 100
    max_limit: int = 10_000
    max_body_bytes: int = 20 * 1024 * 1024
    max_vertices: int = 500_000


@dataclass(frozen=True)
class TileSettings:
    # The PostgreSQL tile cache (invalidated by layer revisions); off for benchmarks.
    cache: bool = True
    max_age_s: int = 60


@dataclass(frozen=True)
class Settings:
    database: DatabaseSettings
    api: ApiSettings = field(default_factory=ApiSettings)
    tiles: TileSettings = field(default_factory=TileSettings)
    data_dir: Path = ROOT / ".data" / "rasters"
    static_dir: Path = ROOT / "app" / "static"
    public_url: str = ""
    # Refresh the proposal engine's per-unit figures in the background after an upload.
    precompute_figures: bool = True

    @classmethod
    def from_env(cls) -> Settings:
        """Settings from the environment (DATABASE_URL, DATA_DIR, DM_* limits)."""
        url = cluster.database_url()
        if not url:
            raise SystemExit("No hay base de datos: ejecute `make run` o defina DATABASE_URL.")
        return cls(
            database=DatabaseSettings(
                url=url,
                pool_max=int(os.environ.get("DM_POOL_MAX", "10")),
            ),
            api=ApiSettings(
                max_limit=int(os.environ.get("DM_MAX_LIMIT", "10000")),
                max_body_bytes=int(os.environ.get("DM_MAX_BODY_BYTES", str(20 * 1024 * 1024))),
            ),
            tiles=TileSettings(cache=os.environ.get("DM_TILE_CACHE", "on") != "off"),
            data_dir=Path(os.environ.get("DATA_DIR", ROOT / ".data" / "rasters")),
            public_url=os.environ.get("DM_PUBLIC_URL", ""),
            precompute_figures=os.environ.get("DM_PRECOMPUTE_FIGURES", "on") != "off",
        )
