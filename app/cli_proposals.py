"""`distritos propose ...` (with a progress bar) and `distritos worker` (the proposal queue).

`propose` runs in this process by default; with `--background` it queues the run as a
procrastinate job and follows its progress until a worker (the web process's embedded one,
or `distritos worker`) finishes it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from geo.errors import InvalidInput
from geo.spanish_numbers import hectares, percent


def _settings():
    from app.settings import Settings

    return Settings.from_env()


def _codes(text: str) -> list[str]:
    return [c.strip() for c in text.split(",") if c.strip()]


def _parameters(args: argparse.Namespace) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if args.parameters_file:
        with open(args.parameters_file, encoding="utf-8") as handle:
            params.update(json.load(handle))
    for item in args.param or ():
        name, sep, value = item.partition("=")
        if not sep:
            raise InvalidInput(f"--param espera nombre=valor; recibió '{item}'.", where="--param")
        try:
            params[name.strip()] = json.loads(value)
        except json.JSONDecodeError:
            params[name.strip()] = value
    return params


def _request_body(args: argparse.Namespace) -> dict[str, Any]:
    if args.municipalities:
        area: dict[str, Any] = {"municipalities": _codes(args.municipalities)}
    elif args.departments:
        area = {"departments": _codes(args.departments)}
    else:
        with open(args.geometry, encoding="utf-8") as handle:
            area = {"geometry": json.load(handle)}
        if args.crs:
            area["crs"] = args.crs
    return {
        "study_area": area,
        "hydro_system": args.system,
        "hydro_level": args.level,
        "parameters": _parameters(args),
        "execution": "background" if args.background else "inline",
    }


class _Bar:
    """A tqdm percent bar on a terminal; silent otherwise."""

    def __init__(self, enabled: bool) -> None:
        self.bar = None
        self.last = 0.0
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=100, desc="Propuestas", unit="%", leave=False)

    def update(self, percent: float, message: str) -> None:
        if self.bar is None:
            return
        self.bar.set_postfix_str(message[:50])
        self.bar.update(max(percent - self.last, 0))
        self.last = max(percent, self.last)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _print_run(doc: dict[str, Any]) -> None:
    print(f"Ejecución {doc['id']}: {doc['status']} - {doc['message']}")
    print(f"Unidades: {len(doc['unit_figures'])}; semillas: {len(doc['seeds'])}")
    for feature in doc["proposals"]["features"]:
        p = feature["properties"]
        municipalities = ", ".join(m["name"] for m in p["municipalities"][:6])
        print(
            f"  #{p['rank']} {p['alternative']:<4} puntaje {p['score']:.4f}  "
            f"{hectares(p['area_ha'], 0):>15}  {p['units']:>4} unidades  "
            f"focos {percent(p['hotspot_share_captured'] * 100, 0)}  "
            f"títulos {percent(p['tenure_share_captured'] * 100, 0)}  "
            f"{'consulta previa  ' if p['consulta_previa_flag'] else ''}{municipalities}"
        )
    for item in doc["unavailable_alternatives"]:
        print(f"  ({item['alternative']} no disponible: {item['reason']})")


def cmd_propose(args: argparse.Namespace) -> int:
    """distritos propose: build, store and print ranked proposals."""
    import psycopg

    from delimitation import engine, jobs

    settings = _settings()
    request = engine.parse_request(_request_body(args))
    bar = _Bar(sys.stderr.isatty() and not args.json)
    with psycopg.connect(settings.database.url, autocommit=True) as conn:
        run_id, _ = engine.create_run(conn, request, args.user or "")
        try:
            if args.background:
                jobs.enqueue(settings.database.url, conn, run_id)
                while True:
                    row = conn.execute(
                        "SELECT status, progress, message FROM delimitation_proposalrun "
                        "WHERE id = %s",
                        [run_id],
                    ).fetchone()
                    bar.update(row[1], row[2])
                    if row[0] in ("done", "failed"):
                        break
                    time.sleep(0.5)
            else:
                engine.execute_run(conn, run_id, data_dir=settings.data_dir, progress=bar.update)
        finally:
            bar.close()
        doc = engine.run_document(conn, run_id, 4326 if args.json else 9377)
    if args.json:
        print(json.dumps(doc, ensure_ascii=False, default=str))
    else:
        _print_run(doc)
    return 0 if doc["status"] == "done" else 1


def cmd_worker(args: argparse.Namespace) -> int:
    """distritos worker: take proposal jobs from the PostgreSQL queue until stopped."""
    from delimitation import jobs

    settings = _settings()
    print("Trabajador de propuestas escuchando la cola 'proposals' (Ctrl+C para salir).")
    jobs.run_worker(settings.database.url, settings.data_dir, wait=not args.once)
    return 0


def cmd_precompute_figures(args: argparse.Namespace) -> int:
    """distritos precompute-figures: fill the per-unit figures cache of the proposal engine."""
    import psycopg

    from delimitation import engine

    settings = _settings()
    started = time.perf_counter()
    with psycopg.connect(settings.database.url, autocommit=True) as conn:
        done = engine.precompute_unit_figures(conn, settings.data_dir, args.system, args.level)
    seconds = time.perf_counter() - started
    if args.json:
        print(json.dumps({"levels": done, "seconds": round(seconds, 3)}))
        return 0
    for item in done:
        fresh = item["units"] - item["computed"]
        print(
            f"Cifras por unidad {item['system']} nivel {item['level']}: {item['units']} unidades, "
            f"{item['computed']} calculadas ahora"
            + (f", {fresh} ya estaban al día." if fresh else ".")
        )
    if not done:
        print("No hay unidades hidrográficas cargadas: nada que precalcular.")
    print(f"{seconds:.1f} s")
    return 0


def add_proposal_commands(subparsers: Any) -> None:
    """Register `propose` and `worker` on the `distritos` command."""
    propose = subparsers.add_parser(
        "propose",
        help="propone distritos alrededor de la presión minera (uniones de cuencas)",
        description="Ejemplo: distritos propose --municipalities 05234,05284 --system pomca",
    )
    area = propose.add_mutually_exclusive_group(required=True)
    area.add_argument("--municipalities", help="códigos DIVIPOLA separados por comas")
    area.add_argument("--departments", help="códigos de departamento separados por comas")
    area.add_argument("--geometry", help="archivo GeoJSON con el área de estudio")
    propose.add_argument("--crs", help="CRS de --geometry (EPSG:4326 por defecto)")
    propose.add_argument("--system", default="pomca", help="sistema hidrográfico (pomca...)")
    propose.add_argument("--level", type=int, default=None, help="nivel (el más fino si falta)")
    propose.add_argument(
        "--param", action="append", help="parámetro nombre=valor (valor JSON), repetible"
    )
    propose.add_argument("--parameters-file", help="archivo JSON con los parámetros")
    propose.add_argument(
        "--background", action="store_true", help="encola el trabajo y sigue su avance"
    )
    propose.add_argument("--user", help="usuario que figura en la ejecución")
    propose.add_argument("--json", action="store_true", help="imprime la ejecución en JSON")
    propose.set_defaults(func=cmd_propose)

    precompute = subparsers.add_parser(
        "precompute-figures",
        help="precalcula las cifras por unidad hidrográfica (títulos, focos, aptitud...)",
        description="Deja al día la caché de cifras por unidad que usan las propuestas, para "
        "que la primera propuesta después de una importación no tenga que calcularlas.",
    )
    precompute.add_argument("--system", help="solo este sistema hidrográfico")
    precompute.add_argument("--level", type=int, help="solo este nivel")
    precompute.add_argument("--json", action="store_true", help="resumen en JSON")
    precompute.set_defaults(func=cmd_precompute_figures)

    worker = subparsers.add_parser("worker", help="trabajador de la cola de propuestas")
    worker.add_argument("--once", action="store_true", help="termina cuando la cola quede vacía")
    worker.set_defaults(func=cmd_worker)
