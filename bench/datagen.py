"""Deterministic national-scale synthetic data for every benchmark (all SYNTHETIC, EPSG:9377).

Shapes, so a reader knows what the benchmarks chew on:

- tenures (`tenures.gpkg`, layer `tenures`): like an ANM AnnA Minería export. Each tenure is a
  connected random union (Eden growth, 4-connected) of 5..300 cells of the ANM grid, a
  regular lon/lat grid of 3.6 arc-second cells (0.001°, about 1.2 ha), seeded inside a DANE
  municipality (`MPIO_CCNCT` is the seed's municipality; the blob may spill a few cells over
  the border, and tenures may overlap as titles and applications do). Seeds cluster around
  random "mining districts" so pressure is uneven, as it is in the register. Fields:
  CODIGO_EXPEDIENTE (unique, 'ABC-12345'), TITULO_ESTADO, ETAPA, MODALIDAD, MINERALES,
  SOLICITANTES_O_TITULARES (fake "TITULAR SINTETICO ..." names), CLASIFICACION_MINERIA,
  AREA_HA, FECHA_RADICACION (epoch ms), MPIO_CCNCT (text). Written in chunks, so a million
  tenures stream through flat memory.
- hotspots (`hotspots.gpkg`, layer `hotspots`): small elliptical polygons (0.1..30 ha), most
  inside or beside a tenure, the rest within a few km of one; category, setting,
  detected_on (Date), area_ha, confidence, synthetic=true.
- hydro units (`hydro_units.gpkg`, layer `hydro_units`): a Voronoi tessellation of random
  points inside Colombia (union of DANE departments) clipped to it, with HydroBASINS-style
  fields. NEXT_DOWN is a shortest-path tree over the adjacency graph (random edge weights)
  toward outlet units on the coast/border, so it is acyclic and always points to a unit
  sharing an edge (0 for outlets). PFAF_ID is a Pfafstetter-style code computed on that tree
  (the 4 largest tributaries get even digits, inter-basins odd), prefixed 6 and the outlet
  basin's rank; UP_AREA accumulates SUB_AREA along the tree.
- aptitude (`aptitude_<DPTO>.tif`): Cloud-Optimised GeoTIFF over one department (default
  Antioquia 05) at 100 m, uint8 classes 1..5 (nodata 0 outside the department), made of
  smoothed multi-octave noise cut at fixed quantiles, so classes form coherent patches.

Every output has its own random stream derived from --seed, so choosing outputs with --only
does not change the others. Run: `python bench/datagen.py --out DIR [--tenures N] ...`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import heapq
import json
import multiprocessing
import sys
import time
from collections.abc import Iterator
from itertools import chain
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import rasterio
import rasterio.features
import shapely
from pyproj import Transformer
from rasterio.transform import Affine
from scipy import ndimage, sparse
from scipy.sparse import csgraph

ROOT = Path(__file__).resolve().parents[1]
MGN = ROOT / "data" / "samples" / "national" / "dane_mgn2018.gpkg"
CRS = "EPSG:9377"
OUTPUTS = ("tenures", "hotspots", "hydro", "aptitude")
CELL_DEG = 0.001  # 3.6 arc-seconds: the ANM grid
TILE = 32  # each tenure grows inside a TILE x TILE window of ANM cells around its seed
MIN_CELLS, MAX_CELLS = 5, 300
# Independent random streams per output (added to the seed), so --only keeps the others.
STREAM = {"tenures": 1, "hotspots": 2, "hydro": 3, "aptitude": 4}

_TO_9377 = Transformer.from_crs(4326, 9377, always_xy=True)

# ---------------------------------------------------------------------------------------------
# Tenure attributes: ANM-like vocabularies with rough shares of the national register.

TITLE_STATES = (
    ("Título vigente-en ejecución", 0.82),
    ("Título suspendido", 0.08),
    ("Título terminado-en proceso de liquidación", 0.10),
)
APPLICATION_STATES = (
    ("Solicitud vigente-en curso", 0.85),
    ("Solicitud en evaluación", 0.10),
    ("Solicitud archivada-en firme", 0.05),
)
STAGES = (("Exploración", 0.45), ("Construcción y montaje", 0.10), ("Explotación", 0.45))
TITLE_MODALITIES = (
    ("Contrato de concesión (L 685)", 0.70),
    ("Contrato de concesión (D 2655)", 0.08),
    ("Licencia de explotación", 0.07),
    ("Reconocimiento de propiedad privada", 0.03),
    ("Autorización temporal", 0.07),
    ("Contrato en virtud de aporte", 0.05),
)
APPLICATION_MODALITIES = (
    ("Propuesta de contrato de concesión", 0.80),
    ("Solicitud de legalización (L 1382)", 0.10),
    ("Autorización temporal", 0.10),
)
MINERALS = (
    ("ORO Y SUS CONCENTRADOS, PLATA Y SUS CONCENTRADOS", 0.34),
    ("MINERALES DE METALES PRECIOSOS Y SUS CONCENTRADOS", 0.10),
    ("MATERIALES DE CONSTRUCCIÓN", 0.22),
    ("ARENAS Y GRAVAS NATURALES Y SILÍCEAS", 0.08),
    ("CARBÓN TÉRMICO", 0.10),
    ("CARBÓN METALÚRGICO", 0.03),
    ("ESMERALDAS", 0.03),
    ("CALIZA", 0.04),
    ("COBRE Y SUS CONCENTRADOS, MOLIBDENO", 0.03),
    ("PLATINO Y SUS CONCENTRADOS", 0.03),
)
SCALES = (("PEQUEÑA", 0.55), ("MEDIANA", 0.30), ("GRANDE", 0.05), ("NO APLICA", 0.10))
HOTSPOT_CATEGORIES = (
    ("explotacion_ilicita", 0.55),
    ("en_transito_legalidad", 0.15),
    ("con_permisos", 0.10),
    ("desconocida", 0.20),
)
HOTSPOT_SETTINGS = (("aluvial_tierra", 0.60), ("aluvial_agua", 0.25), ("veta", 0.15))
APTITUDE_SHARES = (0.10, 0.20, 0.30, 0.25, 0.15)  # classes 1..5 (1 = no apta ... 5 = alta)


def _pick(rng: np.random.Generator, table: tuple[tuple[str, float], ...], n: int) -> np.ndarray:
    """Draw n labels from a (label, share) table."""
    labels = np.array([t[0] for t in table], dtype=object)
    shares = np.array([t[1] for t in table])
    return labels[rng.choice(len(labels), size=n, p=shares / shares.sum())]


def _rng(seed: int, output: str, part: int = 0) -> np.random.Generator:
    return np.random.default_rng([seed, STREAM[output], part])


# ---------------------------------------------------------------------------------------------
# Reference geometry


def load_municipalities(mgn: Path = MGN) -> tuple[np.ndarray, np.ndarray]:
    """DANE municipalities (lon/lat geometries) and their DIVIPOLA codes as text."""
    table = pyogrio.read_dataframe(mgn, layer="municipios", columns=["MPIO_CCNCT"])
    codes = table["MPIO_CCNCT"].astype(str).str.zfill(5).to_numpy(dtype=object)
    return shapely.make_valid(table.geometry.to_numpy()), codes


def country_9377(mgn: Path = MGN) -> shapely.Geometry:
    """Colombia as the union of DANE departments, in EPSG:9377."""
    table = pyogrio.read_dataframe(mgn, layer="departamentos", columns=[])
    union = shapely.union_all(shapely.make_valid(table.geometry.to_numpy()))
    return _project(union)


def department_9377(code: str, mgn: Path = MGN) -> shapely.Geometry:
    """One DANE department (by 2-digit code) in EPSG:9377."""
    table = pyogrio.read_dataframe(mgn, layer="departamentos", columns=["DPTO_CCDGO"])
    rows = table[table["DPTO_CCDGO"].astype(str).str.zfill(2) == code]
    if rows.empty:
        raise SystemExit(f"Departamento {code!r} no existe en {mgn}")
    return _project(shapely.union_all(shapely.make_valid(rows.geometry.to_numpy())))


def _project(geoms, transformer: Transformer = _TO_9377):
    """Reproject shapely geometries (scalar or array) with a pyproj transformer."""
    return shapely.transform(geoms, lambda xy: np.column_stack(transformer.transform(*xy.T)))


# ---------------------------------------------------------------------------------------------
# Tenures


def _seed_points(
    rng: np.random.Generator,
    n: int,
    centres: np.ndarray,
    tree: shapely.STRtree,
) -> tuple[np.ndarray, np.ndarray]:
    """n lon/lat points scattered around cluster centres, each inside a municipality."""
    lon = np.empty(n)
    lat = np.empty(n)
    muni = np.empty(n, dtype=np.int64)
    filled = 0
    while filled < n:
        want = int((n - filled) * 1.6) + 16
        centre = centres[rng.integers(len(centres), size=want)]
        # ~5 km scatter around the district centre, heavier tails for outliers.
        xy = centre + rng.standard_t(4, size=(want, 2)) * 0.045
        point_idx, muni_idx = tree.query(shapely.points(xy), predicate="within")
        first_point, first = np.unique(point_idx, return_index=True)
        take = min(len(first_point), n - filled)
        lon[filled : filled + take] = xy[first_point[:take], 0]
        lat[filled : filled + take] = xy[first_point[:take], 1]
        muni[filled : filled + take] = muni_idx[first[:take]]
        filled += take
    return np.column_stack([lon, lat]), muni


def _district_centres(rng: np.random.Generator, n: int, tree: shapely.STRtree) -> np.ndarray:
    """Random lon/lat points inside Colombia: the centres tenures cluster around."""
    out = []
    while sum(len(o) for o in out) < n:
        xy = np.column_stack([rng.uniform(-79.1, -66.8, 4 * n), rng.uniform(-4.3, 12.5, 4 * n)])
        inside = np.unique(tree.query(shapely.points(xy), predicate="within")[0])
        out.append(xy[inside])
    return np.concatenate(out)[:n]


def _grow_blobs(rng: np.random.Generator, sizes: np.ndarray) -> np.ndarray:
    """Connected random cell sets (Eden growth) of the given sizes, one TILE x TILE mask each.

    Small blobs grow in smaller windows (the cost is window area x steps), then are centred
    in the common TILE window so the seed cell always sits at (TILE // 2, TILE // 2).
    """
    masks = np.zeros((len(sizes), TILE, TILE), dtype=bool)
    stretch = rng.uniform(0.0, 0.3, len(sizes)).astype(np.float32)
    across = rng.random(len(sizes)) < 0.5
    for window, upto in ((12, 20), (20, 80), (TILE, MAX_CELLS)):
        lower = 0 if window == 12 else (20 if window == 20 else 80)
        group = np.flatnonzero((sizes > lower) & (sizes <= upto))
        if not len(group):
            continue
        grown = _eden(rng, sizes[group], window, stretch[group], across[group])
        lo = TILE // 2 - window // 2
        masks[group, lo : lo + window, lo : lo + window] = grown
    return masks


def _eden(
    rng: np.random.Generator,
    sizes: np.ndarray,
    window: int,
    stretch: np.ndarray,
    across: np.ndarray,
) -> np.ndarray:
    """Eden growth of len(sizes) blobs in window x window masks from the centre cell."""
    n = len(sizes)
    mid = window // 2
    done = np.zeros((n, window * window), dtype=bool)
    rows, cols = np.indices((window, window))
    # Cells far off the blob's long axis wait longer: elongated, ANM-like outlines. Priorities
    # are int16 (random 0..255 plus the penalty) to keep each growth step cheap.
    off = np.where(
        across[:, None], np.abs(cols - mid).reshape(1, -1), np.abs(rows - mid).reshape(1, -1)
    )
    penalty = (off * (stretch[:, None] * 256)).astype(np.int16)
    ids = np.arange(n)
    masks = np.zeros((n, window * window), dtype=bool)
    masks[:, mid * window + mid] = True
    count = np.ones(n, dtype=np.int64)
    need_total = sizes.astype(np.int64)
    while len(ids):
        m = masks.reshape(-1, window, window)
        grown = m.copy()
        grown[:, 1:, :] |= m[:, :-1, :]
        grown[:, :-1, :] |= m[:, 1:, :]
        grown[:, :, 1:] |= m[:, :, :-1]
        grown[:, :, :-1] |= m[:, :, 1:]
        frontier = (grown & ~m).reshape(len(ids), -1)
        priority = rng.integers(0, 256, size=frontier.shape, dtype=np.int16)
        priority += penalty
        priority[~frontier] = np.iinfo(np.int16).max
        # Take the frontier cells within 128 of the best one (about half of it: irregular
        # outlines); where that overshoots the size, take exactly the best `need` ones.
        best = priority.min(axis=1)
        add = priority <= (best + 128)[:, None]
        need = need_total - count
        over = np.flatnonzero(add.sum(axis=1) > need)
        if len(over):
            ranked = np.sort(priority[over], axis=1)
            cut = ranked[np.arange(len(over)), need[over] - 1]
            # Ties at the cut could overshoot: break them by position, first come first.
            pick = priority[over] < cut[:, None]
            ties = np.cumsum(priority[over] == cut[:, None], axis=1)
            room = need[over] - pick.sum(axis=1)
            add[over] = pick | ((priority[over] == cut[:, None]) & (ties <= room[:, None]))
        masks |= add
        count += add.sum(axis=1)
        finished = count >= need_total
        if finished.any():
            done[ids[finished]] = masks[finished]
            keep = ~finished
            ids, masks, count = ids[keep], masks[keep], count[keep]
            penalty, need_total = penalty[keep], need_total[keep]
    return done.reshape(n, window, window)


def _blob_polygons(masks: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """Outline each mask as one polygon on the ANM grid, in EPSG:9377 (index = mask index)."""
    n = len(masks)
    cols = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    labels = np.zeros((rows * cols, TILE, TILE), dtype=np.int32)
    labels[:n] = masks * np.arange(1, n + 1, dtype=np.int32)[:, None, None]
    mosaic = labels.reshape(rows, cols, TILE, TILE).transpose(0, 2, 1, 3)
    mosaic = np.ascontiguousarray(mosaic.reshape(rows * TILE, cols * TILE))
    del labels
    rings: list[list] = []
    ring_owner: list[int] = []
    for shape, value in rasterio.features.shapes(mosaic, mask=mosaic > 0, connectivity=4):
        # One 4-connected region per label: a blob is connected by construction.
        rings.extend(shape["coordinates"])
        ring_owner.extend([int(value) - 1] * len(shape["coordinates"]))
    lengths = np.fromiter((len(r) for r in rings), dtype=np.int64, count=len(rings))
    xy = np.fromiter(
        chain.from_iterable(chain.from_iterable(rings)), dtype=np.float64, count=2 * lengths.sum()
    ).reshape(-1, 2)
    owner = np.repeat(np.array(ring_owner, dtype=np.int64), lengths)
    mid = TILE // 2
    # Pixel (x, y) of tile k -> lon/lat: the seed cell's top-left corner sits at (mid, mid).
    lon = corners[owner, 0] + (xy[:, 0] - (owner % cols) * TILE - mid) * CELL_DEG
    lat = corners[owner, 1] - (xy[:, 1] - (owner // cols) * TILE - mid) * CELL_DEG
    x, y = _TO_9377.transform(lon, lat)
    ring_geoms = shapely.linearrings(
        np.column_stack([x, y]), indices=np.repeat(np.arange(len(rings)), lengths)
    )
    ring_owner_arr = np.array(ring_owner, dtype=np.int64)
    order = np.argsort(ring_owner_arr, kind="stable")  # shells come before their holes
    polygons = shapely.polygons(ring_geoms[order], indices=ring_owner_arr[order])
    bad = ~shapely.is_valid(polygons)
    if bad.any():
        # Cells touching only by a corner can pinch an outline; repair keeps the same area.
        polygons[bad] = shapely.make_valid(polygons[bad])
    return polygons


def _expediente_codes(start: int, n: int, seed: int) -> np.ndarray:
    """Unique 'ABC-12345' codes: an affine bijection of the tenure index over the code space."""
    space = 26**3 * 100_000
    k = np.arange(start, start + n, dtype=np.int64)
    # 48271 is prime and coprime with 26^3 * 10^5, so k -> code never repeats.
    value = (k * 48_271 + (seed * 7_919) % space) % space
    letters, digits = np.divmod(value, 100_000)
    a, rest = np.divmod(letters, 26 * 26)
    b, c = np.divmod(rest, 26)
    alphabet = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"), dtype=object)
    number = np.char.zfill(digits.astype(str), 5).astype(object)
    return alphabet[a] + alphabet[b] + alphabet[c] + "-" + number


def _tenure_attributes(
    rng: np.random.Generator, n: int, start: int, seed: int, area_ha: np.ndarray
) -> dict[str, np.ndarray]:
    """ANM AnnA Minería export fields for n tenures."""
    is_title = rng.random(n) < 0.37
    state = np.where(
        is_title, _pick(rng, TITLE_STATES, n), _pick(rng, APPLICATION_STATES, n)
    ).astype(object)
    stage = np.where(is_title, _pick(rng, STAGES, n), None).astype(object)
    modality = np.where(
        is_title, _pick(rng, TITLE_MODALITIES, n), _pick(rng, APPLICATION_MODALITIES, n)
    ).astype(object)
    holders_n = rng.choice([1, 2, 3], size=n, p=[0.75, 0.18, 0.07])
    holder_ids = rng.integers(1, 60_000, size=(n, 3))
    holders = np.array(
        [
            "; ".join(f"TITULAR SINTETICO {h:05d} S.A.S." for h in ids[:m])
            for ids, m in zip(holder_ids, holders_n, strict=True)
        ],
        dtype=object,
    )
    start_ms = int(dt.datetime(1990, 1, 1, tzinfo=dt.UTC).timestamp() * 1000)
    end_ms = int(dt.datetime(2024, 12, 31, tzinfo=dt.UTC).timestamp() * 1000)
    # Whole days at midnight Bogotá (UTC-5), as ANM exports dates.
    day = 86_400_000
    filed = start_ms + rng.integers(0, (end_ms - start_ms) // day, size=n) * day + 5 * 3_600_000
    return {
        "CODIGO_EXPEDIENTE": _expediente_codes(start, n, seed),
        "TITULO_ESTADO": state,
        "ETAPA": stage,
        "MODALIDAD": modality,
        "MINERALES": _pick(rng, MINERALS, n),
        "SOLICITANTES_O_TITULARES": holders,
        "CLASIFICACION_MINERIA": _pick(rng, SCALES, n),
        "AREA_HA": np.round(area_ha, 4),
        "FECHA_RADICACION": filed.astype(np.int64),
    }


_WORKER: dict[str, object] = {}


def _init_worker(mgn: Path, centres: np.ndarray) -> None:
    """Per-process state: the municipality index and the district centres."""
    geoms, codes = load_municipalities(mgn)
    _WORKER.update(tree=shapely.STRtree(geoms), codes=codes, centres=centres)


def _tenure_chunk(job: tuple[int, int, int, int, int, int]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One chunk of tenures (and the hotspots that go with it), from its own random stream."""
    part, start, size, seed, first_hotspot, hotspots = job
    rng = _rng(seed, "tenures", part + 1)
    lonlat, muni = _seed_points(rng, size, _WORKER["centres"], _WORKER["tree"])
    # Log-uniform size: many small tenures, a long tail of large ones.
    cells = np.exp(rng.uniform(np.log(MIN_CELLS), np.log(MAX_CELLS + 1), size)).astype(int)
    cells = np.clip(cells, MIN_CELLS, MAX_CELLS)
    corners = np.column_stack(
        [
            np.floor(lonlat[:, 0] / CELL_DEG) * CELL_DEG,
            np.ceil(lonlat[:, 1] / CELL_DEG) * CELL_DEG,
        ]
    )
    polygons = _blob_polygons(_grow_blobs(rng, cells), corners)
    table = pd.DataFrame(_tenure_attributes(rng, size, start, seed, shapely.area(polygons) / 1e4))
    table["MPIO_CCNCT"] = _WORKER["codes"][muni]
    # WKB crosses the process boundary far cheaper than pickled shapely objects.
    table["geometry"] = multipolygon_wkb(polygons)
    spots = hotspot_table(_rng(seed, "hotspots", part), polygons, hotspots, first_hotspot)
    if len(spots):
        spots["geometry"] = multipolygon_wkb(spots["geometry"].to_numpy())
    return table, spots


def _jobs(n: int, seed: int, chunk_size: int, hotspots: int) -> list[tuple[int, ...]]:
    """Chunk boundaries; the hotspot total is spread over chunks in proportion, exactly."""
    jobs = []
    for part, start in enumerate(range(0, n, chunk_size)):
        size = min(chunk_size, n - start)
        first = hotspots * start // n
        jobs.append((part, start, size, seed, first, hotspots * (start + size) // n - first))
    return jobs


def tenure_chunks(
    n: int,
    *,
    seed: int,
    chunk_size: int = 10_000,
    hotspots: int = 0,
    workers: int = 1,
    mgn: Path = MGN,
) -> Iterator[tuple[pd.DataFrame, pd.DataFrame]]:
    """Yield (tenures, hotspots) DataFrames with a `geometry` column in EPSG:9377, in order.

    The result does not depend on `workers`: every chunk draws from its own random stream.
    """
    geoms, _ = load_municipalities(mgn)
    centres = _district_centres(_rng(seed, "tenures"), max(20, n // 40), shapely.STRtree(geoms))
    jobs = _jobs(n, seed, chunk_size, hotspots)
    if workers <= 1:
        _init_worker(mgn, centres)
        yield from map(_tenure_chunk, jobs)
        return
    context = multiprocessing.get_context("fork")
    with context.Pool(workers, initializer=_init_worker, initargs=(mgn, centres)) as pool:
        yield from pool.imap(_tenure_chunk, jobs)


def write_tenures(
    path: Path | None,
    n: int,
    *,
    seed: int,
    chunk_size: int = 10_000,
    hotspots_path: Path | None = None,
    hotspots: int = 0,
    workers: int = 1,
    mgn: Path = MGN,
) -> dict[str, int]:
    """Stream n tenures to a GeoPackage (unless path is None) and hotspots along them."""
    written = {"tenures": 0, "hotspots": 0}
    hotspots = hotspots if hotspots_path is not None else 0
    for target in (path, hotspots_path):
        if target is not None and target.exists():
            target.unlink()
    chunks = tenure_chunks(
        n, seed=seed, chunk_size=chunk_size, hotspots=hotspots, workers=workers, mgn=mgn
    )
    for table, spots in chunks:
        if path is not None:
            _append(path, "tenures", table)
            written["tenures"] += len(table)
        if hotspots_path is not None and len(spots):
            _append(hotspots_path, "hotspots", spots)
            written["hotspots"] += len(spots)
    return written


def multipolygon_wkb(geoms: np.ndarray) -> np.ndarray:
    """Polygons or multipolygons as MultiPolygon WKB (the stored type), dropping stray parts."""
    parts, index = shapely.get_parts(geoms, return_index=True)
    polygonal = shapely.get_type_id(parts) == 3
    out = shapely.multipolygons(parts[polygonal], indices=index[polygonal])
    return shapely.to_wkb(out)


def _field(values: np.ndarray) -> np.ndarray:
    """Column as written: timestamps at midnight become days (a GeoPackage Date field)."""
    if np.issubdtype(values.dtype, np.datetime64):
        days = values.astype("datetime64[D]")
        if (days == values).all():
            return days
    return values


def _append(path: Path, layer: str, table: pd.DataFrame) -> None:
    """Append a chunk to a GeoPackage layer in EPSG:9377 (created by the first chunk)."""
    geometry = table["geometry"].to_numpy()
    if len(geometry) and not isinstance(geometry[0], bytes):
        geometry = multipolygon_wkb(geometry)
    fields = [c for c in table.columns if c != "geometry"]
    pyogrio.raw.write(
        path,
        geometry,
        [_field(table[c].to_numpy()) for c in fields],
        fields,
        layer=layer,
        driver="GPKG",
        crs=CRS,
        geometry_type="MultiPolygon",
        encoding="UTF-8",
        append=path.exists(),
    )


# ---------------------------------------------------------------------------------------------
# Hotspots


def hotspot_table(
    rng: np.random.Generator, tenures: np.ndarray, n: int, first_id: int = 0
) -> pd.DataFrame:
    """n small elliptical hotspots in EPSG:9377 near the given tenure polygons."""
    if n == 0 or len(tenures) == 0:
        return pd.DataFrame({"geometry": np.empty(0, dtype=object)})
    host = rng.integers(len(tenures), size=n)
    minx, miny, maxx, maxy = shapely.bounds(tenures[host]).T
    inside = rng.random(n) < 0.6
    # 60% on the tenure's footprint, the rest scattered a few km around it (illicit mining
    # mostly works beside the titles, along the same rivers).
    cx = np.where(inside, rng.uniform(minx, maxx), (minx + maxx) / 2 + rng.normal(0, 3_000, n))
    cy = np.where(inside, rng.uniform(miny, maxy), (miny + maxy) / 2 + rng.normal(0, 3_000, n))
    rx = np.exp(rng.uniform(np.log(30), np.log(300), n))
    ry = rx * rng.uniform(0.3, 1.0, n)
    turn = rng.uniform(0, np.pi, n)
    t = np.linspace(0, 2 * np.pi, 13)[:-1]
    ex = (
        rx[:, None] * np.cos(t) * np.cos(turn)[:, None]
        - ry[:, None] * np.sin(t) * np.sin(turn)[:, None]
    )
    ey = (
        rx[:, None] * np.cos(t) * np.sin(turn)[:, None]
        + ry[:, None] * np.sin(t) * np.cos(turn)[:, None]
    )
    ring = np.stack([cx[:, None] + ex, cy[:, None] + ey], axis=-1)
    ring = np.concatenate([ring, ring[:, :1]], axis=1)
    polygons = shapely.polygons(ring)
    first_day, last_day = np.datetime64("2014-01-01"), np.datetime64("2024-12-31")
    days = rng.integers(0, (last_day - first_day).astype(int), size=n)
    category = _pick(rng, HOTSPOT_CATEGORIES, n)
    return pd.DataFrame(
        {
            "source": "datagen (sintético)",
            "source_id": np.char.add(
                "H", np.char.zfill(np.arange(first_id, first_id + n).astype(str), 8)
            ),
            "category": category,
            "setting": _pick(rng, HOTSPOT_SETTINGS, n),
            "detected_on": first_day + days,  # datetime64[D]: a GeoPackage Date field
            "area_ha": np.round(shapely.area(polygons) / 10_000, 4),
            "confidence": np.round(rng.beta(5, 2, n), 3),
            "synthetic": True,
            "geometry": polygons,
        }
    )


# ---------------------------------------------------------------------------------------------
# Hydro units


def hydro_units(n: int, *, seed: int, mgn: Path = MGN) -> pd.DataFrame:
    """n Voronoi hydro units covering Colombia with an acyclic NEXT_DOWN drainage tree."""
    rng = _rng(seed, "hydro")
    country = country_9377(mgn)
    shapely.prepare(country)
    minx, miny, maxx, maxy = country.bounds
    points = np.empty((0, 2))
    while len(points) < n:
        xy = np.column_stack([rng.uniform(minx, maxx, 2 * n), rng.uniform(miny, maxy, 2 * n)])
        points = np.concatenate([points, xy[shapely.contains_xy(country, xy[:, 0], xy[:, 1])]])
    points = points[:n]
    envelope = shapely.box(minx - 1e5, miny - 1e5, maxx + 1e5, maxy + 1e5)
    cells = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(points), extend_to=envelope, ordered=True)
    )
    whole = shapely.contains_properly(country, cells)
    units = cells.copy()
    edge = np.flatnonzero(~whole)
    units[edge] = shapely.intersection(cells[edge], country, grid_size=None)
    units[edge] = shapely.make_valid(units[edge])
    units = np.array([_polygonal(g) for g in units], dtype=object)
    adjacency = _adjacency(points, units)
    next_down = _drainage_tree(rng, adjacency, ~whole, n)
    area_km2 = shapely.area(units) / 1e6
    up_area = _accumulate(next_down, area_km2)
    outlet_of = _outlets(next_down)
    pfaf = _pfafstetter(next_down, area_km2, outlet_of)
    hybas = 6_100_000_000 + np.arange(1, n + 1, dtype=np.int64)  # region 6, level 10
    hybas_of = np.concatenate([[0], hybas])
    return pd.DataFrame(
        {
            "HYBAS_ID": hybas,
            "NEXT_DOWN": hybas_of[next_down + 1],
            "NEXT_SINK": hybas[outlet_of],
            "MAIN_BAS": hybas[outlet_of],
            "SUB_AREA": np.round(area_km2, 3),
            "UP_AREA": np.round(up_area, 3),
            "PFAF_ID": pfaf,
            "ENDO": np.zeros(n, dtype=np.int32),
            "COAST": np.zeros(n, dtype=np.int32),
            "ORDER": _strahler(next_down),
            "synthetic": True,
            "geometry": units,
        }
    )


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """The polygonal part of a clipped cell (clipping can leave stray lines or points)."""
    if shapely.get_type_id(geom) in (3, 6):
        return geom
    parts = shapely.get_parts(geom)
    return shapely.multipolygons(parts[np.isin(shapely.get_type_id(parts), (3,))])


def _adjacency(points: np.ndarray, units: np.ndarray) -> sparse.csr_matrix:
    """Units sharing an edge: Delaunay neighbours, checked geometrically where clipped."""
    from scipy.spatial import Delaunay

    tri = Delaunay(points)
    indptr, neighbours = tri.vertex_neighbor_vertices
    a = np.repeat(np.arange(len(points)), np.diff(indptr))
    b = neighbours
    keep = a < b
    a, b = a[keep], b[keep]
    # Delaunay neighbours share a Voronoi edge unless it is degenerate (a point) or was
    # clipped away (across a bay or a border): keep pairs whose common boundary has length.
    shared = shapely.length(shapely.intersection(units[a], units[b])) > 1.0
    a, b = a[shared], b[shared]
    n = len(points)
    data = np.ones(2 * len(a))
    return sparse.csr_matrix((data, (np.concatenate([a, b]), np.concatenate([b, a]))), (n, n))


def _drainage_tree(
    rng: np.random.Generator, adjacency: sparse.csr_matrix, on_edge: np.ndarray, n: int
) -> np.ndarray:
    """next_down index per unit (-1 for outlets): a random shortest-path forest from outlets."""
    n_comp, comp = csgraph.connected_components(adjacency, directed=False)
    edge_units = np.flatnonzero(on_edge)
    outlets = set(
        rng.choice(edge_units, size=min(len(edge_units), max(3, n // 100)), replace=False).tolist()
    )
    for c in range(n_comp):
        members = np.flatnonzero(comp == c)
        if not outlets.intersection(members.tolist()):
            candidates = np.intersect1d(members, edge_units)
            outlets.add(int(rng.choice(candidates if len(candidates) else members)))
    coo = adjacency.tocoo()
    upper = coo.row < coo.col
    weights = rng.exponential(1.0, upper.sum()) + 0.05
    w = sparse.coo_matrix(
        (
            np.concatenate([weights, weights]),
            (
                np.concatenate([coo.row[upper], coo.col[upper]]),
                np.concatenate([coo.col[upper], coo.row[upper]]),
            ),
        ),
        shape=adjacency.shape,
    ).tocsr()
    outlet_list = np.array(sorted(outlets))
    _, predecessors, _ = csgraph.dijkstra(
        w, directed=False, indices=outlet_list, min_only=True, return_predecessors=True
    )
    next_down = predecessors.astype(np.int64)
    next_down[next_down < 0] = -1
    next_down[outlet_list] = -1
    return next_down


def _topological(next_down: np.ndarray) -> np.ndarray:
    """Units ordered from headwaters to outlets (every unit before the one it drains into)."""
    n = len(next_down)
    indegree = np.bincount(next_down[next_down >= 0], minlength=n)
    queue = list(np.flatnonzero(indegree == 0))
    order = []
    while queue:
        u = queue.pop()
        order.append(u)
        d = next_down[u]
        if d >= 0:
            indegree[d] -= 1
            if indegree[d] == 0:
                queue.append(d)
    if len(order) != n:
        raise RuntimeError("drainage graph has a cycle")
    return np.array(order, dtype=np.int64)


def _accumulate(next_down: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Upstream sums of values along the drainage tree (UP_AREA from SUB_AREA)."""
    total = values.astype(float).copy()
    for u in _topological(next_down):
        if next_down[u] >= 0:
            total[next_down[u]] += total[u]
    return total


def _outlets(next_down: np.ndarray) -> np.ndarray:
    """Index of the outlet each unit finally drains to."""
    outlet = np.arange(len(next_down))
    for u in _topological(next_down)[::-1]:
        if next_down[u] >= 0:
            outlet[u] = outlet[next_down[u]]
    return outlet


def _strahler(next_down: np.ndarray) -> np.ndarray:
    """Strahler order of each unit's reach along the drainage tree."""
    n = len(next_down)
    order = np.ones(n, dtype=np.int32)
    best = np.zeros(n, dtype=np.int32)
    ties = np.zeros(n, dtype=np.int32)
    for u in _topological(next_down):
        if best[u]:
            order[u] = best[u] + 1 if ties[u] > 1 else best[u]
        d = next_down[u]
        if d >= 0:
            if order[u] > best[d]:
                best[d], ties[d] = order[u], 1
            elif order[u] == best[d]:
                ties[d] += 1
    return order


def _pfafstetter(next_down: np.ndarray, area: np.ndarray, outlet_of: np.ndarray) -> np.ndarray:
    """Pfafstetter-style codes: 6, the outlet basin's rank (3 digits), then up to 12 digits."""
    n = len(next_down)
    upstream: list[list[int]] = [[] for _ in range(n)]
    for u, d in enumerate(next_down):
        if d >= 0:
            upstream[d].append(u)
    digits: list[str] = [""] * n
    basins = np.flatnonzero(next_down < 0)
    size = np.bincount(outlet_of, weights=area, minlength=n)[basins]
    depth = 12

    def members_of(root: int, allowed: set[int]) -> list[int]:
        out, stack = [], [root]
        while stack:
            u = stack.pop()
            out.append(u)
            stack.extend(v for v in upstream[u] if v in allowed)
        return out

    def split(units: list[int], root: int, prefix: str) -> None:
        if len(units) == 1 or len(prefix) >= depth:
            for u in units:
                digits[u] = prefix
            return
        allowed = set(units)
        acc = {u: area[u] for u in units}
        for u in reversed(_order_within(units, root, upstream, allowed)):
            d = next_down[u]
            if u != root and d in allowed:
                acc[d] += acc[u]
        stem = [root]
        while True:
            ups = [v for v in upstream[stem[-1]] if v in allowed]
            if not ups:
                break
            stem.append(max(ups, key=lambda v: acc[v]))
        on_stem = set(stem)
        tributaries = [
            (acc[v], i, v)
            for i, s in enumerate(stem)
            for v in upstream[s]
            if v in allowed and v not in on_stem
        ]
        chosen = sorted(heapq.nlargest(4, tributaries), key=lambda t: t[1])
        groups: list[tuple[str, list[int], int]] = []
        if not chosen:
            # A bare chain: cut the main stem into up to 9 reaches, downstream first.
            for k, part in enumerate(np.array_split(np.array(stem), min(9, len(stem)))):
                reach = part.tolist()
                groups.append((str(k + 1), reach, reach[0]))
        else:
            taken: set[int] = set()
            for k, (_, _, v) in enumerate(chosen):
                basin = members_of(v, allowed)
                taken.update(basin)
                groups.append((str(2 * k + 2), basin, v))
            cut = [t[1] for t in chosen]
            bounds = [0, *[c + 1 for c in cut], len(stem)]
            for k in range(len(bounds) - 1):
                reach = stem[bounds[k] : bounds[k + 1]]
                if not reach:
                    continue
                inter = set(reach)
                rest = allowed - taken - on_stem
                # Small tributaries join the inter-basin of the stem unit they drain into.
                for s in reach:
                    for v in upstream[s]:
                        if v in rest:
                            inter.update(members_of(v, rest))
                groups.append((str(2 * k + 1), sorted(inter), reach[0]))
        for digit, group, group_root in groups:
            split(group, group_root, prefix + digit)

    for rank, b in enumerate(np.argsort(-size)):
        root = int(basins[b])
        members = np.flatnonzero(outlet_of == root).tolist()
        split(members, root, "")
        for u in members:
            digits[u] = f"6{rank + 1:03d}" + digits[u]
    width = 4 + depth
    return np.array([int(d.ljust(width, "0")) for d in digits], dtype=np.int64)


def _order_within(units: list[int], root: int, upstream: list[list[int]], allowed: set[int]):
    """Units of a sub-basin from its outlet upstream (breadth first)."""
    order, queue = [], [root]
    while queue:
        u = queue.pop()
        order.append(u)
        queue.extend(v for v in upstream[u] if v in allowed)
    return order


# ---------------------------------------------------------------------------------------------
# Aptitude raster


def write_aptitude(
    path: Path, *, department: str, resolution: float, seed: int, mgn: Path = MGN
) -> dict[str, object]:
    """Aptitude classes 1..5 (nodata 0) over one department as a COG in EPSG:9377."""
    rng = _rng(seed, "aptitude")
    area = department_9377(department, mgn)
    minx, miny, maxx, maxy = area.bounds
    width = int(np.ceil((maxx - minx) / resolution))
    height = int(np.ceil((maxy - miny) / resolution))
    transform = Affine(resolution, 0, np.floor(minx), 0, -resolution, np.ceil(maxy))
    outside = rasterio.features.geometry_mask([area], (height, width), transform)
    field = smooth_noise(rng, (height, width), resolution)
    # Cut at quantiles of the department's own cells so the class shares hold inside it.
    stride = max(1, int(np.sqrt(height * width / 4e6)))
    sample = field[::stride, ::stride][~outside[::stride, ::stride]]
    cuts = np.quantile(sample, np.cumsum(APTITUDE_SHARES)[:-1])
    classes = (np.searchsorted(cuts, field) + 1).astype(np.uint8)
    del field
    classes[outside] = 0
    _write_cog(path, classes, transform, department)
    return {"width": width, "height": height, "resolution": resolution}


def smooth_noise(rng: np.random.Generator, shape: tuple[int, int], resolution: float) -> np.ndarray:
    """Spatially coherent noise: smoothed coarse octaves (~20, 5 and 1 km) upsampled, summed."""
    height, width = shape
    field = np.zeros(shape, dtype=np.float32)
    for scale_m, weight in ((20_000, 1.0), (5_000, 0.45), (1_000, 0.15)):
        step = max(1, int(round(scale_m / resolution / 4)))
        coarse = rng.standard_normal((height // step + 3, width // step + 3)).astype(np.float32)
        coarse = ndimage.gaussian_filter(coarse, 2.0)
        coarse /= coarse.std() or 1.0
        zoomed = ndimage.zoom(coarse, step, order=1, prefilter=False)
        field += weight * zoomed[:height, :width]
    return field


def _write_cog(path: Path, classes: np.ndarray, transform: Affine, department: str) -> None:
    height, width = classes.shape
    profile = {
        "driver": "COG",
        "width": width,
        "height": height,
        "count": 1,
        "dtype": "uint8",
        "crs": CRS,
        "transform": transform,
        "nodata": 0,
        "compress": "deflate",
        "blocksize": 512,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(classes, 1)
        dst.update_tags(
            SYNTHETIC="true",
            SOURCE="bench/datagen.py (sintético)",
            DESCRIPTION=f"Aptitud sintética, clases 1..5, departamento {department}",
        )


# ---------------------------------------------------------------------------------------------


def generate(
    out: Path,
    *,
    seed: int = 977,
    tenures: int = 100_000,
    hotspots: int = 50_000,
    hydro: int = 10_000,
    department: str = "05",
    resolution: float = 100.0,
    only: tuple[str, ...] = OUTPUTS,
    chunk_size: int = 10_000,
    workers: int = 1,
    mgn: Path = MGN,
) -> dict[str, object]:
    """Write the selected outputs under `out`; returns what was written, with timings."""
    out.mkdir(parents=True, exist_ok=True)
    report: dict[str, object] = {"seed": seed, "crs": CRS}
    if "tenures" in only or "hotspots" in only:
        t0 = time.perf_counter()
        counts = write_tenures(
            out / "tenures.gpkg" if "tenures" in only else None,
            tenures,
            seed=seed,
            chunk_size=chunk_size,
            hotspots_path=out / "hotspots.gpkg" if "hotspots" in only else None,
            hotspots=hotspots,
            workers=workers,
            mgn=mgn,
        )
        for key in ("tenures", "hotspots"):
            if key in only:
                report[key] = {"path": str(out / f"{key}.gpkg"), "count": counts[key]}
        report["tenures_hotspots_s"] = round(time.perf_counter() - t0, 2)
    if "hydro" in only:
        t0 = time.perf_counter()
        table = hydro_units(hydro, seed=seed, mgn=mgn)
        target = out / "hydro_units.gpkg"
        if target.exists():
            target.unlink()
        _append(target, "hydro_units", table)
        report["hydro"] = {"path": str(target), "count": len(table)}
        report["hydro_s"] = round(time.perf_counter() - t0, 2)
    if "aptitude" in only:
        t0 = time.perf_counter()
        target = out / f"aptitude_{department}.tif"
        info = write_aptitude(
            target, department=department, resolution=resolution, seed=seed, mgn=mgn
        )
        report["aptitude"] = {"path": str(target), **info}
        report["aptitude_s"] = round(time.perf_counter() - t0, 2)
    return report


def main(argv: list[str] | None = None) -> None:
    """Command line: sizes, seed, output folder and which outputs to write."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--seed", type=int, default=977)
    parser.add_argument("--tenures", type=int, default=100_000)
    parser.add_argument("--hotspots", type=int, default=50_000)
    parser.add_argument("--hydro-units", type=int, default=10_000, dest="hydro")
    parser.add_argument(
        "--department", default="05", help="DIVIPOLA code of the raster's department"
    )
    parser.add_argument("--resolution", type=float, default=100.0, help="raster cell size (m)")
    parser.add_argument("--chunk-size", type=int, default=10_000, help="tenures per chunk")
    parser.add_argument("--workers", type=int, default=2, help="processes generating tenures")
    parser.add_argument(
        "--only",
        action="append",
        choices=OUTPUTS,
        help="write only these outputs (repeatable); default all",
    )
    parser.add_argument("--mgn", type=Path, default=MGN, help="DANE MGN GeoPackage")
    args = parser.parse_args(argv)
    report = generate(
        args.out,
        seed=args.seed,
        tenures=args.tenures,
        hotspots=args.hotspots,
        hydro=args.hydro,
        department=args.department.zfill(2),
        resolution=args.resolution,
        only=tuple(args.only or OUTPUTS),
        chunk_size=args.chunk_size,
        workers=args.workers,
        mgn=args.mgn,
    )
    print(json.dumps(report, ensure_ascii=False))


if __name__ == "__main__":
    sys.exit(main())
