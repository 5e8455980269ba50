"""Store DEM-derived hydrology in the database, and derive `next_down` of official layers.

- `store_derived`: the terrain kernels' sub-catchments become HydroUnit rows (system
  `derived`, codes prefixed by the DEM name, `next_down` linked), their streams River rows.
  Re-deriving the same DEM replaces its previous units and rivers in one transaction.
- `derive_next_down`: for units of a published layer without `next_down`, the unit that the
  cell below each unit's outlet (its highest-accumulation cell) drains into, following the D8
  path. Units the DEM does not cover keep an empty `next_down` and are listed with the
  reason; adjacency alone is never used to guess.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from psycopg import Connection

from geo.crs import STORAGE_SRID

# ESRI D8 encoding: 1 E, 2 SE, 4 S, 8 SW, 16 W, 32 NW, 64 N, 128 NE (row, col offsets).
D8_OFFSETS = {
    1: (0, 1),
    2: (1, 1),
    4: (1, 0),
    8: (1, -1),
    16: (0, -1),
    32: (-1, -1),
    64: (-1, 0),
    128: (-1, 1),
}
# A unit counts as covered when the DEM has valid cells over this share of its area.
MIN_COVERAGE = 0.95
DERIVED = "derived"


@dataclass
class NextDownSummary:
    """What `derive_next_down` did, for the import summary and the CLI."""

    linked: dict[int, int] = field(default_factory=dict)  # unit -> unit it drains into
    outlets: list[int] = field(default_factory=list)  # drain off the DEM or out of the layer
    uncovered: dict[int, float] = field(default_factory=dict)  # unit -> DEM coverage share

    def messages(self) -> list[str]:
        """Spanish lines for the import summary."""
        lines = [
            f"next_down derivado del DEM para {len(self.linked)} unidades; "
            f"{len(self.outlets)} drenan fuera de la capa (salidas)."
        ]
        if self.uncovered:
            lines.append(
                f"{len(self.uncovered)} unidades quedan sin next_down: el DEM no las cubre "
                f"(cobertura < {MIN_COVERAGE:.0%}; no se deduce por adyacencia)."
            )
        return lines


def _step(direction: np.ndarray, row: int, col: int) -> tuple[int, int] | None:
    offset = D8_OFFSETS.get(int(direction[row, col]))
    if offset is None:
        return None  # a sink, an edge exit or nodata: the water leaves here
    r, c = row + offset[0], col + offset[1]
    if not (0 <= r < direction.shape[0] and 0 <= c < direction.shape[1]):
        return None
    return r, c


def next_down_from_grids(
    labels: np.ndarray,
    direction: np.ndarray,
    accumulation: np.ndarray,
    max_steps: int | None = None,
) -> tuple[dict[int, int | None], dict[int, tuple[int, int]]]:
    """Per label (>0): the label its outlet drains into (None = leaves the grid) and the outlet.

    The outlet is the label's highest-accumulation cell; from there the D8 path is followed
    (through unlabelled gaps and cells of the same label) until it enters another label or
    leaves the grid.
    """
    flat_labels = labels.ravel()
    flat_acc = np.where(np.isfinite(accumulation), accumulation, -np.inf).ravel()
    inside = np.flatnonzero(flat_labels > 0)
    if inside.size == 0:
        return {}, {}
    # Sort by label then accumulation: the last cell of each label group is its outlet.
    order = inside[np.lexsort((flat_acc[inside], flat_labels[inside]))]
    sorted_labels = flat_labels[order]
    last = np.flatnonzero(np.r_[sorted_labels[1:] != sorted_labels[:-1], True])
    limit = max_steps or labels.size
    result: dict[int, int | None] = {}
    outlets: dict[int, tuple[int, int]] = {}
    width = labels.shape[1]
    for index in order[last]:
        label = int(flat_labels[index])
        row, col = divmod(int(index), width)
        outlets[label] = (row, col)
        target = None
        cell: tuple[int, int] | None = (row, col)
        for _ in range(limit):
            cell = _step(direction, *cell)
            if cell is None:
                break
            found = int(labels[cell])
            if found > 0 and found != label:
                target = found
                break
        result[label] = target
    return result, outlets


def derive_next_down(
    conn: Connection,
    unit_ids: Sequence[int],
    dem_path: Path,
    *,
    overwrite: bool = False,
    grids=None,
) -> NextDownSummary:
    """Fill `next_down` of these units from a DEM; uncovered units stay empty and are listed.

    `grids` (with `direction` in ESRI D8 and `accumulation` arrays on the DEM grid) defaults
    to the conditioned DEM; units that already have `next_down` keep it unless `overwrite`.
    """
    import rasterio
    from rasterio.features import rasterize
    from shapely import wkb

    summary = NextDownSummary()
    if not unit_ids:
        return summary
    if grids is None:
        from hydrology.catchment_service import conditioned

        grids = conditioned(dem_path)
    with rasterio.open(dem_path) as src:
        crs_wkt = src.crs.to_wkt()
        transform = src.transform
        shape = (src.height, src.width)
        valid = ~src.read(1, masked=True).mask if src.nodata is not None else None
    rows = conn.execute(
        "SELECT id, ST_AsBinary(ST_Transform(geom, %s)), next_down_id "
        "FROM hydrology_hydrounit WHERE id = ANY(%s)",
        [_srid_of(crs_wkt), list(unit_ids)],
    ).fetchall()
    shapes = [(wkb.loads(bytes(geom)), unit) for unit, geom, _ in rows]
    labels = rasterize(shapes, out_shape=shape, transform=transform, fill=0, dtype="int64")
    if valid is None:
        valid = np.ones(shape, dtype=bool)
    valid = np.broadcast_to(valid, shape)
    cell_area = abs(transform.a * transform.e)
    counts = np.bincount(labels[valid].ravel(), minlength=1)
    covered: set[int] = set()
    for geom, unit in shapes:
        cells = counts[unit] if unit < counts.size else 0
        coverage = cells * cell_area / geom.area if geom.area > 0 else 0.0
        if coverage >= MIN_COVERAGE:
            covered.add(unit)
        else:
            summary.uncovered[unit] = round(min(coverage, 1.0), 4)
    labels = np.where(np.isin(labels, list(covered)), labels, 0)
    links, _ = next_down_from_grids(labels, grids.direction, grids.accumulation)
    existing = {unit: down for unit, _, down in rows}
    for unit in sorted(covered):
        target = links.get(unit)
        if existing[unit] is not None and not overwrite:
            continue
        if target is None:
            summary.outlets.append(unit)
        else:
            summary.linked[unit] = target
    with conn.transaction():
        for unit, target in summary.linked.items():
            conn.execute(
                "UPDATE hydrology_hydrounit SET next_down_id = %s WHERE id = %s", [target, unit]
            )
        if overwrite and summary.outlets:
            conn.execute(
                "UPDATE hydrology_hydrounit SET next_down_id = NULL WHERE id = ANY(%s)",
                [summary.outlets],
            )
    return summary


def _srid_of(crs_wkt: str) -> int:
    from geo.crs import srid_of

    srid = srid_of(crs_wkt)
    if srid is None:
        from geo.errors import Unprocessable

        raise Unprocessable("El DEM no tiene un CRS con código EPSG conocido.", where="dem")
    return srid


@dataclass
class StoredDerivation:
    """Rows written by `store_derived`."""

    batch_id: int
    units: int
    rivers: int
    outlets: int
    prefix: str


def dem_prefix(dem_path: Path | str) -> str:
    """Code prefix of units derived from a DEM: its file stem."""
    return Path(dem_path).stem


def store_derived(
    conn: Connection,
    dem_path: Path,
    subcatchments: Iterable,
    streams: Iterable,
    crs_wkt: str,
    *,
    user: str = "",
    threshold_km2: float | None = None,
    prefix: str | None = None,
) -> StoredDerivation:
    """Replace the derived units and rivers of this DEM with new ones, in one transaction.

    `subcatchments` items have `code`, `next_down` (code or None), `level`, `geometry`
    (shapely, DEM CRS); `streams` items have `strahler_order` and `geometry` (lines).
    """
    from shapely import wkb
    from shapely.geometry import MultiLineString, MultiPolygon

    prefix = prefix or dem_prefix(dem_path)
    src_srid = _srid_of(crs_wkt)
    source = f"DEM {prefix}"
    units = list(subcatchments)
    lines = list(streams)
    with conn.transaction():
        batch_id = conn.execute(
            'INSERT INTO layers_importbatch (layer, file_name, source_layer, checksum, "user", '
            "started_at, counts) VALUES ('hydro_units', %s, 'derived', '', %s, now(), '{}') "
            "RETURNING id",
            [str(dem_path), user],
        ).fetchone()[0]
        conn.execute(
            "UPDATE hydrology_hydrounit SET next_down_id = NULL, parent_id = NULL "
            "WHERE system = %s AND code LIKE %s",
            [DERIVED, prefix + "-%"],
        )
        conn.execute(
            "DELETE FROM hydrology_hydrounit WHERE system = %s AND code LIKE %s",
            [DERIVED, prefix + "-%"],
        )
        conn.execute("DELETE FROM hydrology_river WHERE source = %s", [source])
        ids: dict[str, int] = {}
        for record in units:
            geom = record.geometry
            if geom.geom_type == "Polygon":
                geom = MultiPolygon([geom])
            ids[record.code] = conn.execute(
                "INSERT INTO hydrology_hydrounit (system, code, name, level, area_ha, geom, "
                "batch_id) SELECT %s, %s, %s, %s, ST_Area(g) / 10000.0, g, %s FROM ("
                "SELECT ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_Transform("
                "ST_GeomFromWKB(%s, %s), %s)), 3)) AS g) s RETURNING id",
                [
                    DERIVED,
                    f"{prefix}-{record.code}",
                    f"Subcuenca {record.code}",
                    int(getattr(record, "level", 1) or 1),
                    batch_id,
                    wkb.dumps(geom),
                    src_srid,
                    STORAGE_SRID,
                ],
            ).fetchone()[0]
        outlets = 0
        for record in units:
            down = getattr(record, "next_down", None)
            if down is None or down not in ids:
                outlets += 1
                continue
            conn.execute(
                "UPDATE hydrology_hydrounit SET next_down_id = %s WHERE id = %s",
                [ids[down], ids[record.code]],
            )
        for line in lines:
            geom = line.geometry
            if geom.geom_type == "LineString":
                geom = MultiLineString([geom])
            conn.execute(
                "INSERT INTO hydrology_river (name, strahler_order, source, length_km, geom, "
                "batch_id) SELECT '', %s, %s, ST_Length(g) / 1000.0, g, %s FROM ("
                "SELECT ST_Multi(ST_Transform(ST_GeomFromWKB(%s, %s), %s)) AS g) s",
                [
                    int(line.strahler_order),
                    source,
                    batch_id,
                    wkb.dumps(geom),
                    src_srid,
                    STORAGE_SRID,
                ],
            )
        counts = {"units": len(units), "rivers": len(lines), "outlets": outlets}
        if threshold_km2 is not None:
            counts["threshold_km2"] = threshold_km2
        conn.execute(
            "UPDATE layers_importbatch SET finished_at = now(), counts = %s::jsonb WHERE id = %s",
            [json.dumps(counts), batch_id],
        )
    return StoredDerivation(batch_id, len(units), len(lines), outlets, prefix)


@dataclass(frozen=True)
class StreamLine:
    """One stream link to store as a River row."""

    strahler_order: int
    geometry: object  # shapely LineString in the DEM's CRS


def derive_from_dem(
    conn: Connection,
    dem_path: Path,
    threshold_km2: float,
    *,
    force: bool = False,
    user: str = "",
    progress=None,
    prefix: str | None = None,
) -> StoredDerivation:
    """Condition a DEM, extract streams and sub-catchments, and store them (system 'derived').

    `progress(step: str)` is called before each step (the CLI draws its bar with it); unit
    codes are `<prefix>-<code>`, the prefix defaulting to the DEM file's stem.
    Refuses a threshold that would create too many units, with the estimated count.
    """
    from hydrology import catchments, streams
    from hydrology.catchment_service import condition

    def step(name: str) -> None:
        if progress is not None:
            progress(name)

    step("Relleno, direcciones D8 y acumulación")
    grids = condition(Path(dem_path), force=force)
    step("Red de drenaje y orden de Strahler")
    network = streams.extract_streams(grids.fdir, grids.acc, threshold_km2)
    step("Subcuencas y códigos")
    units, _ = catchments.derive_subcatchments(grids.fdir, network)
    lines = [
        StreamLine(int(order), geom)
        for geom, order in zip(network.lines, network.orders, strict=True)
        if geom is not None
    ]
    step("Guardando en la base de datos")
    return store_derived(
        conn,
        Path(dem_path),
        units,
        lines,
        grids.fdir.crs.to_wkt(),
        user=user,
        threshold_km2=threshold_km2,
        prefix=prefix,
    )


def next_down_from_catalogue(
    conn: Connection, unit_ids: Sequence[int], data_dir: Path, *, overwrite: bool = False
) -> NextDownSummary:
    """`derive_next_down` with every catalogued elevation raster that reaches the units.

    Units no DEM covers keep an empty `next_down` and are listed as uncovered (coverage 0).
    """
    summary = NextDownSummary()
    pending = set(unit_ids)
    dems = conn.execute(
        "SELECT name, path, bounds_4326 FROM layers_rasterlayer WHERE theme = 'elevation' "
        "ORDER BY resolution, name"
    ).fetchall()
    for _, stored, bounds in dems:
        if not pending:
            break
        path = Path(stored) if Path(stored).is_absolute() else Path(data_dir) / stored
        if not path.exists():
            continue
        inside = [
            r[0]
            for r in conn.execute(
                "SELECT id FROM hydrology_hydrounit WHERE id = ANY(%s) AND "
                "ST_Transform(geom, 4326) && ST_MakeEnvelope(%s, %s, %s, %s, 4326)",
                [sorted(pending), *bounds],
            ).fetchall()
        ]
        if not inside:
            continue
        found = derive_next_down(conn, inside, path, overwrite=overwrite)
        summary.linked.update(found.linked)
        summary.outlets.extend(found.outlets)
        pending -= set(found.linked) | set(found.outlets)
    for unit in sorted(pending):
        summary.uncovered[unit] = 0.0
    return summary
