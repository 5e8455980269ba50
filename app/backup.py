"""Backups: pg_dump (custom format) plus the raster files, and their restore."""

from __future__ import annotations

import argparse
import subprocess
import tarfile
import time
from pathlib import Path

import psycopg


def backup(database_url: str, data_dir: Path, out_dir: Path) -> tuple[Path, Path]:
    """Write `<stamp>.dump` (pg_dump -Fc) and `<stamp>.rasters.tar` into out_dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    dump = out_dir / f"distritos-{stamp}.dump"
    subprocess.run(["pg_dump", "-Fc", "--no-owner", "-f", str(dump), database_url], check=True)
    rasters = out_dir / f"distritos-{stamp}.rasters.tar"
    with tarfile.open(rasters, "w") as tar:
        if data_dir.exists():
            tar.add(data_dir, arcname="rasters")
    return dump, rasters


def restore(dump: Path, database_url: str, data_dir: Path | None = None) -> None:
    """Restore a dump into an empty database (and the rasters next to it, if given)."""
    subprocess.run(
        ["pg_restore", "--no-owner", "--exit-on-error", "-d", database_url, str(dump)], check=True
    )
    rasters = dump.with_name(dump.name.removesuffix(".dump") + ".rasters.tar")
    if data_dir is not None and rasters.exists():
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        with tarfile.open(rasters) as tar:
            tar.extractall(data_dir.parent, filter="data")


def table_fingerprints(database_url: str) -> dict[str, tuple[int, str | None]]:
    """Row count and an md5 of the geometries (in id order) of every table of ours."""
    result: dict[str, tuple[int, str | None]] = {}
    with psycopg.connect(database_url) as conn:
        tables = conn.execute(
            "SELECT c.relname, (SELECT a.attname FROM pg_attribute a JOIN pg_type ty "
            "ON ty.oid = a.atttypid WHERE a.attrelid = c.oid AND ty.typname = 'geometry' "
            "AND NOT a.attisdropped LIMIT 1) FROM pg_class c JOIN pg_namespace n "
            "ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r' "
            "AND c.relname <> 'spatial_ref_sys' ORDER BY 1"
        ).fetchall()
        for table, geom in tables:
            count = conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
            digest = None
            if geom:
                digest = conn.execute(
                    f"SELECT md5(string_agg(ST_AsEWKB(\"{geom}\")::text, '' "
                    f'ORDER BY ST_AsEWKB("{geom}")::text)) FROM "{table}"'
                ).fetchone()[0]
            result[table] = (count, digest)
    return result


def main() -> None:
    """`python -m app.backup backup|restore ...` (used by `make backup` / `make restore`)."""
    from app.settings import Settings

    parser = argparse.ArgumentParser(prog="app.backup")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("backup").add_argument("--out", default="backups")
    restore_cmd = sub.add_parser("restore")
    restore_cmd.add_argument("dump")
    args = parser.parse_args()
    settings = Settings.from_env()
    if args.command == "backup":
        dump, rasters = backup(settings.database.url, settings.data_dir, Path(args.out))
        print(f"Copia de seguridad: {dump} y {rasters}")
    else:
        url = settings.database.url
        restore(Path(args.dump), url, settings.data_dir)
        print(f"Restaurado {args.dump} en {url}")


if __name__ == "__main__":
    main()
