"""Stream network from an accumulation threshold: Strahler order and links as LineStrings.

A link runs from a channel head or a junction down to (and including) the next junction
cell, so consecutive links share their junction vertex and the network is connected.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba as nb
import numpy as np
import shapely
from shapely.geometry import LineString

from hydrology.flow import FlowAccumulation
from hydrology.terrain import CODE_INDEX, DC, DR, FlowDirection, TooManyUnits

# More units than this is unmanageable as rows, tiles and a drainage graph.
MAX_UNITS = 200_000


def stream_mask(acc: FlowAccumulation, threshold_km2: float) -> np.ndarray:
    """Cells whose upstream area reaches threshold_km2 (bool grid)."""
    if threshold_km2 <= 0:
        raise TooManyUnits("El umbral de área debe ser mayor que 0 km².", where="threshold_km2")
    if acc.uniform_area:
        cells = int(np.ceil(threshold_km2 / float(acc.row_area_km2[0]) - 1e-9))
        return acc.cells >= max(cells, 1)
    return acc.km2() >= np.float32(threshold_km2)


@nb.njit(cache=True)
def _stream_indegree(codes: np.ndarray, streams: np.ndarray) -> np.ndarray:
    h, w = codes.shape
    indeg = np.zeros((h, w), np.uint8)
    for r in range(h):
        for c in range(w):
            if not streams[r, c]:
                continue
            k = CODE_INDEX[codes[r, c]]
            if k == 255:
                continue
            rr = r + DR[k]
            cc = c + DC[k]
            if 0 <= rr < h and 0 <= cc < w and streams[rr, cc]:
                indeg[rr, cc] += 1
    return indeg


@nb.njit(cache=True)
def _count_heads(streams: np.ndarray, indeg: np.ndarray) -> int:
    h, w = streams.shape
    heads = 0
    for r in range(h):
        for c in range(w):
            if streams[r, c] and indeg[r, c] == 0:
                heads += 1
    return heads


def estimate_units(codes: np.ndarray, streams: np.ndarray) -> int:
    """Number of stream links (= sub-catchments) a stream mask yields, from its junctions."""
    indeg = _stream_indegree(codes, streams)
    return _count_links(streams, indeg)


@nb.njit(cache=True)
def _count_links(streams: np.ndarray, indeg: np.ndarray) -> int:
    h, w = streams.shape
    links = 0
    for r in range(h):
        for c in range(w):
            if streams[r, c] and indeg[r, c] != 1:
                links += 1
    return links


def check_unit_count(
    fdir: FlowDirection, streams: np.ndarray, threshold_km2: float, max_units: int = MAX_UNITS
) -> int:
    """Count the links a threshold makes and refuse when there would be too many."""
    units = estimate_units(fdir.codes, streams)
    if units > max_units:
        raise TooManyUnits(
            f"Un umbral de {threshold_km2:g} km² produciría unas {units:,} subcuencas "
            f"(máximo {max_units:,}); use un umbral mayor.".replace(",", "."),
            where="threshold_km2",
            extra={"estimated_units": units, "max_units": max_units},
        )
    return units


@nb.njit(cache=True)
def _strahler_kernel(codes: np.ndarray, streams: np.ndarray) -> np.ndarray:
    h, w = codes.shape
    indeg = _stream_indegree(codes, streams)
    order = np.zeros((h, w), np.uint8)  # incoming max order, then final order
    nmax = np.zeros((h, w), np.uint8)  # how many incoming links carry that max
    for r0 in range(h):
        for c0 in range(w):
            if not streams[r0, c0] or indeg[r0, c0] != 0:
                continue
            r = r0
            c = c0
            while True:
                indeg[r, c] = 255
                if order[r, c] == 0:
                    order[r, c] = 1
                elif nmax[r, c] >= 2:
                    order[r, c] += 1
                k = CODE_INDEX[codes[r, c]]
                if k == 255:
                    break
                rr = r + DR[k]
                cc = c + DC[k]
                if rr < 0 or cc < 0 or rr >= h or cc >= w or not streams[rr, cc]:
                    break
                o = order[r, c]
                if o > order[rr, cc]:
                    order[rr, cc] = o
                    nmax[rr, cc] = 1
                elif o == order[rr, cc]:
                    nmax[rr, cc] += 1
                indeg[rr, cc] -= 1
                if indeg[rr, cc] != 0:
                    break
                r = rr
                c = cc
    return order


def strahler_order(fdir: FlowDirection, streams: np.ndarray) -> np.ndarray:
    """Strahler order of every stream cell (uint8 grid, 0 off the network)."""
    return _strahler_kernel(fdir.codes, streams)


@nb.njit(cache=True)
def _links_kernel(codes: np.ndarray, streams: np.ndarray, labels: np.ndarray):
    """Trace links; label stream cells with link id (1-based); return vertices and topology."""
    h, w = codes.shape
    indeg = _stream_indegree(codes, streams)
    nlinks = 0
    for r in range(h):
        for c in range(w):
            if streams[r, c] and indeg[r, c] != 1:
                nlinks += 1
    start = np.empty(nlinks, np.int64)
    j = 0
    for r in range(h):
        for c in range(w):
            if streams[r, c] and indeg[r, c] != 1:
                start[j] = r * w + c
                labels[r, c] = j + 1
                j += 1
    # First pass: label cells and count vertices per link.
    nvert = np.zeros(nlinks, np.int64)
    last = np.empty(nlinks, np.int64)  # last cell of each link (before the junction)
    for li in range(nlinks):
        i = start[li]
        r = i // w
        c = i - r * w
        n = 1
        while True:
            k = CODE_INDEX[codes[r, c]]
            if k == 255:
                break
            rr = r + DR[k]
            cc = c + DC[k]
            if rr < 0 or cc < 0 or rr >= h or cc >= w or not streams[rr, cc]:
                break
            n += 1  # downstream cell is a vertex (the junction closes the link)
            if indeg[rr, cc] != 1:
                break
            labels[rr, cc] = li + 1
            r = rr
            c = cc
        nvert[li] = n
        last[li] = r * w + c
    ptr = np.zeros(nlinks + 1, np.int64)
    for li in range(nlinks):
        ptr[li + 1] = ptr[li] + nvert[li]
    verts = np.empty(ptr[nlinks], np.int64)
    down = np.zeros(nlinks, np.int64)  # downstream link id (1-based), 0 = outlet
    for li in range(nlinks):
        i = start[li]
        r = i // w
        c = i - r * w
        p = ptr[li]
        verts[p] = i
        p += 1
        while p < ptr[li + 1]:
            k = CODE_INDEX[codes[r, c]]
            r = r + DR[k]
            c = c + DC[k]
            verts[p] = r * w + c
            p += 1
        i = last[li]
        r = i // w
        c = i - r * w
        k = CODE_INDEX[codes[r, c]]
        if k != 255:
            rr = r + DR[k]
            cc = c + DC[k]
            if 0 <= rr < h and 0 <= cc < w and streams[rr, cc]:
                down[li] = labels[rr, cc]
    return start, ptr, verts, down


@dataclass
class StreamNetwork:
    """Stream links: geometry (DEM CRS), Strahler order and the link each drains into."""

    link_ids: np.ndarray  # 1-based ids, also the values of `labels`
    lines: list[LineString | None]
    orders: np.ndarray
    next_down: np.ndarray  # 1-based id of the downstream link, 0 for outlets
    outlet_cells: np.ndarray  # flat index of the last cell of each link
    labels: np.ndarray  # int32 grid: link id of each stream cell, 0 elsewhere
    threshold_km2: float

    def __len__(self) -> int:
        return len(self.link_ids)

    def records(self) -> list[dict]:
        """Plain records: id, order, next_down (None at outlets), LineString."""
        return [
            {
                "id": int(i),
                "order": int(o),
                "next_down": int(d) if d else None,
                "geometry": g,
            }
            for i, o, d, g in zip(
                self.link_ids, self.orders, self.next_down, self.lines, strict=True
            )
        ]


@nb.njit(cache=True)
def _link_strahler(down: np.ndarray) -> np.ndarray:
    """Strahler order of links from their topology (1-based next_down, 0 = outlet)."""
    n = down.size
    indeg = np.zeros(n, np.int64)
    for i in range(n):
        if down[i] > 0:
            indeg[down[i] - 1] += 1
    incoming = np.zeros(n, np.int64)  # highest order arriving
    count = np.zeros(n, np.int64)  # how many arrivals carry it
    order = np.zeros(n, np.int64)
    queue = np.empty(n, np.int64)
    qn = 0
    for i in range(n):
        if indeg[i] == 0:
            queue[qn] = i
            qn += 1
    head = 0
    while head < qn:
        i = queue[head]
        head += 1
        if incoming[i] == 0:
            order[i] = 1
        else:
            order[i] = incoming[i] + (1 if count[i] >= 2 else 0)
        d = down[i] - 1
        if d >= 0:
            if order[i] > incoming[d]:
                incoming[d] = order[i]
                count[d] = 1
            elif order[i] == incoming[d]:
                count[d] += 1
            indeg[d] -= 1
            if indeg[d] == 0:
                queue[qn] = d
                qn += 1
    return order


def extract_streams(
    fdir: FlowDirection,
    acc: FlowAccumulation,
    threshold_km2: float,
    *,
    max_units: int = MAX_UNITS,
) -> StreamNetwork:
    """Stream links where upstream area >= threshold_km2, with Strahler order, as LineStrings.

    Refuses (TooManyUnits, with the estimated count) a threshold that makes more than
    max_units links. Single-cell links at the grid edge get no line (None).
    """
    return streams_from_mask(fdir, stream_mask(acc, threshold_km2), threshold_km2, max_units)


def streams_from_mask(
    fdir: FlowDirection, streams: np.ndarray, threshold_km2: float, max_units: int = MAX_UNITS
) -> StreamNetwork:
    """`extract_streams` on a ready stream mask, so callers can free the accumulation first."""
    check_unit_count(fdir, streams, threshold_km2, max_units)
    labels = np.zeros(fdir.shape, dtype=np.int32)
    start, ptr, verts, down = _links_kernel(fdir.codes, streams, labels)
    del streams
    orders = _link_strahler(down)
    h, w = fdir.shape
    rows, cols = np.divmod(verts, w)
    t = fdir.transform
    xs = t.c + (cols + 0.5) * t.a + (rows + 0.5) * t.b
    ys = t.f + (cols + 0.5) * t.d + (rows + 0.5) * t.e
    counts = np.diff(ptr)
    ok = counts >= 2
    link_of_vertex = np.repeat(np.arange(len(counts)), counts)
    keep = ok[link_of_vertex]
    # shapely wants consecutive indices: renumber the kept links 0..k-1.
    rank = np.cumsum(ok) - 1
    built = shapely.linestrings(
        np.column_stack([xs[keep], ys[keep]]), indices=rank[link_of_vertex[keep]]
    )
    lines: list[LineString | None] = [None] * len(counts)
    for li, geom in zip(np.flatnonzero(ok), built, strict=True):
        lines[li] = geom
    last_idx = verts[ptr[1:] - 1]
    # The last vertex of a link ending in a junction is that junction; its outlet is one before.
    last_own = np.where(down > 0, verts[np.maximum(ptr[1:] - 2, ptr[:-1])], last_idx)
    return StreamNetwork(
        link_ids=np.arange(1, len(counts) + 1),
        lines=lines,
        orders=orders,
        next_down=down,
        outlet_cells=last_own,
        labels=labels,
        threshold_km2=threshold_km2,
    )
