"""Benchmark: `distritos import mining_tenures` against `ogr2ogr -f PostgreSQL` on 100,000 tenures.

Both load the same generated GeoPackage (bench/datagen.py, ANM-style tenures in EPSG:9377) into
the same PostGIS, in a fresh database made for this run, with a GiST index at the end and
COPY on both sides; rounds alternate which tool goes first. Then our peak RSS importing
1,000,000 polygons (skip with --skip-million). Prints medians and ends with one JSON line.

    .venv/bin/python bench/import.py [--tenures 100000] [--rounds 11] [--skip-million]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app import cluster  # noqa: E402

PY = sys.executable
DATA = ROOT / ".bench" / "data" / "import"
BENCH_DB = "distritos_bench_import"
PEER_TABLE = "ogr_tenures"


def server_url() -> str:
    """The PostgreSQL server: DATABASE_URL's, else the private cluster (started if needed)."""
    if os.environ.get("DATABASE_URL"):
        parsed = urlparse(os.environ["DATABASE_URL"])
        return urlunparse(parsed._replace(path="/postgres"))
    return cluster.start()


def with_db(url: str, name: str) -> str:
    """The same server URL pointing at another database."""
    return urlunparse(urlparse(url)._replace(path=f"/{name}"))


def psql(url: str, sql: str) -> str:
    """Run SQL with psql and return its bare output."""
    result = subprocess.run(
        ["psql", url, "-v", "ON_ERROR_STOP=1", "-qtAc", sql], capture_output=True, text=True
    )
    if result.returncode:
        sys.exit(result.stderr)
    return result.stdout.strip()


def fresh_database(server: str) -> str:
    """Create the bench database from scratch, with PostGIS and our migrations."""
    psql(server, f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
    psql(server, f'CREATE DATABASE "{BENCH_DB}"')
    url = with_db(server, BENCH_DB)
    psql(url, "CREATE EXTENSION IF NOT EXISTS postgis")
    env = {**os.environ, "DATABASE_URL": url}
    subprocess.run([PY, "-m", "app.manage", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    return url


def tenures_file(count: int) -> Path:
    """The generated GeoPackage of `count` tenures (made once, deterministic)."""
    folder = DATA / f"tenures_{count}"
    path = folder / "tenures.gpkg"
    if not path.exists():
        print(f"generando {count:,} títulos con bench/datagen.py …", file=sys.stderr)
        subprocess.run(
            [PY, "bench/datagen.py", "--out", str(folder), "--only", "tenures"]
            + ["--tenures", str(count), "--workers", "2"],
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return path


class BackendCpu:
    """CPU seconds of the PostgreSQL backends serving one application_name, sampled from
    /proc while the command runs (a fairer yardstick than wall time on a busy machine)."""

    def __init__(self, url: str, application: str) -> None:
        self.url = url
        self.application = application
        self.ticks: dict[int, int] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self.stop.is_set():
                pids = conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE application_name = %s",
                    [self.application],
                ).fetchall()
                for (pid,) in pids:
                    try:
                        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                    except OSError:
                        continue
                    used = int(fields[11]) + int(fields[12])  # utime + stime
                    self.ticks[pid] = max(self.ticks.get(pid, 0), used)
                time.sleep(0.02)

    def __enter__(self) -> BackendCpu:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()

    @property
    def seconds(self) -> float:
        return sum(self.ticks.values()) / os.sysconf("SC_CLK_TCK")


def timed(command: list[str], env: dict[str, str], url: str) -> dict[str, float]:
    """Wall seconds, client and server CPU seconds and peak RSS (MiB) of one command."""
    application = f"bench_import_{os.getpid()}_{time.monotonic_ns()}"
    env = {**env, "PGAPPNAME": application}
    with BackendCpu(url, application) as backend:
        started = time.perf_counter()
        result = subprocess.run(
            ["/usr/bin/time", "-v", *command], cwd=ROOT, env=env, capture_output=True, text=True
        )
        seconds = time.perf_counter() - started
    if result.returncode:
        sys.exit(f"falló: {' '.join(command)}\n{result.stdout}\n{result.stderr}")

    def field(label: str) -> float:
        match = re.search(rf"{label}: ([\d.]+)", result.stderr)
        return float(match.group(1)) if match else 0.0

    return {
        "wall": seconds,
        "client_cpu": field(r"User time \(seconds\)") + field(r"System time \(seconds\)"),
        "server_cpu": backend.seconds,
        "rss_mib": field(r"Maximum resident set size \(kbytes\)") / 1024,
    }


def ours(url: str, path: Path) -> dict[str, float]:
    """One `distritos import` into an empty tenure table."""
    psql(url, "TRUNCATE layers_miningtenure; CHECKPOINT")
    env = {**os.environ, "DATABASE_URL": url}
    command = [str(ROOT / ".venv" / "bin" / "distritos"), "import", "mining_tenures", str(path)]
    run = timed([*command, "--json"], env, url)
    count = psql(url, "SELECT count(*) FROM layers_miningtenure")
    assert count.isdigit() and int(count) > 0, count
    return run


def peer(url: str, path: Path) -> dict[str, float]:
    """One ogr2ogr load (COPY, reprojection to 9377, GiST index) into a new table."""
    psql(url, f"DROP TABLE IF EXISTS {PEER_TABLE}; CHECKPOINT")
    parsed = urlparse(url)
    pg = (
        f"PG:host={parsed.hostname} port={parsed.port or 5432} dbname={BENCH_DB} "
        f"user={parsed.username or 'postgres'}"
        + (f" password={parsed.password}" if parsed.password else "")
    )
    command = [
        "ogr2ogr", "-f", "PostgreSQL", pg, str(path), "tenures",
        "-nln", PEER_TABLE, "-t_srs", "EPSG:9377",
        "--config", "PG_USE_COPY", "YES", "-lco", "SPATIAL_INDEX=GIST",
    ]  # fmt: skip
    env = {**os.environ, "CPL_LOG": "/dev/null"}
    return timed(command, env, url)


def main(argv: list[str] | None = None) -> None:
    """Run the rounds and print medians, ratio and the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenures", type=int, default=100_000)
    # More than the 3 rounds asked: on a shared 2-core host one round varies by ±30 %.
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--million", type=int, default=1_000_000, help="size of the RSS run")
    parser.add_argument("--skip-million", action="store_true", help="skip the RSS run")
    args = parser.parse_args(argv)

    path = tenures_file(args.tenures)
    url = fresh_database(server_url())
    runs: dict[str, list[dict[str, float]]] = {"ours": [], "peer": []}
    for round_no in range(args.rounds):
        order = ("ours", "peer") if round_no % 2 == 0 else ("peer", "ours")
        for name in order:
            run = ours(url, path) if name == "ours" else peer(url, path)
            runs[name].append(run)
            print(
                f"ronda {round_no + 1} {name:4s} {run['wall']:7.2f} s (CPU cliente "
                f"{run['client_cpu']:.2f} s, servidor {run['server_cpu']:.2f} s)",
                file=sys.stderr,
            )

    def median(name: str, key: str) -> float:
        return statistics.median(run[key] for run in runs[name])

    ours_s, peer_s = median("ours", "wall"), median("peer", "wall")
    cpu = {
        name: median(name, "client_cpu") + median(name, "server_cpu") for name in ("ours", "peer")
    }
    counts = psql(
        url,
        f"SELECT (SELECT count(*) FROM layers_miningtenure), (SELECT count(*) FROM {PEER_TABLE})",
    )
    print(
        f"{args.tenures:,} títulos ({counts.replace('|', ' / ')} filas): distritos import "
        f"mediana {ours_s:.2f} s, ogr2ogr mediana {peer_s:.2f} s, razón {ours_s / peer_s:.2f}; "
        f"CPU (cliente + servidor) {cpu['ours']:.2f} s frente a {cpu['peer']:.2f} s, razón "
        f"{cpu['ours'] / cpu['peer']:.2f}; RSS pico {max(r['rss_mib'] for r in runs['ours']):.0f}"
        " MiB"
    )

    peak_mib = None
    if not args.skip_million:
        big = tenures_file(args.million)
        run = ours(url, big)
        peak_mib = round(run["rss_mib"], 1)
        print(f"{args.million:,} polígonos: {run['wall']:.1f} s, RSS pico {peak_mib} MiB")
    psql(server_url(), f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
    print(
        json.dumps(
            {
                "benchmark": "import_tenures",
                "ours": round(ours_s, 3),
                "peer": round(peer_s, 3),
                "ratio": round(ours_s / peer_s, 3),
                "target": 1.0,
                "peak_rss_mib": peak_mib,
                "cpu_ratio": round(cpu["ours"] / cpu["peer"], 3),
            }
        )
    )


if __name__ == "__main__":
    main()
