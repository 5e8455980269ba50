"""`distritos hydrology ...`: derive sub-catchments from a DEM, a point's catchment, next_down."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import psycopg

from geo.spanish_numbers import hectares


def add_hydrology_commands(subparsers) -> None:
    """Register `hydrology derive|catchment|next-down` on the main CLI's subparsers."""
    parser = subparsers.add_parser(
        "hydrology", help="procesamiento hidrológico del DEM (subcuencas, cuencas, next_down)"
    )
    commands = parser.add_subparsers(dest="hydrology_command", required=True)

    derive = commands.add_parser(
        "derive", help="deriva subcuencas (unidades 'derived') y drenajes de un DEM"
    )
    derive.add_argument("--dem", required=True, help="archivo GeoTIFF o nombre de ráster")
    derive.add_argument(
        "--threshold-km2", type=float, required=True, help="área mínima de drenaje (km²)"
    )
    derive.add_argument(
        "--force", action="store_true", help="acepta valores que no parecen elevaciones"
    )
    derive.add_argument(
        "--if-missing",
        action="store_true",
        help="no hace nada si ya hay unidades derivadas de este DEM (make run)",
    )
    derive.set_defaults(func=run_derive)

    catchment = commands.add_parser("catchment", help="cuenca aportante de un punto (GeoJSON)")
    catchment.add_argument("--dem", required=True, help="archivo GeoTIFF o nombre de ráster")
    catchment.add_argument("--lon", type=float, required=True)
    catchment.add_argument("--lat", type=float, required=True)
    catchment.add_argument("--snap-radius-m", type=float, default=None)
    catchment.add_argument("--crs", default="4326", help="CRS de salida (defecto 4326)")
    catchment.add_argument("--output", type=Path, default=None, help="archivo GeoJSON de salida")
    catchment.set_defaults(func=run_catchment)

    next_down = commands.add_parser(
        "next-down", help="deriva next_down de las unidades de un sistema a partir de un DEM"
    )
    next_down.add_argument(
        "--dem", help="archivo GeoTIFF o nombre de ráster; por defecto los DEM catalogados"
    )
    next_down.add_argument("--system", required=True, help="ideam, pomca, watershed, ...")
    next_down.add_argument(
        "--overwrite", action="store_true", help="reemplaza next_down ya publicados"
    )
    next_down.set_defaults(func=run_next_down)


def _connect() -> psycopg.Connection:
    from app.settings import Settings

    return psycopg.connect(Settings.from_env().database.url, autocommit=True)


def _dem_path(conn: psycopg.Connection, value: str) -> tuple[str, Path]:
    """A DEM argument as (name, file): an existing file, else a catalogued raster name."""
    path = Path(value)
    if path.exists():
        return path.stem, path
    from app.settings import Settings

    row = conn.execute(
        "SELECT name, path FROM layers_rasterlayer WHERE name = %s", [value]
    ).fetchone()
    if row is None:
        raise SystemExit(f"No existe el archivo ni el ráster catalogado '{value}'.")
    stored = Path(row[1])
    return row[0], stored if stored.is_absolute() else Settings.from_env().data_dir / stored


def run_derive(args: argparse.Namespace) -> int:
    """Derive and store the sub-catchments and streams of a DEM, with a progress bar."""
    from tqdm import tqdm

    from hydrology.catchment_service import catalogue_dem
    from hydrology.derive import derive_from_dem

    with _connect() as conn:
        name, path = _dem_path(conn, args.dem)
        existing = conn.execute(
            "SELECT count(*) FROM hydrology_hydrounit WHERE system = 'derived' AND code LIKE %s",
            [name + "-%"],
        ).fetchone()[0]
        if args.if_missing and existing:
            print(f"Ya hay {existing} subcuencas derivadas de '{name}': no se recalculan.")
            return 0
        bar = tqdm(
            total=4, desc="Derivando", unit="paso", file=sys.stderr, disable=not sys.stderr.isatty()
        )

        def progress(step: str) -> None:
            bar.set_description(step)
            bar.update(1)

        try:
            stored = derive_from_dem(
                conn, path, args.threshold_km2, force=args.force, progress=progress, prefix=name
            )
        finally:
            bar.close()
        # The catchment API finds DEMs in the catalogue: a derived DEM is always usable there.
        if not conn.execute("SELECT 1 FROM layers_rasterlayer WHERE name = %s", [name]).fetchone():
            catalogue_dem(conn, path, name)
    print(
        f"{stored.units} subcuencas (sistema 'derived', códigos '{stored.prefix}-…') y "
        f"{stored.rivers} tramos de drenaje guardados; {stored.outlets} salidas sin next_down "
        f"(drenan fuera del DEM). Lote {stored.batch_id}."
    )
    return 0


def run_catchment(args: argparse.Namespace) -> int:
    """Print (or write) the catchment Feature of a point."""
    from app.settings import Settings
    from geo.crs import parse_srid
    from hydrology.catchment_service import CACHE_FOLDER, CataloguedDem, catchment_of_point

    with _connect() as conn:
        name, path = _dem_path(conn, args.dem)
    feature = catchment_of_point(
        CataloguedDem(name, path),
        args.lon,
        args.lat,
        out_srid=parse_srid(args.crs),
        snap_radius_m=args.snap_radius_m,
        cache_dir=Settings.from_env().data_dir / CACHE_FOLDER,
    )
    text = json.dumps(feature, ensure_ascii=False)
    props = feature["properties"]
    summary = (
        f"Cuenca de ({args.lon}, {args.lat}) en '{name}': {hectares(props['area_ha'], 1)}, "
        f"salida ajustada a ({props['outlet']['lon']}, {props['outlet']['lat']}), "
        f"{props['snap_distance_m']:.0f} m del punto."
    )
    if args.output:
        args.output.write_text(text, encoding="utf-8")
        print(summary)
    else:
        print(text)
        print(summary, file=sys.stderr)
    return 0


def run_next_down(args: argparse.Namespace) -> int:
    """Fill next_down of a published system's units from a DEM, reporting uncovered units."""
    from app.settings import Settings
    from hydrology.derive import derive_next_down, next_down_from_catalogue

    with _connect() as conn:
        ids = [
            r[0]
            for r in conn.execute(
                "SELECT id FROM hydrology_hydrounit WHERE system = %s", [args.system]
            ).fetchall()
        ]
        if not ids:
            print(f"No hay unidades del sistema '{args.system}'.", file=sys.stderr)
            return 2
        if args.dem:
            _, path = _dem_path(conn, args.dem)
            summary = derive_next_down(conn, ids, path, overwrite=args.overwrite)
        else:
            data_dir = Settings.from_env().data_dir
            summary = next_down_from_catalogue(conn, ids, data_dir, overwrite=args.overwrite)
    for line in summary.messages():
        print(line)
    return 0
