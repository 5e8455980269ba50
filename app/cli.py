"""`distritos`: import layers and rasters, load the samples, manage users and API tokens.

The CLI talks to the database `make run` started (recorded by app.cluster) unless
DATABASE_URL says otherwise. Messages are Spanish; `--json` prints machine-readable summaries.
"""

from __future__ import annotations

import argparse
import gc
import getpass
import json
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from geo.errors import DomainError, InvalidInput

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"
ROLES = ("viewer", "analyst", "mesa_secretary", "focal_point", "coordinator", "admin")


@contextmanager
def _collector_off() -> Iterator[None]:
    """No cycle collection meanwhile: start-up imports and an import's batches make long-lived
    objects or none in cycles, and collections cost ~0.1 s of a `distritos import`."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _database_url() -> str:
    from app import cluster

    url = cluster.database_url()
    if not url:
        raise InvalidInput(
            "No hay base de datos: ejecute `make run` (o `make db`) o defina DATABASE_URL."
        )
    return url


def _connect() -> None:
    from app.djangoapp import setup_django

    setup_django(_database_url())


def _pairs(items: Sequence[str] | None, flag: str) -> dict[str, str]:
    pairs = {}
    for item in items or ():
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise InvalidInput(f"{flag} espera campo=valor; recibió '{item}'.", where=flag)
        pairs[name.strip()] = value.strip()
    return pairs


class _Progress:
    """A tqdm bar on a terminal; silent otherwise."""

    def __init__(self, enabled: bool, label: str) -> None:
        self.enabled = enabled
        self.label = label
        self.bar: Any = None

    def start(self, total: int | None) -> None:
        if self.enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=self.label, unit=" ent", leave=False)

    def advance(self, count: int) -> None:
        if self.bar is not None:
            self.bar.update(count)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _import_one(
    entry: dict[str, Any], *, show_progress: bool, user: str = "", database_url: str | None = None
) -> Any:
    """Run one import described like a manifest entry; return its ImportSummary.

    With `database_url` a vector import writes over its own connection and Django starts
    only if the importer needs its model; rasters always go through Django.
    """
    layer, path = entry["layer"], entry["path"]
    if layer == "rasters":
        _connect()
        from layers.raster_import import import_raster

        if not entry.get("theme") or not entry.get("name"):
            raise InvalidInput("Para rasters indique --theme y --name.", where="theme")
        return import_raster(
            path,
            theme=entry["theme"],
            name=entry["name"],
            title=entry.get("title"),
            classes=entry.get("classes"),
            synthetic=entry.get("synthetic"),
            source=entry.get("source"),
            user=user,
            dry_run=entry.get("dry_run", False),
        )
    from layers.importer import run_import

    progress = _Progress(show_progress, f"{layer} ← {Path(path).name}")
    try:
        return run_import(
            layer,
            path,
            source_layer=entry.get("source_layer"),
            crs=entry.get("crs"),
            mapping=entry.get("map"),
            fixed=entry.get("set"),
            system=entry.get("system"),
            dry_run=entry.get("dry_run", False),
            skip_rejected=entry.get("skip_rejected", False),
            replace=entry.get("replace", False),
            swap_xy=entry.get("swap_xy", False),
            user=user,
            progress=progress.advance,
            on_start=progress.start,
            database_url=database_url,
            start_django=_connect,
        )
    finally:
        progress.close()


class _LeanImports:
    """Import finder for the import commands: pandas and geopandas refused, pyproj put off.

    pyogrio imports pandas, geopandas and pyproj whenever they are installed, about half a
    second of start-up for every `distritos import`. The importers read Arrow and never use
    the first two; pyogrio itself never uses pyproj, and geo.crs imports it only for a file
    not already in EPSG:9377 (~60 ms of start-up saved for files that are). Modules already
    imported (e.g. under pytest) are unaffected.
    """

    refused: tuple[str, ...] = ("pandas", "geopandas")

    @classmethod
    def find_spec(cls, name: str, path: Any = None, target: Any = None) -> None:
        if name in cls.refused:
            raise ModuleNotFoundError(f"{name} no se usa al importar capas", name=name)

    @classmethod
    def install(cls) -> None:
        if cls in sys.meta_path or any(name in sys.modules for name in cls.refused):
            return
        sys.meta_path.insert(0, cls)  # type: ignore[arg-type]
        if "pyogrio" in sys.modules or "pyproj" in sys.modules:
            return
        cls.refused += ("pyproj",)
        try:
            import pyogrio  # noqa: F401  (without pyproj; see above)
        finally:
            cls.refused = cls.refused[:-1]


def cmd_import(args: argparse.Namespace) -> int:
    """distritos import <layer> <path> ..."""
    # An import never multiplies matrices; OpenBLAS's idle threads (started when numpy loads,
    # so before _LeanImports imports pyogrio) would spin for ~0.1 s of CPU the batches need.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    _LeanImports.install()
    # No Django for a vector import (half a second of start-up): it writes with plain SQL.
    url = _database_url()
    entry = {
        "layer": args.layer,
        "path": args.path,
        "source_layer": args.source_layer,
        "crs": args.crs,
        "map": _pairs(args.map, "--map"),
        "set": _pairs(args.set, "--set"),
        "system": args.system,
        "dry_run": args.dry_run,
        "skip_rejected": args.skip_rejected,
        "replace": args.replace,
        "swap_xy": args.swap_xy,
        "theme": args.theme,
        "name": args.name,
        "title": args.title,
        "classes": args.classes,
        "synthetic": True if args.synthetic else None,
    }
    show = sys.stderr.isatty() and not args.json
    with _collector_off():
        summary = _import_one(entry, show_progress=show, user=args.user or "", database_url=url)
    print(json.dumps(summary.as_dict(), ensure_ascii=False) if args.json else summary.text())
    if not args.json and not args.dry_run and (summary.inserted or summary.updated):
        from delimitation.engine import FIGURE_LAYERS

        if args.layer in FIGURE_LAYERS:
            # The API queues this refresh itself; from the command line it is the user's call.
            print(
                "Las cifras por unidad hidrográfica de las propuestas quedaron desactualizadas: "
                "`distritos precompute-figures` las calcula ahora (si no, la próxima propuesta "
                "las calcula y tarda más)."
            )
    return 0


def load_manifest(path: Path) -> list[dict[str, Any]]:
    """The sample manifest's imports with paths made absolute (relative to the manifest)."""
    if not path.exists():
        raise InvalidInput(f"No existe el manifiesto '{path}'.", where="manifest")
    data = json.loads(path.read_text(encoding="utf-8"))
    entries = []
    for position, item in enumerate(data.get("imports", []), start=1):
        if "layer" not in item or "path" not in item:
            raise InvalidInput(f"Manifiesto '{path.name}', entrada {position}: falta layer o path.")
        entry = dict(item)
        entry["path"] = str((path.parent / item["path"]).resolve())
        if entry.get("classes"):
            entry["classes"] = str((path.parent / entry["classes"]).resolve())
        entries.append(entry)
    return entries


def cmd_load_samples(args: argparse.Namespace) -> int:
    """distritos load-samples: every sample of data/samples, in the manifest's order."""
    _LeanImports.install()
    _connect()
    entries = load_manifest(Path(args.manifest))
    show = sys.stderr.isatty() and not args.json
    results = []
    for entry in entries:
        if not Path(entry["path"]).exists():
            if entry.get("optional"):
                print(f"(omitido, no existe) {entry['path']}", file=sys.stderr)
                continue
            raise InvalidInput(f"El manifiesto nombra un archivo que no existe: {entry['path']}")
        summary = _import_one(entry, show_progress=show)
        results.append(summary)
        if not args.json:
            print(summary.text())
    if args.json:
        print(json.dumps([s.as_dict() for s in results], ensure_ascii=False))
    else:
        inserted = sum(s.inserted for s in results)
        updated = sum(s.updated for s in results)
        print(
            f"Muestras cargadas: {len(results)} archivos, {inserted} nuevas, "
            f"{updated} actualizadas."
        )
    return 0


def cmd_user_add(args: argparse.Namespace) -> int:
    """distritos user add NAME --role ROLE [--password P]"""
    _connect()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db import transaction

    user_model = get_user_model()
    if user_model.objects.filter(username=args.name).exists():
        raise InvalidInput(f"El usuario '{args.name}' ya existe.", where="name")
    password = args.password
    if password is None and sys.stdin.isatty():
        password = getpass.getpass("Contraseña (vacía: solo acceso por token): ") or None
    with transaction.atomic():
        user = user_model(username=args.name, email=args.email or "")
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        if args.role == "admin":
            user.is_staff = user.is_superuser = True
        user.save()
        group, _ = Group.objects.get_or_create(name=args.role)
        user.groups.add(group)
    access = "con contraseña" if password else "sin contraseña (use un token)"
    print(f"Usuario '{args.name}' creado con el rol {args.role}, {access}.")
    return 0


def cmd_token_create(args: argparse.Namespace) -> int:
    """distritos token create NAME [--label L]: prints a bearer token once."""
    _connect()
    from django.contrib.auth import get_user_model

    from app.accounts.models import ApiToken

    user = get_user_model().objects.filter(username=args.name).first()
    if user is None:
        raise InvalidInput(
            f"No existe el usuario '{args.name}'. Créelo con: distritos user add {args.name} "
            "--role ROL",
            where="name",
        )
    _, raw = ApiToken.issue(user, name=args.label or "")
    print(raw)
    print(
        "Guárdelo: no se volverá a mostrar. Úselo como 'Authorization: Bearer <token>'.",
        file=sys.stderr,
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argparse tree of `distritos`."""
    from layers.importers import importable_layers

    parser = argparse.ArgumentParser(
        prog="distritos", description="Distritos Mineros: importación, muestras, usuarios."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    imp = commands.add_parser(
        "import",
        help="importa un archivo a una capa",
        description="Importa un archivo vectorial (GeoPackage, Shapefile o .zip, GeoJSON, "
        "FlatGeobuf, KML, CSV) a una capa, o un GeoTIFF al catálogo de rásters.",
    )
    imp.add_argument("layer", help="capa: " + ", ".join(importable_layers()) + ", rasters")
    imp.add_argument("path", help="archivo a importar")
    imp.add_argument("--source-layer", help="capa dentro del archivo (GeoPackage, zip)")
    imp.add_argument("--crs", help="CRS del archivo cuando no lo declara (p. ej. 3116)")
    imp.add_argument(
        "--map", action="append", metavar="CAMPO=ATRIBUTO", help="campo de la capa = atributo"
    )
    imp.add_argument(
        "--set", action="append", metavar="CAMPO=VALOR", help="valor fijo para un campo"
    )
    imp.add_argument("--system", choices=("ideam", "pomca", "watershed", "hydrobasins"))
    imp.add_argument("--dry-run", action="store_true", help="valida y cuenta sin escribir")
    imp.add_argument("--json", action="store_true", help="resumen en JSON")
    imp.add_argument(
        "--skip-rejected", action="store_true", help="importa el resto si hay entidades rechazadas"
    )
    imp.add_argument(
        "--replace",
        action="store_true",
        help="borra de la capa lo que el archivo ya no trae (de la misma fuente, si la capa la "
        "registra): para cargar una nueva edición completa",
    )
    imp.add_argument("--swap-xy", action="store_true", help="intercambia x/y (lat/lon invertidas)")
    imp.add_argument("--user", help="usuario que figura en el lote de importación")
    imp.add_argument("--theme", choices=("aptitude", "elevation", "other"), help="rasters")
    imp.add_argument("--name", help="rasters: nombre (identificador) del ráster")
    imp.add_argument("--title", help="rasters: título")
    imp.add_argument("--classes", help="rasters: tabla de clases JSON")
    imp.add_argument("--synthetic", action="store_true", help="rasters: marcar como sintético")
    imp.set_defaults(func=cmd_import)

    samples = commands.add_parser("load-samples", help="carga data/samples (idempotente)")
    samples.add_argument("--manifest", default=str(SAMPLES / "manifest.json"))
    samples.add_argument("--json", action="store_true")
    samples.set_defaults(func=cmd_load_samples)

    user = commands.add_parser("user", help="usuarios").add_subparsers(dest="action", required=True)
    add = user.add_parser("add", help="crea un usuario con un rol")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--password")
    add.add_argument("--email")
    add.set_defaults(func=cmd_user_add)

    token = commands.add_parser("token", help="tokens de API").add_subparsers(
        dest="action", required=True
    )
    create = token.add_parser("create", help="emite un token para un usuario")
    create.add_argument("name")
    create.add_argument("--label", help="nombre del token")
    create.set_defaults(func=cmd_token_create)
    from app.cli_proposals import add_proposal_commands

    add_proposal_commands(commands)
    from app.cli_hydrology import add_hydrology_commands

    add_hydrology_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `distritos` command."""
    with _collector_off():
        args = build_parser().parse_args(argv)
    try:
        code = args.func(args)
        # The work is done and written: spare the interpreter's last full collection over
        # every object numpy, Arrow, GDAL and psycopg made (~50 ms of a `distritos import`).
        gc.freeze()
        return code
    except DomainError as error:
        print(f"Error: {error.detail}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("Interrumpido: no se escribió nada del archivo en curso.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
