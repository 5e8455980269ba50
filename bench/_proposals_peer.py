"""Peer for bench/proposals.py: the per-unit figures of a proposal run, as a geopandas script.

What an analyst would write with geopandas + exactextract (run in its own venv,
.bench/geopandas): read the layers (GeoPackages of bench/datagen.py and the DANE MGN), pick
the hydro units intersecting the department (dropping units with less than 1 % inside, as the
engine does), then `gpd.overlay` each layer with the units and group: tenure area and count
by type/status plus the dissolved area of the counted tenures, hotspot area and count by
category plus their dissolved area, municipality areas; aptitude class areas with
exactextract (exact partial-cell coverage, like ours); mining pressure and seeds.

It does LESS than the engine: no alternatives, no proposal metrics, nothing stored. Reading
the files is timed separately and NOT counted in the peer's time (its most favourable case).
Prints one JSON line: {"read_s", "compute_s", "units", "seeds", "tenure_ha", "hotspot_ha"}.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import geopandas as gpd
import pandas as pd
from exactextract import exact_extract

CRS = "EPSG:9377"
HOTSPOT_WEIGHT, TENURE_WEIGHT, THRESHOLD, MIN_OVERLAP = 1.0, 0.25, 0.02, 0.01


def read(data: Path, mgn: Path, department: str) -> dict[str, gpd.GeoDataFrame]:
    """Every input layer as a GeoDataFrame in EPSG:9377."""
    departments = gpd.read_file(mgn, layer="departamentos").to_crs(CRS)
    municipalities = gpd.read_file(mgn, layer="municipios").to_crs(CRS)
    tenures = gpd.read_file(data / "tenures.gpkg")
    state = tenures["TITULO_ESTADO"].fillna("")
    tenures["tenure_type"] = state.str.startswith("Título").map(
        {True: "title", False: "application"}
    )
    return {
        "department": departments[departments["DPTO_CCDGO"] == department],
        "municipalities": municipalities,
        "units": gpd.read_file(data / "hydro_units.gpkg"),
        "tenures": tenures,
        "hotspots": gpd.read_file(data / "hotspots.gpkg"),
    }


def per_unit(layers: dict[str, gpd.GeoDataFrame], raster: Path) -> pd.DataFrame:
    """The per-unit figures (areas in ha) and the pressure of every unit."""
    area = layers["department"].geometry.union_all()
    units = layers["units"]
    units = units[units.intersects(area)].copy()
    inside = units.intersection(area).area
    units = units[inside >= MIN_OVERLAP * units.area][["HYBAS_ID", "geometry"]]
    units = units.rename(columns={"HYBAS_ID": "unit"}).reset_index(drop=True)
    units["area_ha"] = units.area / 1e4

    tenures = gpd.overlay(
        layers["tenures"][["tenure_type", "TITULO_ESTADO", "geometry"]], units[["unit", "geometry"]]
    )
    tenures["ha"] = tenures.area / 1e4
    tenure_by = tenures.groupby(["unit", "tenure_type", "TITULO_ESTADO"])["ha"].agg(
        ["sum", "count"]
    )
    tenure_ha = tenures.dissolve("unit").area / 1e4

    hotspots = gpd.overlay(
        layers["hotspots"][["category", "geometry"]], units[["unit", "geometry"]]
    )
    hotspots["ha"] = hotspots.area / 1e4
    hotspot_by = hotspots.groupby(["unit", "category"])["ha"].agg(["sum", "count"])
    hotspot_ha = hotspots.dissolve("unit").area / 1e4

    municipalities = gpd.overlay(
        layers["municipalities"][["MPIO_CCNCT", "geometry"]], units[["unit", "geometry"]]
    )
    municipalities["ha"] = municipalities.area / 1e4
    municipality_by = municipalities.groupby(["unit", "MPIO_CCNCT"])["ha"].sum()

    aptitude = exact_extract(str(raster), units[["geometry"]], ["unique", "frac"], output="pandas")
    aptitude.index = units["unit"]

    figures = units.set_index("unit")[["area_ha"]]
    figures["tenure_ha"] = tenure_ha.reindex(figures.index).fillna(0.0)
    figures["hotspot_ha"] = hotspot_ha.reindex(figures.index).fillna(0.0)
    figures["pressure"] = (
        HOTSPOT_WEIGHT * figures["hotspot_ha"] + TENURE_WEIGHT * figures["tenure_ha"]
    ) / figures["area_ha"]
    figures.attrs = {
        "tenure_by": tenure_by,
        "hotspot_by": hotspot_by,
        "municipality_by": municipality_by,
        "aptitude": aptitude,
    }
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--mgn", type=Path, required=True)
    parser.add_argument("--raster", type=Path, required=True)
    parser.add_argument("--department", default="05")
    args = parser.parse_args()
    t0 = time.perf_counter()
    layers = read(args.data, args.mgn, args.department)
    t1 = time.perf_counter()
    figures = per_unit(layers, args.raster)
    t2 = time.perf_counter()
    print(
        json.dumps(
            {
                "read_s": round(t1 - t0, 3),
                "compute_s": round(t2 - t1, 3),
                "units": len(figures),
                "seeds": int((figures["pressure"] >= THRESHOLD).sum()),
                "tenure_ha": round(float(figures["tenure_ha"].sum()), 2),
                "hotspot_ha": round(float(figures["hotspot_ha"].sum()), 2),
            }
        )
    )


if __name__ == "__main__":
    main()
