"""Load test: a realistic mix against the service run as the Dockerfile runs it (uvicorn
workers), from a separate load process on loopback.

Mix: 60% vector tiles, 20% feature pages, 10% WFS GetFeature, 5% boundary validation,
5% authenticated writes (draft districts). Open-loop at a fixed rate: the generator sends on
schedule whatever the answers' speed, so latency includes queueing. A short search finds the
highest rate whose p95 stays under 500 ms with no errors, then that rate is held for 60 s.

Needs the sample data loaded (`make run` or `distritos load-samples`). Prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _servers import free_port

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Urabá sample area (EPSG:4326): tiles and bboxes are drawn from here.
LON0, LAT0, LON1, LAT1 = -77.2, 6.4, -75.9, 8.7
TILE_LAYERS = [
    "municipalities",
    "mining_tenures",
    "protected_areas",
    "hydro_units",
    "mining_tenures,mining_hotspots",
]


def _tile(rng: random.Random) -> str:
    import morecantile

    tms = morecantile.tms.get("WebMercatorQuad")
    z = rng.randint(6, 13)
    lon = rng.uniform(LON0, LON1)
    lat = rng.uniform(LAT0, LAT1)
    t = tms.tile(lon, lat, z)
    return f"/tiles/{rng.choice(TILE_LAYERS)}/{t.z}/{t.x}/{t.y}.pbf"


def _square(rng: random.Random, size: float) -> dict:
    lon = rng.uniform(LON0, LON1 - size)
    lat = rng.uniform(LAT0, LAT1 - size)
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


def request_mix(rng: random.Random, serial: int) -> tuple[str, str, dict | None]:
    """One request of the mix: (method, path, json body)."""
    draw = rng.random()
    if draw < 0.60:
        return "GET", _tile(rng), None
    if draw < 0.80:
        layer = rng.choice(["mining_tenures", "municipalities", "protected_areas"])
        lon = rng.uniform(LON0, LON1 - 0.3)
        lat = rng.uniform(LAT0, LAT1 - 0.3)
        return (
            "GET",
            f"/api/v1/layers/{layer}/features?limit=100&bbox={lon},{lat},{lon + 0.3},{lat + 0.3}",
            None,
        )
    if draw < 0.90:
        return (
            "GET",
            "/wfs?service=WFS&version=2.0.0&request=GetFeature&typeNames="
            "dm:mining_tenures&count=50&outputFormat=application/json",
            None,
        )
    if draw < 0.95:
        return "POST", "/api/v1/validate", {"geometry": _square(rng, 0.1), "hydro_system": "pomca"}
    return (
        "POST",
        "/api/v1/districts",
        {
            "code": f"carga-{os.getpid()}-{serial}",
            "name": f"Carga {serial}",
            "type": "vida_y_paz",
            "geometry": _square(rng, 0.05),
        },
    )


async def run_phase(base: str, rate: float, seconds: float, token: str, seed: int) -> dict:
    """Send `rate` requests per second for `seconds`; return latency and error figures."""
    import httpx

    rng = random.Random(seed)
    latencies: list[float] = []
    errors: dict[str, int] = {}
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:
        tasks = []

        async def one(method: str, path: str, body: dict | None) -> None:
            headers = {"Authorization": f"Bearer {token}"} if method == "POST" else {}
            began = time.perf_counter()
            try:
                response = await client.request(method, path, json=body, headers=headers)
                ok = response.status_code < 400 or (
                    path == "/api/v1/validate" and response.status_code == 200
                )
                if not ok:
                    key = f"{response.status_code} {path.split('?')[0][:40]}"
                    errors[key] = errors.get(key, 0) + 1
            except httpx.HTTPError as exc:
                errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
            latencies.append(time.perf_counter() - began)

        start = time.perf_counter()
        total = int(rate * seconds)
        for serial in range(total):
            due = start + serial / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(*request_mix(rng, seed * 10_000_000 + serial))))
        await asyncio.gather(*tasks)
    latencies.sort()
    p95 = latencies[int(0.95 * (len(latencies) - 1))] if latencies else float("inf")
    return {
        "rate": rate,
        "requests": len(latencies),
        "p95_ms": round(p95 * 1000, 1),
        "median_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
        "errors": sum(errors.values()),
        "error_kinds": errors,
    }


def _load_process(base: str, rate: float, seconds: float, token: str, seed: int) -> dict:
    """Run a phase in a separate Python process so the generator never shares our GIL."""
    spec = json.dumps([base, rate, seconds, token, seed])
    out = subprocess.run(
        [sys.executable, __file__, "--phase", spec],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds * 4 + 120,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers (Dockerfile)")
    parser.add_argument("--rates", default="10,20,40,80,120", help="rates tried (req/s)")
    parser.add_argument("--probe-seconds", type=float, default=10)
    parser.add_argument("--hold-seconds", type=float, default=60)
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:  # the separate load process
        print(json.dumps(asyncio.run(run_phase(*json.loads(args.phase)))))
        return

    from app.djangoapp import setup_django

    setup_django()
    from django.contrib.auth.models import Group, User

    from app.accounts.models import ApiToken

    user, _ = User.objects.get_or_create(username="bench-load")
    user.groups.add(Group.objects.get_or_create(name="analyst")[0])
    token = ApiToken.issue(user, "bench/load.py")[1]

    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "app.main:asgi",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(args.workers),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        import httpx

        for _ in range(120):
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        rates = [float(r) for r in args.rates.split(",")]
        # Warm-up (not counted): workers import their code, pools fill, tile caches start.
        _load_process(base, rates[0] / 2, args.probe_seconds, token, 0)
        best = None
        for seed, rate in enumerate(rates):
            probe = _load_process(base, rate, args.probe_seconds, token, seed + 1)
            print(json.dumps({"probe": probe}), flush=True)
            if probe["errors"] or probe["p95_ms"] >= 500:
                break
            best = rate
        if best is None:
            best = rates[0] / 2
        held = _load_process(base, best, args.hold_seconds, token, 99)
        print(json.dumps({"hold": held}), flush=True)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        User.objects.filter(username="bench-load").delete()
        from delimitation.models import District

        leftovers = District.objects.filter(code__startswith="carga-")
        print(
            f"# limpieza: {leftovers.count()} distritos de carga quedan como borradores "
            "(versiones inmutables)",
            file=sys.stderr,
        )
    print(
        json.dumps(
            {
                "benchmark": "load_mix",
                "ours": held["rate"],
                "peer": None,
                "ratio": None,
                "target": "p95 < 500 ms and 0 errors for 60 s",
                "p95_ms": held["p95_ms"],
                "errors": held["errors"],
                "requests": held["requests"],
                "workers": args.workers,
            }
        )
    )


if __name__ == "__main__":
    main()
