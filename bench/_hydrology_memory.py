"""Peak memory of `hydrology.derivation.derive` on a large DEM (not part of `make bench`).

    .venv/bin/python bench/_hydrology_memory.py [--size 20000] [--threshold-km2 50]

Writes the Meta sample resampled bilinearly to size x size cells (uncompressed, tiled, under
.bench/data; 1.6 GB for 20,000), then runs derive() on it in a fresh process and prints the
wall time, the unit count and the peak RSS of that process.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "samples" / "dem_meta_250m.tif"
WORK = ROOT / ".bench" / "data"


def big_dem(size: int) -> Path:
    """The Meta DEM resampled to size x size (written once, band by band)."""
    import numpy as np
    import rasterio
    from rasterio.enums import Resampling
    from rasterio.windows import Window

    out = WORK / f"dem_meta_{size}x{size}.tif"
    if out.exists():
        return out
    WORK.mkdir(parents=True, exist_ok=True)
    with rasterio.open(SAMPLE) as src:
        transform = src.transform @ src.transform.scale(src.width / size, src.height / size)
        profile = src.profile | {
            "width": size,
            "height": size,
            "transform": transform,
            "compress": None,
            "tiled": True,
            "BIGTIFF": "YES",
        }
        with rasterio.open(out, "w", **profile) as dst:
            step = 1000
            for top in range(0, size, step):
                rows = min(step, size - top)
                # Source window for this band of output rows, read resampled.
                y0 = top * src.height / size
                y1 = (top + rows) * src.height / size
                win = Window(0, y0, src.width, y1 - y0)
                data = src.read(
                    1,
                    window=win,
                    out_shape=(rows, size),
                    resampling=Resampling.bilinear,
                    masked=True,
                )
                dst.write(
                    data.filled(src.nodata).astype(np.float32),
                    1,
                    window=Window(0, top, size, rows),
                )
    return out


def worker(path: str, threshold_km2: float) -> None:
    """Run derive() and print time, units and peak RSS as JSON."""
    from hydrology.derivation import derive

    t0 = time.perf_counter()
    result = derive(path, threshold_km2)
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {"seconds": round(seconds, 1), "units": len(result.units), "peak_rss_mib": round(peak)}
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=20000)
    parser.add_argument("--threshold-km2", type=float, default=50.0)
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.worker:
        worker(opts.worker[0], float(opts.worker[1]))
        return
    path = big_dem(opts.size)
    cmd = [sys.executable, __file__, "--worker", str(path), str(opts.threshold_km2)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-3000:])
    doc = json.loads(proc.stdout.strip().splitlines()[-1])
    cells = opts.size * opts.size
    print(
        f"derive on {opts.size} x {opts.size} ({cells:,} cells): {doc['seconds']} s, "
        f"{doc['units']} units, peak RSS {doc['peak_rss_mib']} MiB"
    )


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
