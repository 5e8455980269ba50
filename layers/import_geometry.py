"""The geometry step of an import: parse, drop Z/M, check lon/lat, reproject, clean.

Cleaning follows the importer's `geometry_kind` (geo.repair.cleaner): polygons are repaired
with make_valid (points may first become polygons, see `polygons_from_points`), lines lose
degenerate parts, points must be single points.

One `GeometryStep` serves a whole file: it decides the source CRS (declared, given with
--crs, or plainly lon/lat in Colombia) on the first batch and keeps counting Z/M drops.
Everything is vectorised over a batch; only bad geometries cost per-row Python.

Polygons go through geo.wkb.prove: those already in EPSG:9377 before parsing (the rows it
proves valid are never parsed and keep the file's WKB), others once reprojected (on the WKB
the COPY needs anyway). GEOS checks and repairs only the rows it does not prove.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyogrio
import shapely

from geo import wkb as native
from geo.crs import COLOMBIA_STORAGE, STORAGE_SRID, FileCRS, transformer
from geo.errors import InvalidInput
from geo.repair import POINT, cleaner, has_zm, parse_wkb
from geo.vector_io import VectorSource, lonlat_fit
from layers import pgcopy
from layers.values import Issues

if TYPE_CHECKING:
    from layers.importer import Importer, ImportSummary


@dataclass
class Cleaned:
    """One batch in EPSG:9377: geometries (None where rejected, or where proved valid and so
    never parsed), little-endian WKB of every kept row (the file's own where unchanged), type
    ids, areas (m²), repairs by index and the rows whose Z/M was dropped."""

    geoms: np.ndarray
    wkb: pa.Array
    type_ids: np.ndarray
    areas: np.ndarray
    repairs: dict[int, str]
    zm_rows: np.ndarray


class GeometryStep:
    """Per batch: parse, drop Z/M, check lon/lat, reproject to 9377, repair; state across batches
    is the source CRS (decided on the first batch when the file declares none)."""

    def __init__(
        self,
        importer: Importer,
        source: VectorSource,
        summary: ImportSummary,
        crs: str | None,
        swap_xy: bool,
    ) -> None:
        self.importer = importer
        self.source = source
        self.summary = summary
        self.swap_xy = swap_xy
        self.crs: FileCRS | None = None
        self.zm = 0
        declared = source_crs(source)
        if crs:
            try:
                self.crs = FileCRS.parse(f"EPSG:{crs}" if str(crs).isdigit() else crs)
            except Exception:
                raise InvalidInput(f"--crs '{crs}' no es un CRS conocido.", where="crs") from None
            if declared is not None and not declared.same_as(self.crs):
                summary.warn(
                    f"El archivo declara {declared.name}; se usó {self.crs.name} "
                    "indicado con --crs."
                )
        else:
            self.crs = declared
        if self.crs is not None:
            summary.source_crs = self.crs.name

    def _decide_crs(self, geoms: np.ndarray, rows: np.ndarray) -> None:
        """No CRS in the file nor --crs: accept only plainly lon/lat in Colombia."""
        live = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
        fit = lonlat_fit(shapely.bounds(geoms[live])) if live.any() else np.array([0])
        if live.any() and (fit == 1).all():
            self.crs = FileCRS.parse("EPSG:4326")
            self.summary.source_crs = "EPSG:4326 (supuesto)"
            self.summary.warn(
                "El archivo no declara su sistema de coordenadas; las coordenadas son "
                "longitud/latitud dentro de Colombia, así que se asumió EPSG:4326."
            )
            return
        if live.any() and (fit == -1).all():
            self._swapped(geoms[live], rows[live], np.ones(int(live.sum()), dtype=bool))
        first = np.flatnonzero(live)
        sample = ""
        if len(first):
            x0, y0, _, _ = shapely.bounds(geoms[first[0]])
            sample = f" (fila {rows[first[0]]}: x={x0:.6g}, y={y0:.6g})"
        why = (
            f"El shapefile '{self.source.display}' no trae archivo .prj"
            if self.source.missing_prj
            else f"El archivo '{self.source.display}' no declara su sistema de coordenadas (CRS)"
        )
        raise InvalidInput(
            f"{why} y sus coordenadas{sample} no son longitud/latitud en Colombia. Indique el "
            "CRS con --crs (p. ej. --crs 9377, 3116 o 4326).",
            where="crs",
        )

    def _swapped(self, geoms: np.ndarray, rows: np.ndarray, swapped: np.ndarray) -> None:
        index = int(np.flatnonzero(swapped)[0])
        x0, y0, _, _ = shapely.bounds(geoms[index])
        raise InvalidInput(
            f"Latitud y longitud parecen invertidas en '{self.source.display}': "
            f"{int(swapped.sum())} entidades, p. ej. la fila {rows[index]} tiene x={x0:.6g}, "
            f"y={y0:.6g}, que solo cae en Colombia leído como (lat, lon). Corrija el orden de "
            "los ejes (x = longitud, y = latitud) o importe con --swap-xy.",
            where="geometry",
        )

    def report_zm(self, rows: np.ndarray) -> None:
        """Count a batch's rows whose Z/M was dropped (batches in file order) in one warning."""
        if not len(rows):
            return
        self.zm += len(rows)
        self.summary.warnings[:] = [
            w for w in self.summary.warnings if not w.startswith("Se descartaron las coord")
        ]
        self.summary.warn(
            f"Se descartaron las coordenadas Z/M de {self.zm} entidades (p. ej. filas "
            + ", ".join(str(r) for r in rows[:3])
            + "): se guardan en 2D."
        )

    def clean(
        self, wkb: pa.Array, rows: np.ndarray, data: dict[str, pa.Array], issues: Issues
    ) -> Cleaned:
        """Geometries in EPSG:9377, their WKB, and repairs.

        Safe on several batches at once once the CRS is decided (the first batch decides
        it alone); the rows whose Z/M was dropped are left for `report_zm`.
        """
        # Polygons needing no transformation are proved on the file's WKB, before parsing:
        # proved rows are never parsed. Others are proved once transformed (below).
        base = wkb
        needs_transform = self.swap_xy or self.crs is None or self.crs.srid != STORAGE_SRID
        proof = native.prove(wkb) if self._provable() and not needs_transform else None
        doubt = None if proof is None else np.flatnonzero(~proof.proved)
        geoms = np.full(len(wkb), None, dtype=object)
        parsed = wkb if doubt is None else wkb.take(doubt)
        parsed, unreadable = parse_wkb(parsed.to_numpy(zero_copy_only=False))
        geoms[slice(None) if doubt is None else doubt] = parsed
        for index, reason in _spread_back(unreadable, doubt).items():
            issues.rejected.setdefault(index, reason)
        changed = bool(unreadable)
        zm = has_zm(geoms)
        zm_rows = rows[np.flatnonzero(zm)]
        if len(zm_rows):
            geoms = shapely.force_2d(geoms)
            changed = True
        if self.swap_xy:
            geoms = shapely.transform(geoms, lambda c: c[:, ::-1])
            changed = True
        if self.crs is None:
            self._decide_crs(geoms, rows)
        if self.crs.geographic:
            live = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
            fit = np.zeros(len(geoms), dtype=int)
            fit[live] = lonlat_fit(shapely.bounds(geoms[live]))
            if (fit == -1).any():
                self._swapped(geoms, rows, fit == -1)
            outside = live & (fit == 0)
            issues.reject(outside, lambda i: "coordenadas fuera de Colombia")
        reproject = self.crs.srid != STORAGE_SRID
        if reproject:
            convert = transformer(self.crs.definition)

            def project(coords: np.ndarray) -> np.ndarray:
                x, y = convert.transform(coords[:, 0], coords[:, 1])
                return np.column_stack([x, y])

            geoms = shapely.transform(geoms, project)
            changed = True
        if proof is None and changed and self._provable():
            # The WKB the COPY needs anyway: prove it, and GEOS checks only the rest.
            base = pa.array(shapely.to_wkb(geoms, byte_order=1), pa.binary())
            proof = native.prove(base)
            doubt = np.flatnonzero(~proof.proved)
        if not self.crs.geographic:
            minx, miny, maxx, maxy = COLOMBIA_STORAGE
            box = shapely.bounds(geoms)
            if proof is not None:
                box[proof.proved] = proof.bounds[proof.proved]
            outside = ~np.isnan(box[:, 0]) & (
                (box[:, 0] < minx) | (box[:, 2] > maxx) | (box[:, 1] < miny) | (box[:, 3] > maxy)
            )
            issues.reject(outside, lambda i: "coordenadas fuera de Colombia (en EPSG:9377)")
        repairs: dict[int, str] = {}
        kind = self.importer.geometry_kind
        points = np.flatnonzero(np.isin(shapely.get_type_id(geoms), (POINT,)))
        if kind == "polygon" and len(points):
            repairs.update(self.importer.polygons_from_points(geoms, points, data, issues))
            changed = True
        locate = None
        if reproject:
            locate = transformer(STORAGE_SRID, self.crs.definition).transform
        checked = slice(None) if doubt is None else doubt
        geoms[checked], repaired, rejected = cleaner(kind)(geoms[checked], locate)
        repaired, rejected = _spread_back(repaired, doubt), _spread_back(rejected, doubt)
        repairs.update(repaired)
        for index, reason in rejected.items():
            issues.rejected.setdefault(index, reason)
        unchanged = not changed and not repaired and not rejected
        type_ids = shapely.get_type_id(geoms)
        areas = shapely.area(geoms)
        if proof is not None:
            type_ids[proof.proved] = proof.type_ids[proof.proved]
            areas[proof.proved] = proof.areas[proof.proved]
        if unchanged and pgcopy.little_endian(wkb):
            out = wkb
        elif proof is None:
            out = pa.array(shapely.to_wkb(geoms, byte_order=1), pa.binary())
        else:  # the proved WKB where proved, GEOS's elsewhere
            out = _splice(base, doubt, shapely.to_wkb(geoms[doubt], byte_order=1))
        return Cleaned(geoms, out, type_ids, areas, repairs, zm_rows)

    def _provable(self) -> bool:
        """Polygons, and the compiled proof at hand."""
        return self.importer.geometry_kind == "polygon" and native.AVAILABLE


def _spread_back(found: dict[int, str], rows: np.ndarray | None) -> dict[int, str]:
    """Findings keyed by position in a subset, keyed by the batch row they stand for."""
    if rows is None:
        return found
    return {int(rows[index]): value for index, value in found.items()}


def _splice(wkb: pa.Array, rows: np.ndarray, values: np.ndarray) -> pa.Array:
    """`wkb` with the given rows replaced."""
    wkb = wkb if pa.types.is_binary(wkb.type) else wkb.cast(pa.binary())
    if not len(rows):
        return wkb
    order = np.arange(len(wkb))
    order[rows] = len(wkb) + np.arange(len(rows))
    return pa.concat_arrays([wkb, pa.array(values, pa.binary())]).take(order)


def source_crs(source: VectorSource) -> FileCRS | None:
    """The CRS the file declares, or None."""
    info = pyogrio.read_info(source.path, layer=source.layer, **source.open_options)
    return FileCRS.parse(info["crs"]) if info.get("crs") else None
