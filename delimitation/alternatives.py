"""Growing proposal alternatives from seed units, always as sets of whole hydro units.

Pure graph code (no database): the engine hands in the units, their drainage (`next_down`)
or, when the hydrographic system publishes no drainage, their shared-boundary adjacency.

With a drainage graph, per cluster of seeds draining to the same place inside the study area:
  (a) the seeds and the units between them: every unit on the downstream path of a seed down
      to the unit where all the cluster's paths have met;
  (b) (a) plus the units receiving that water downstream, up to and including the first unit
      where a larger river joins (another inflow with a bigger upstream area) or up to the
      study area's edge;
  (c) the full upstream catchment (whole system, not only the study area) of the cluster's
      most downstream seed (largest upstream area).
Without a drainage graph (e.g. POMCA basins, published without `next_down`), adjacency is
NOT drainage, so only (a) is built: seeds closer than `gap` non-seed units (by shared
boundary) form a cluster, joined by shortest adjacency paths; (b) and (c) are reported as
unavailable. Every alternative is cut at the maximum area by growing it from its seeds
(breadth first, highest pressure first) and keeping the units that still fit, so a cut
alternative stays connected. Ties always break on the lowest unit id: deterministic.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from geo.spanish_numbers import hectares
from hydrology.topology import DrainageNetwork

LABELS = {
    "a": "Unidades con presión minera y las unidades entre ellas",
    "b": "Alternativa (a) más las unidades receptoras aguas abajo",
    "c": "Cuenca aportante completa de la unidad con presión más aguas abajo",
}


@dataclass(frozen=True)
class Alternative:
    """One candidate district: a kind (a/b/c), the seed cluster it grew from, its units."""

    kind: str
    cluster: int
    unit_ids: tuple[int, ...]
    seeds: tuple[int, ...]
    cut: bool = False

    @property
    def key(self) -> str:
        return f"{self.kind}{self.cluster}"

    @property
    def label(self) -> str:
        return LABELS[self.kind]


@dataclass
class Growth:
    """The alternatives found and the ones that could not be built, with the reason."""

    alternatives: list[Alternative] = field(default_factory=list)
    unavailable: list[dict] = field(default_factory=list)


def cut_to_area(
    units: Iterable[int],
    start: Iterable[int],
    neighbours: dict[int, set[int]],
    area: dict[int, float],
    pressure: dict[int, float],
    max_area: float,
) -> tuple[tuple[int, ...], bool]:
    """The connected part of `units` grown from `start` that fits in `max_area` (and if cut)."""
    allowed = set(units)
    heap = [(0, -pressure.get(s, 0.0), s) for s in sorted(set(start) & allowed)]
    heapq.heapify(heap)
    chosen: set[int] = set()
    seen = {s for _, _, s in heap}
    total = 0.0
    while heap:
        dist, _, unit = heapq.heappop(heap)
        if total + area.get(unit, 0.0) > max_area:
            continue
        chosen.add(unit)
        total += area.get(unit, 0.0)
        for n in sorted(neighbours.get(unit, ())):
            if n in allowed and n not in seen:
                seen.add(n)
                heapq.heappush(heap, (dist + 1, -pressure.get(n, 0.0), n))
    return tuple(sorted(chosen)), chosen != allowed


def _path_in(start: int, down: dict[int, int | None], inside: set[int]) -> list[int]:
    """The downstream path from `start` while it stays inside the study area."""
    path, seen, unit = [], set(), start
    while unit is not None and unit in inside and unit not in seen:
        path.append(unit)
        seen.add(unit)
        unit = down.get(unit)
    return path


def _catchment(outlet: int, ups: dict[int, list[int]]) -> set[int]:
    found, stack = {outlet}, [outlet]
    while stack:
        for u in ups.get(stack.pop(), ()):
            if u not in found:
                found.add(u)
                stack.append(u)
    return found


def drainage_alternatives(
    candidates: set[int],
    seeds: list[int],
    network: DrainageNetwork,
    pressure: dict[int, float],
    max_area: float,
) -> Growth:
    """Alternatives (a), (b), (c) per seed cluster along `next_down` (see the module docstring)."""
    growth = Growth()
    down, area, acc = network.next_down, network.area_ha, network.upstream_ha
    graph, inflows = network.neighbours, network.inflows
    paths = {s: _path_in(s, down, candidates) for s in seeds}
    clusters: dict[int, list[int]] = defaultdict(list)
    for s in seeds:
        clusters[paths[s][-1]].append(s)
    # Cluster numbering by the lowest seed id, so it does not depend on dict order.
    ordered = sorted(clusters.values(), key=min)
    for number, members in enumerate(ordered, start=1):
        members = sorted(members)
        common = set.intersection(*(set(paths[s]) for s in members))
        meet = next(u for u in paths[members[0]] if u in common)
        core: set[int] = set()
        for s in members:
            p = paths[s]
            core.update(p[: p.index(meet) + 1])
        cuts = [("a", core, members)]
        receiving = set(core)
        previous, unit = meet, down.get(meet)
        while unit is not None and unit in candidates and unit not in receiving:
            receiving.add(unit)
            larger = [
                i for i in inflows.get(unit, ()) if i != previous and acc.get(i, 0) > acc[previous]
            ]
            if larger:
                break
            previous, unit = unit, down.get(unit)
        if receiving != core:
            cuts.append(("b", receiving, members))
        else:
            growth.unavailable.append(
                {
                    "alternative": f"b{number}",
                    "reason": "El agua de la alternativa (a) sale del área de estudio (o al "
                    "mar) sin pasar por otras unidades: (b) coincidiría con (a).",
                }
            )
        outlet = max(members, key=lambda s: (acc.get(s, 0.0), -s))
        cuts.append(("c", _catchment(outlet, inflows), members))
        for kind, units, start in cuts:
            chosen, cut = cut_to_area(units, start, graph, area, pressure, max_area)
            if not chosen:
                growth.unavailable.append(_too_big(f"{kind}{number}", start, area, max_area))
                continue
            growth.alternatives.append(
                Alternative(kind, number, chosen, tuple(s for s in members if s in chosen), cut)
            )
    return growth


def _too_big(key: str, seeds: list[int], area: dict[int, float], max_area: float) -> dict:
    return {
        "alternative": key,
        "reason": f"Ninguna unidad semilla cabe en el área máxima ({hectares(max_area, 0)}); "
        f"la menor mide {hectares(min(area.get(s, 0.0) for s in seeds), 0)}.",
    }


def _bfs_path(sources: set[int], targets: set[int], graph: dict[int, set[int]]) -> list[int] | None:
    """Shortest path (fewest units) from any source to the lowest-id nearest target."""
    parent: dict[int, int | None] = dict.fromkeys(sorted(sources))
    frontier = sorted(sources)
    while frontier:
        hits = sorted(u for u in frontier if u in targets)
        if hits:
            path, unit = [], hits[0]
            while unit is not None:
                path.append(unit)
                unit = parent[unit]
            return path
        following = []
        for u in frontier:
            for n in sorted(graph.get(u, ())):
                if n not in parent:
                    parent[n] = u
                    following.append(n)
        frontier = sorted(following)
    return None


def adjacency_alternatives(
    candidates: set[int],
    seeds: list[int],
    adjacency: dict[int, set[int]],
    area: dict[int, float],
    pressure: dict[int, float],
    max_area: float,
    gap: int,
) -> Growth:
    """Alternative (a) per seed cluster by shared boundary, when there is no drainage graph."""
    growth = Growth()
    graph = {u: {n for n in adjacency.get(u, set()) if n in candidates} for u in candidates}
    seed_set = set(seeds)
    # Union-find over seeds reachable from each other through at most `gap` non-seed units.
    root = {s: s for s in seeds}

    def find(x: int) -> int:
        while root[x] != x:
            root[x] = root[root[x]]
            x = root[x]
        return x

    for s in sorted(seeds):
        depth, frontier, seen = 0, {s}, {s}
        while frontier and depth <= gap:
            following = set()
            for u in frontier:
                for n in graph.get(u, ()):
                    if n in seen:
                        continue
                    seen.add(n)
                    if n in seed_set:
                        a, b = find(s), find(n)
                        root[max(a, b)] = min(a, b)
                        following.add(n)
                    elif depth < gap:
                        following.add(n)
            frontier, depth = following, depth + 1
    clusters: dict[int, list[int]] = defaultdict(list)
    for s in seeds:
        clusters[find(s)].append(s)
    for number, members in enumerate(sorted(clusters.values(), key=min), start=1):
        members = sorted(members)
        first = max(members, key=lambda s: (pressure.get(s, 0.0), -s))
        connected, remaining = {first}, set(members) - {first}
        while remaining:
            path = _bfs_path(connected, remaining, graph)
            if path is None:
                break
            connected.update(path)
            remaining -= set(path)
        chosen, cut = cut_to_area(connected, [first], graph, area, pressure, max_area)
        if not chosen:
            growth.unavailable.append(_too_big(f"a{number}", members, area, max_area))
        else:
            growth.alternatives.append(
                Alternative("a", number, chosen, tuple(s for s in members if s in chosen), cut)
            )
        for kind in ("b", "c"):
            growth.unavailable.append(
                {
                    "alternative": f"{kind}{number}",
                    "reason": "El sistema hidrográfico no publica la topología de drenaje "
                    "(next_down): sin ella no hay unidades receptoras ni cuenca aportante. "
                    "La vecindad por límite compartido no es drenaje.",
                }
            )
    return growth
