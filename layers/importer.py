"""The import template: one base that reads, reprojects, repairs, validates and COPYs.

A layer class (e.g. `TenureImporter`) says where rows go: table, natural key, columns and how
each column's values are normalised. A schema class below it (e.g. `AnmTenures`) only maps
the published field names onto those columns. `run_import` picks the schema that recognises
the file and runs the template, all in one transaction:

read (pyogrio, Arrow batches, a thread ahead) -> map and convert attributes -> parse WKB, drop
Z/M, check lon/lat, reproject to EPSG:9377, clean for the layer's geometry kind (polygon, line
or point; layers.import_geometry, geo.repair) -> binary COPY into a TEMP staging table ->
refuse duplicate natural keys -> one INSERT ... ON CONFLICT DO UPDATE counting inserted and
updated, with the kind's measure (area_ha, length_km) computed in EPSG:9377 -> ImportBatch.
A large polygon file into an empty table skips the staging table: it is COPYed straight in
(the batch foreign key checked once, not per row) and its secondary indexes are rebuilt after.
Batches are prepared two at a time on worker threads and COPYed in file order while the next
ones are prepared; the summary is kept in file order. Memory stays flat: only a few batches
live in Python at a time.

The transaction is Django's connection's, or given a URL (`distritos import`) one on a
psycopg connection of its own (layers.import_database): the CLI then never starts Django.
"""

from __future__ import annotations

import gc
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyogrio

from geo.crs import STORAGE_SRID
from geo.errors import DomainError, InvalidInput, Unprocessable
from geo.repair import POLYGON, GeometryKind
from geo.vector_io import VectorSource, open_source
from layers import pgcopy, values
from layers.import_database import ImportDatabase, column_limits, create_batch, finish_batch
from layers.import_geometry import Cleaned, GeometryStep
from layers.import_reading import Checksum, ahead, batches, geometry_column
from layers.values import Converter, Issues

MAX_MESSAGES = 200  # repairs/rejections listed in a summary; the counts are always exact
STAGE = "import_stage"
BULK_ROWS = 10_000  # from this many staged rows, a bulk load may rebuild GiST indexes
# Per geometry kind: the stored measure column and its SQL over the stored geometry `g`
# (EPSG:9377, so hectares and kilometres are true to the storage projection).
MEASURES: dict[str, tuple[str, str] | None] = {
    "polygon": ("area_ha", "ST_Area(s.g) / 10000.0"),
    "line": ("length_km", "ST_Length(s.g) / 1000.0"),
    "point": None,
}
Progress = Callable[[int], None]


@dataclass
class ImportSummary:
    """What one import did: counts, timings and the messages a user needs to act."""

    layer: str
    file: str
    source_layer: str | None = None
    schema: str = ""
    source_crs: str = ""
    target_crs: str = f"EPSG:{STORAGE_SRID}"
    read: int = 0
    inserted: int = 0
    updated: int = 0
    deleted: int = 0  # with `replace`: rows of the layer the file no longer brings
    repaired: int = 0
    rejected: int = 0
    seconds: float = 0.0
    dry_run: bool = False
    replace: bool = False
    batch_id: int | None = None
    repairs: list[str] = field(default_factory=list)
    rejections: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Plain data for `--json`."""
        return asdict(self)

    def reset(self) -> None:
        """Forget counts and messages (a second pass over the same file follows)."""
        self.read = self.inserted = self.updated = self.deleted = 0
        self.repaired = self.rejected = 0
        self.repairs.clear()
        self.rejections.clear()
        self.warnings.clear()

    def warn(self, message: str) -> None:
        """Record a warning once."""
        if message not in self.warnings:
            self.warnings.append(message)

    def text(self) -> str:
        """The Spanish summary printed at the end of an import."""
        verb = "se importarían" if self.dry_run else "importadas"
        lines = [
            f"Capa {self.layer} ← {self.file}"
            + (f" (capa {self.source_layer})" if self.source_layer else "")
            + f" [{self.schema}; {self.source_crs} → {self.target_crs}]",
            f"  leídas {self.read}, {verb}: {self.inserted} nuevas, {self.updated} actualizadas"
            + (f", {self.deleted} borradas (--replace)" if self.replace else "")
            + f"; reparadas {self.repaired}, rechazadas {self.rejected}; {self.seconds:.1f} s"
            + (" (simulación: no se escribió nada)" if self.dry_run else ""),
        ]
        for title, items, total in (
            ("Reparaciones", self.repairs, self.repaired),
            ("Rechazos", self.rejections, self.rejected),
            ("Avisos", self.warnings, len(self.warnings)),
        ):
            if items:
                lines.append(f"  {title}:")
                lines.extend(f"    - {item}" for item in items)
                if total > len(items):
                    lines.append(f"    … y {total - len(items)} más")
        return "\n".join(lines)


@dataclass(frozen=True)
class Column:
    """A target column: its staging type and the converter applied to the mapped field."""

    name: str
    type: str = "text"  # text, float8, int4, date, bool, list (text[]), int8
    convert: Converter | None = None

    @property
    def stage_type(self) -> str:
        return "text" if self.type == "list" else self.type

    def converter(self) -> Converter:
        defaults: dict[str, Converter] = {
            "text": values.text,
            "float8": values.number,
            "int4": values.integer,
            "int8": values.integer,
            "date": values.date,
            "bool": values.boolean,
            "list": values.listing(),
        }
        return self.convert or defaults[self.type]


class Importer:
    """Template for loading one published file into one layer table (see module docstring)."""

    # -- the layer (set by layer classes) ----------------------------------------------------
    layer: ClassVar[str] = ""
    model: ClassVar[str] = ""  # "app_label.Model", to read lengths and defaults
    table: ClassVar[str] = ""
    key: ClassVar[tuple[str, ...]] = ()
    # Columns whose values in a file bound what `--replace` may delete: another publisher's
    # (or system's, kind's...) rows stay. None: `source` when the layer has it, else none,
    # i.e. the whole layer.
    replace_scope: ClassVar[tuple[str, ...] | None] = None
    geometry_kind: ClassVar[GeometryKind] = "polygon"  # how geometries are cleaned and stored
    required: ClassVar[tuple[str, ...]] = ()
    columns: ClassVar[tuple[Column, ...]] = ()
    extra: ClassVar[tuple[Column, ...]] = ()  # staging-only columns for after_upsert
    helpers: ClassVar[tuple[str, ...]] = ()  # fields read by convert_batch, never staged
    # -- the published schema (set by schema classes) ----------------------------------------
    label: ClassVar[str] = "campos con los nombres de la capa (o --map)"
    fields: ClassVar[dict[str, tuple[str, ...]]] = {}
    signature: ClassVar[tuple[str, ...]] = ()
    duplicate_hint: ClassVar[str] = ""  # appended to the duplicate-key refusal
    constants: ClassVar[dict[str, Any]] = {}
    system: ClassVar[str | None] = None
    batch_size: ClassVar[int] = 10_000
    # The model's defaults of NOT NULL columns, declared so an import needs no Django
    # (tests/test_import_database.py holds them equal to the model's). None: ask the model.
    defaults: ClassVar[dict[str, Any] | None] = None

    def __init__(self, sources: dict[str, str], constants: dict[str, Any]) -> None:
        self.sources = sources  # column -> file field
        self.fixed = constants  # column -> constant value
        self.limits: dict[str, int] = {}  # varchar lengths, read from the table at run

    # -- choosing the schema ------------------------------------------------------------------
    @classmethod
    def all_columns(cls) -> tuple[Column, ...]:
        return cls.columns + cls.extra

    @classmethod
    def candidates(cls, column: str) -> tuple[str, ...]:
        """Published field names that may feed `column` (its own name when none declared)."""
        return cls.fields.get(column, ()) if cls.fields else (column,)

    @classmethod
    def recognises(cls, file_fields: list[str]) -> bool:
        """True when every signature field of this schema is in the file."""
        present = {f.lower() for f in file_fields}
        signature = cls.signature or tuple(cls.candidates(c)[0] for c in cls.required)
        return bool(signature) and all(name.lower() in present for name in signature)

    @classmethod
    def constants_for(cls, file_fields: list[str]) -> dict[str, Any]:
        """Column values fixed by this schema (a hook: some depend on which fields exist)."""
        return dict(cls.constants)

    @classmethod
    def bind(
        cls,
        file_fields: list[str],
        mapping: Mapping[str, str] | None,
        system: str | None = None,
        fixed: Mapping[str, Any] | None = None,
    ) -> Importer:
        """An importer with each column tied to a file field; refuse when required ones lack."""
        by_lower = {f.lower(): f for f in file_fields}
        names = {c.name for c in cls.all_columns()} | set(cls.helpers)
        sources: dict[str, str] = {}
        for name in [c.name for c in cls.all_columns()] + list(cls.helpers):
            for candidate in cls.candidates(name):
                if candidate.lower() in by_lower:
                    sources[name] = by_lower[candidate.lower()]
                    break
        for column, attribute in (mapping or {}).items():
            if column not in names:
                raise InvalidInput(
                    f"--map {column}={attribute}: la capa '{cls.layer}' no tiene el campo "
                    f"'{column}'. Campos: {', '.join(sorted(names))}.",
                    where="map",
                )
            if attribute.lower() not in by_lower:
                raise InvalidInput(
                    f"--map {column}={attribute}: el archivo no tiene el atributo '{attribute}'. "
                    f"Atributos del archivo: {', '.join(file_fields) or '(ninguno)'}.",
                    where="map",
                )
            sources[column] = by_lower[attribute.lower()]
        constants = cls.constants_for(file_fields)
        if system and "system" in names:
            constants["system"] = system
        for column, value in (fixed or {}).items():
            if column not in names:
                raise InvalidInput(
                    f"--set {column}={value}: la capa '{cls.layer}' no tiene el campo "
                    f"'{column}'. Campos: {', '.join(sorted(names))}.",
                    where="set",
                )
            constants[column] = value
            sources.pop(column, None)
        missing = [c for c in cls.required if c not in sources and c not in constants]
        if missing:
            raise InvalidInput(
                f"El archivo no trae los campos requeridos por la capa '{cls.layer}': "
                f"{', '.join(missing)}. Atributos del archivo: "
                f"{', '.join(file_fields) or '(ninguno)'}. Indique cuál usar con --map "
                f"campo=atributo (p. ej. --map {missing[0]}=NOMBRE_DEL_ATRIBUTO).",
                where="map",
                extra={"required": missing, "file_fields": file_fields},
            )
        return cls(sources, constants)

    # -- hooks for layer and schema classes ---------------------------------------------------
    def convert_batch(self, batch: pa.RecordBatch, issues: Issues) -> dict[str, pa.Array]:
        """Mapped and converted column arrays for one batch (override to derive columns)."""
        size = batch.num_rows
        out: dict[str, pa.Array] = {}
        for column in self.all_columns():
            if column.name in self.sources:
                source = self.sources[column.name]
                out[column.name] = column.converter()(batch.column(source), issues, source)
            elif column.name in self.fixed:
                constant = pa.array([self.fixed[column.name]] * size)
                out[column.name] = column.converter()(constant, issues, column.name)
        return out

    def polygons_from_points(
        self, geoms: np.ndarray, rows: np.ndarray, data: dict[str, pa.Array], issues: Issues
    ) -> dict[int, str]:
        """Turn point rows into polygons in place; return {row: repair}. Default: none."""
        return {}

    def start(self, summary: ImportSummary) -> None:
        """Called once before reading (e.g. to default a constant to the file name)."""

    def after_geometry(self, geoms: np.ndarray, data: dict[str, pa.Array], issues: Issues) -> None:
        """Derive columns from a batch's cleaned geometries (EPSG:9377, None where rejected)."""

    def before_upsert(self, cursor: Any, summary: ImportSummary) -> None:
        """Check or amend the staged rows (`import_stage`) before they are written; also runs
        on a dry run."""

    def after_upsert(self, cursor: Any, batch_id: int | None, summary: ImportSummary) -> None:
        """Work on the loaded rows inside the same transaction (parents, topology...)."""

    def describe(self, data: dict[str, pa.Array], index: int) -> str:
        """The natural key of a row, for messages: "expediente 'B7187005'"."""
        parts = []
        shown = [n for n in self.key if n not in self.fixed]
        if "name" in data and "name" not in shown:
            shown.append("name")
        for name in shown:
            column = data.get(name)
            value = column[index].as_py() if column is not None else None
            if value is not None:
                parts.append(f"{self.sources.get(name, name)} '{value}'")
        return ", ".join(parts)

    # -- the template ------------------------------------------------------------------------
    def run(
        self,
        source: VectorSource,
        summary: ImportSummary,
        *,
        crs: str | None = None,
        swap_xy: bool = False,
        dry_run: bool = False,
        skip_rejected: bool = False,
        replace: bool = False,
        user: str = "",
        file_path: Path | None = None,
        progress: Progress | None = None,
        expected: int | None = None,
        database_url: str | None = None,
    ) -> ImportSummary:
        """Load the source inside one transaction; on any error nothing of it stays.

        A large file into an empty table is COPYed straight into it (then indexed); any
        other import goes through the staging table and one upsert by natural key. With
        `replace`, the layer's rows the file does not bring back (by natural key, among those
        sharing a `replace_scope` value with it) are deleted in the same transaction.
        The transaction is Django's, or with `database_url` one on a connection of its own.
        """
        if replace and skip_rejected:
            raise InvalidInput(
                "--replace no se combina con --skip-rejected: las entidades rechazadas del "
                "archivo se borrarían de la capa. Corrija el archivo o importe sin --replace.",
                where="replace",
            )
        summary.replace = replace
        started = time.perf_counter()
        checksum = Checksum(file_path)
        options = {"crs": crs, "swap_xy": swap_xy, "progress": progress}
        database = ImportDatabase(database_url)
        self.start(summary)
        try:
            with database.transaction() as cursor:
                self.limits = column_limits(cursor, self.table)
                batch_id = None
                if not dry_run:
                    batch_id = create_batch(
                        cursor, self.layer, summary.file, source.layer or "", user
                    )
                direct = False
                if not dry_run and self._direct_possible(cursor, expected):
                    direct = self._try_direct(database, cursor, source, summary, batch_id, options)
                if direct:
                    self._check(cursor, summary, skip_rejected, duplicates=False)
                else:
                    self._stage(cursor, source, summary, **options)
                    self._check(cursor, summary, skip_rejected)
                    self.before_upsert(cursor, summary)
                if dry_run:
                    self._count_dry(cursor, summary)
                    if replace:
                        self._replace(cursor, summary, count_only=True)
                    database.discard()
                else:
                    if not direct:
                        self._upsert(cursor, batch_id, summary)
                        if replace:
                            self._replace(cursor, summary)
                        self.after_upsert(cursor, batch_id, summary)
                    summary.batch_id = batch_id
                    summary.seconds = round(time.perf_counter() - started, 3)
                    self._finish_batch(cursor, batch_id, summary, checksum.value())
        except DomainError:
            raise
        except Exception as error:
            # Database refusals (types, lengths, constraints) reach the user in Spanish terms.
            if error.__class__.__module__.startswith(("psycopg", "django.db")):
                raise Unprocessable(
                    f"La importación de '{source.display}' falló y no se escribió nada: {error}",
                    where="database",
                ) from error
            raise
        summary.seconds = round(time.perf_counter() - started, 3)
        return summary

    def _direct_possible(self, cursor: Any, expected: int | None) -> bool:
        """A bulk polygon file, an importer that needs no staging around the upsert, and an
        empty table (the direct COPY writes MultiPolygon EWKB and area_ha itself)."""
        if self.extra or expected is None or expected < BULK_ROWS:
            return False
        if self.geometry_kind != "polygon":
            return False
        if type(self).after_upsert is not Importer.after_upsert:
            return False
        if type(self).before_upsert is not Importer.before_upsert:
            return False
        # Keep writers out until commit, so the table stays as empty as we saw it.
        cursor.execute(f"LOCK TABLE {self.table} IN SHARE ROW EXCLUSIVE MODE")
        cursor.execute(f"SELECT NOT EXISTS (SELECT 1 FROM {self.table})")
        return bool(cursor.fetchone()[0])

    def _try_direct(
        self,
        database: ImportDatabase,
        cursor: Any,
        source: VectorSource,
        summary: ImportSummary,
        batch_id: int | None,
        options: dict[str, Any],
    ) -> bool:
        """COPY straight into the empty table; on a duplicate key fall back to staging."""
        import psycopg

        try:
            with database.savepoint():
                rebuild = self._drop_key_constraints(cursor)
                rebuild += self._drop_secondary_indexes(cursor, keep_batch_index=False)
                suspended = self._suspend_batch_check(cursor)
                self._load(cursor, source, summary, batch_id=batch_id, **options)
                summary.inserted = summary.read - summary.rejected
                self._resume_batch_check(cursor, suspended, batch_id)
                if rebuild:
                    # Deferred foreign-key checks must run before an index can be built.
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                for definition in rebuild:
                    cursor.execute(definition)
            return True
        except psycopg.errors.UniqueViolation:
            # Duplicate keys inside the file: the staging path finds and names them.
            summary.reset()
            return False

    def _suspend_batch_check(self, cursor: Any) -> list[str]:
        """Disable the per-row check of the batch_id foreign key; return the triggers to
        re-enable (none when the role may not, i.e. is no superuser: rows are then checked).

        Every row of a direct load carries the batch created in this same transaction, so
        one check of that batch (`_resume_batch_check`) proves what 100,000 per-row lookups
        would. Only this table's own check triggers change, under the lock already held;
        the batch table is not locked, and a rollback restores the triggers.
        """
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        if not cursor.fetchone()[0]:
            return []
        cursor.execute(
            """
            SELECT t.tgname FROM pg_trigger t JOIN pg_constraint c ON c.oid = t.tgconstraint
            WHERE t.tgrelid = %s::regclass AND c.conrelid = t.tgrelid AND c.contype = 'f'
              AND c.confrelid = 'layers_importbatch'::regclass AND t.tgenabled <> 'D'
            """,
            [self.table],
        )
        triggers = [name for (name,) in cursor.fetchall()]
        for name in triggers:
            cursor.execute(f'ALTER TABLE {self.table} DISABLE TRIGGER "{name}"')
        return triggers

    def _resume_batch_check(self, cursor: Any, triggers: list[str], batch_id: int | None) -> None:
        """Re-enable the batch_id checks and make the one check they stood for."""
        if not triggers:
            return
        for name in triggers:
            cursor.execute(f'ALTER TABLE {self.table} ENABLE TRIGGER "{name}"')
        # What the foreign key asks of every row (all carry `batch_id`, see _encode_direct):
        # the batch exists, and stays (key-share lock, as the per-row check would take).
        cursor.execute("SELECT 1 FROM layers_importbatch WHERE id = %s FOR KEY SHARE", [batch_id])
        if cursor.fetchone() is None:
            raise Unprocessable(
                f"La carga directa en '{self.table}' dejó filas sin su lote de importación; "
                "no se escribió nada.",
                where="database",
            )

    # -- steps ---------------------------------------------------------------------------------
    def _finish_batch(
        self, cursor: Any, batch_id: int, summary: ImportSummary, checksum: str
    ) -> None:
        counts: dict[str, Any] = {
            k: getattr(summary, k)
            for k in ("read", "inserted", "updated", "deleted", "repaired", "rejected", "seconds")
        }
        counts["schema"] = summary.schema
        finish_batch(cursor, batch_id, counts, checksum)

    def column_defaults(self) -> dict[str, Any]:
        """Defaults (str, bool or number) of NOT NULL columns: declared, else the model's."""
        if self.defaults is not None:
            return self.defaults
        if not hasattr(self, "_model_defaults"):
            self._model_defaults = model_defaults(self.model, self.all_columns())
        return self._model_defaults

    def _stage(
        self,
        cursor: Any,
        source: VectorSource,
        summary: ImportSummary,
        crs: str | None,
        swap_xy: bool,
        progress: Progress | None,
    ) -> None:
        """Load the file into a TEMP staging table (row number, WKB, mapped columns)."""
        definitions = ", ".join(f"{c.name} {c.stage_type}" for c in self.all_columns())
        cursor.execute(f"DROP TABLE IF EXISTS {STAGE}")
        cursor.execute(
            f"CREATE TEMP TABLE {STAGE} (row_no int8, wkb bytea, {definitions}) ON COMMIT DROP"
        )
        self._load(cursor, source, summary, crs=crs, swap_xy=swap_xy, progress=progress)

    def _load(
        self,
        cursor: Any,
        source: VectorSource,
        summary: ImportSummary,
        *,
        crs: str | None,
        swap_xy: bool,
        progress: Progress | None,
        batch_id: int | None = None,
    ) -> None:
        """Read, convert, repair and COPY every batch: into the staging table, or straight
        into the layer table when `batch_id` is given (the direct path)."""
        limits = {
            c.name: self.limits[c.name]
            for c in self.all_columns()
            if c.type == "text" and c.name in self.limits
        }
        geometry = GeometryStep(self, source, summary, crs, swap_xy)
        direct = batch_id is not None
        self.column_defaults()  # resolved once, before worker threads share it

        def prepare(offset: int, batch: pa.RecordBatch) -> _Prepared:
            """Convert, check, clean and encode one batch; touches no shared state."""
            issues = Issues(batch.num_rows)
            data = self.convert_batch(batch, issues)
            self._check_required(data, issues, limits)
            rows = np.arange(offset + 1, offset + batch.num_rows + 1, dtype=np.int64)
            cleaned = geometry.clean(geometry_column(batch), rows, data, issues)
            self.after_geometry(cleaned.geoms, data, issues)
            keep = np.ones(batch.num_rows, dtype=bool)
            keep[list(issues.rejected)] = False
            buffer = None
            if keep.any():
                if direct:
                    buffer = self._encode_direct(data, cleaned, keep, batch_id)
                else:
                    buffer = self._encode(data, cleaned.wkb, rows, keep)
            return _Prepared(data, rows, issues, cleaned.repairs, cleaned.zm_rows, buffer)

        if direct:
            names = [c.name for c in self.columns] + ["area_ha", "geom", "batch_id"]
            statement = f"COPY {self.table} ({', '.join(names)}) FROM STDIN (FORMAT BINARY)"
        else:
            statement = f"COPY {STAGE} FROM STDIN (FORMAT BINARY)"
        if direct:
            # Foreign keys still checked per row (see _suspend_batch_check) are checked at
            # the end of each batch's COPY, while the next batch is prepared, instead of all
            # at once (serially) before the indexes are rebuilt.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        # One COPY per batch, in file order: PostgreSQL ingests one batch while the next ones
        # are read and prepared; the summary is kept here, so its messages keep file order.
        # Without a CRS yet, the first batch decides it alone before others are prepared.
        ordered = _in_order(prepare, source, self.batch_size, first_alone=geometry.crs is None)
        with _collector_paused(), closing(ordered) as ready:
            for item in ready:
                summary.read += len(item.rows)
                geometry.report_zm(item.zm_rows)
                for message in item.issues.warnings:
                    summary.warn(message)
                self._record(summary, item.data, item.rows, item.repairs, item.issues.rejected)
                if item.buffer is not None:
                    with cursor.copy(statement) as copy:
                        copy.write(pgcopy.HEADER)
                        copy.write(item.buffer)
                        copy.write(pgcopy.TRAILER)
                if progress:
                    progress(len(item.rows))
        if summary.read == 0:
            raise InvalidInput(f"El archivo '{summary.file}' no tiene entidades.", where="path")

    def _check_required(
        self, data: dict[str, pa.Array], issues: Issues, limits: dict[str, int]
    ) -> None:
        for name in dict.fromkeys(self.required + self.key):
            column = data.get(name)
            if column is None:
                continue
            missing = np.asarray(column.is_null().to_numpy(zero_copy_only=False), dtype=bool)
            source = self.sources.get(name, name)
            issues.reject(missing, lambda i, s=source: f"falta el valor requerido de '{s}'")
        for name, limit in limits.items():
            column = data.get(name)
            if column is None:
                continue
            lengths = pc.utf8_length(column).fill_null(0).to_numpy(zero_copy_only=False)
            source = self.sources.get(name, name)
            issues.reject(
                lengths > limit,
                lambda i, s=source, n=limit: f"el valor de '{s}' supera {n} caracteres",
            )

    def _record(
        self,
        summary: ImportSummary,
        data: dict[str, pa.Array],
        rows: np.ndarray,
        repairs: dict[int, str],
        rejected: dict[int, str],
    ) -> None:
        for target, items, attr in (
            (summary.repairs, repairs, "repaired"),
            (summary.rejections, rejected, "rejected"),
        ):
            if attr == "repaired":
                items = {i: r for i, r in items.items() if i not in rejected}
            setattr(summary, attr, getattr(summary, attr) + len(items))
            for index in sorted(items)[: max(0, MAX_MESSAGES - len(target))]:
                key = self.describe(data, index)
                where = f"fila {rows[index]}" + (f" ({key})" if key else "")
                target.append(f"{where}: {items[index]}")

    def _encode(
        self, data: dict[str, pa.Array], wkb: pa.Array, rows: np.ndarray, keep: np.ndarray
    ) -> pa.Buffer:
        """Staging rows: row number, WKB, columns."""
        everything = bool(keep.all())
        mask = pa.array(keep)
        pick = (lambda a: a) if everything else (lambda a: a.filter(mask))
        parts: list[tuple[pa.Array, str]] = [(pa.array(rows[keep]), "int8"), (pick(wkb), "bytea")]
        size = int(keep.sum())
        for column in self.all_columns():
            array = data.get(column.name)
            array = pa.nulls(size, pa.string()) if array is None else pick(array)
            parts.append((array, column.stage_type))
        return pgcopy.encode(parts)

    def _encode_direct(
        self, data: dict[str, pa.Array], cleaned: Cleaned, keep: np.ndarray, batch_id: int
    ) -> pa.Buffer:
        """Layer-table rows: columns with model defaults, area, MultiPolygon EWKB, batch."""
        everything = bool(keep.all())
        mask = pa.array(keep)
        size = int(keep.sum())
        wkb = cleaned.wkb if everything else cleaned.wkb.filter(mask)
        polygons = cleaned.type_ids[keep] == POLYGON
        # All MultiPolygons already: the WKB goes as it is, and the column's type modifier
        # gives it the storage SRID (PostGIS fills an unknown SRID from the typmod).
        geometry = pgcopy.ewkb_multipolygons(wkb, polygons, STORAGE_SRID) if polygons.any() else wkb
        parts: list[tuple[pa.Array, str]] = []
        for column in self.columns:
            array = data.get(column.name)
            array = pa.nulls(size, pa.string()) if array is None else array
            if not everything and len(array) != size:
                array = array.filter(mask)
            if column.type == "list":
                array = pc.split_pattern(array.cast(pa.string()), values.LIST_SEPARATOR)
                parts.append((array, "text[]"))
                continue
            default = self.column_defaults().get(column.name)
            if default is not None:
                array = array.cast(pa.string()) if isinstance(default, str) else array
                array = array.fill_null(default)
            parts.append((array, column.stage_type))
        parts.append((pa.array(cleaned.areas[keep] / 10_000.0), "float8"))
        parts.append((geometry, "bytea"))
        parts.append((pa.array(np.full(size, batch_id, dtype=np.int64)), "int8"))
        return pgcopy.encode(parts)

    def _check(
        self, cursor: Any, summary: ImportSummary, skip_rejected: bool, duplicates: bool = True
    ) -> None:
        """Refuse duplicate natural keys (staging only) and, unless skipped, any rejection."""
        keys = ", ".join(self.key)
        if duplicates:
            self._refuse_duplicates(cursor, summary, keys)
        if summary.rejected and not skip_rejected:
            listed = "; ".join(summary.rejections[:20])
            more = summary.rejected - min(20, len(summary.rejections))
            raise Unprocessable(
                f"Se rechazaron {summary.rejected} de {summary.read} entidades de "
                f"'{summary.file}' y no se escribió nada: {listed}"
                + (f"; … y {more} más" if more > 0 else "")
                + ". Corrija el archivo o use --skip-rejected para importar el resto.",
                where="rows",
                extra={"rejections": summary.rejections},
            )

    def _refuse_duplicates(self, cursor: Any, summary: ImportSummary, keys: str) -> None:
        cursor.execute(
            f"SELECT {keys}, array_agg(row_no ORDER BY row_no), count(*) OVER () "
            f"FROM {STAGE} GROUP BY {keys} HAVING count(*) > 1 ORDER BY min(row_no) LIMIT 20"
        )
        duplicates = cursor.fetchall()
        if duplicates:
            total = duplicates[0][-1]
            shown = "; ".join(
                ", ".join(f"{k} '{v}'" for k, v in zip(self.key, d[: len(self.key)], strict=True))
                + " en las filas "
                + ", ".join(str(r) for r in d[len(self.key)][:10])
                for d in duplicates[:10]
            )
            raise Unprocessable(
                f"Claves duplicadas en el archivo '{summary.file}' ({total} claves repetidas; "
                f"la clave natural de '{self.layer}' es {keys}): {shown}. No se escribió nada."
                + (f" {self.duplicate_hint}" if self.duplicate_hint else ""),
                where="key",
                extra={"duplicates": total},
            )

    def _target_expressions(self) -> list[tuple[str, str]]:
        pairs = []
        for column in self.columns:
            expression = f"s.{column.name}"
            if column.type == "list":
                separator = f"E'\\x{ord(values.LIST_SEPARATOR):02x}'"
                expression = f"COALESCE(string_to_array({expression}, {separator}), '{{}}')"
            else:
                literal = self._default_literal(column.name)
                if literal is not None:
                    expression = f"COALESCE({expression}, {literal})"
            pairs.append((column.name, expression))
        return pairs

    def _default_literal(self, name: str) -> str | None:
        """The default of a NOT NULL column as SQL, so absent values take it."""
        default = self.column_defaults().get(name)
        if isinstance(default, bool):
            return "TRUE" if default else "FALSE"
        if isinstance(default, int | float):
            return repr(default)
        if isinstance(default, str):
            return "'" + default.replace("'", "''") + "'"
        return None

    def _upsert(self, cursor: Any, batch_id: int | None, summary: ImportSummary) -> None:
        pairs = self._target_expressions()
        measure = MEASURES[self.geometry_kind]
        if measure is not None:
            pairs.append(measure)
        pairs += [("geom", "s.g"), ("batch_id", "%s")]
        names = ", ".join(name for name, _ in pairs)
        selects = ", ".join(expression for _, expression in pairs)
        updates = ", ".join(
            f"{name} = EXCLUDED.{name}" for name, _ in pairs if name not in self.key
        )
        geometry = f"ST_GeomFromWKB(wkb, {STORAGE_SRID})"
        if self.geometry_kind != "point":
            geometry = f"ST_Multi({geometry})"  # polygon and line columns are Multi*
        rebuild = self._drop_secondary_indexes_for_bulk(cursor, summary.read - summary.rejected)
        cursor.execute(
            f"""
            WITH up AS (
                INSERT INTO {self.table} AS t ({names})
                SELECT {selects}
                FROM (SELECT *, {geometry} AS g FROM {STAGE}) AS s
                ON CONFLICT ({", ".join(self.key)}) DO UPDATE SET {updates}
                RETURNING (xmax = 0) AS inserted
            )
            SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM up
            """,
            [batch_id],
        )
        summary.inserted, summary.updated = cursor.fetchone()
        if rebuild:
            # Deferred foreign-key checks must run before an index can be built.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for definition in rebuild:
            cursor.execute(definition)

    @classmethod
    def replace_columns(cls) -> tuple[str, ...]:
        """The staged columns that bound `--replace` (see `replace_scope`)."""
        names = {c.name for c in cls.columns}
        if cls.replace_scope is None:
            return ("source",) if "source" in names else ()
        return cls.replace_scope

    def _replace(self, cursor: Any, summary: ImportSummary, count_only: bool = False) -> None:
        """Delete (or count, on a dry run) the layer's rows the staged file does not bring
        back by natural key, among those sharing a `replace_scope` value with the file."""
        expressions = dict(self._target_expressions())
        # `=`, not IS NOT DISTINCT FROM: staged keys are never null (such rows are rejected),
        # and only `=` lets PostgreSQL hash the anti-join (a nested loop on 100,000 rows
        # would take minutes).
        same_key = " AND ".join(f"t.{k} = {expressions[k]}" for k in self.key)
        condition = f"NOT EXISTS (SELECT 1 FROM {STAGE} AS s WHERE {same_key})"
        scope = self.replace_columns()
        if scope:
            columns = ", ".join(f"t.{c}" for c in scope)
            values = ", ".join(expressions[c] for c in scope)
            condition += f" AND ({columns}) IN (SELECT DISTINCT {values} FROM {STAGE} AS s)"
        if count_only:
            cursor.execute(f"SELECT count(*) FROM {self.table} AS t WHERE {condition}")
            summary.deleted = cursor.fetchone()[0]
        else:
            cursor.execute(f"DELETE FROM {self.table} AS t WHERE {condition}")
            summary.deleted = cursor.rowcount

    def _drop_secondary_indexes_for_bulk(self, cursor: Any, staged: int) -> list[str]:
        """Drop the secondary indexes when the load outweighs the table; return their DDL."""
        if staged < BULK_ROWS:
            return []
        cursor.execute(f"SELECT count(*) FROM (SELECT 1 FROM {self.table} LIMIT %s) AS t", [staged])
        if cursor.fetchone()[0] >= staged:
            return []
        return self._drop_secondary_indexes(cursor)

    def _drop_secondary_indexes(self, cursor: Any, keep_batch_index: bool = True) -> list[str]:
        """Drop the table's indexes that back no constraint (GiST, plain btree); return the DDL
        that rebuilds them.

        Building an index once over a bulk load is several times cheaper than maintaining it
        row by row (GiST above all). Primary-key and unique indexes stay: the upsert needs them.
        So does, into a table with rows, the index on batch_id alone: one key per import, kept
        in passing for what a rebuild of the whole table would cost. Into an empty table (the
        direct load) it goes too: rebuilt in ~40 ms per 100,000 rows, where keeping it costs
        the COPY, the load's critical path, ~0.1 s. The drop holds the table's lock until
        commit, so readers wait for a bulk load instead of seeing it half done; small imports
        keep every index.
        """
        cursor.execute(
            """
            SELECT i.relname, pg_get_indexdef(i.oid)
            FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
            WHERE x.indrelid = %s::regclass AND NOT x.indisprimary AND NOT x.indisunique
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
              AND NOT (%s AND x.indnatts = 1 AND x.indkey[0] = (
                  SELECT attnum FROM pg_attribute
                  WHERE attrelid = x.indrelid AND attname = 'batch_id'))
            """,
            [self.table, keep_batch_index],
        )
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        return [definition for _, definition in indexes]

    def _drop_key_constraints(self, cursor: Any) -> list[str]:
        """Drop the primary-key and unique constraints no foreign key relies on (the id and
        the natural key); return the DDL that adds them back, for the direct load only.

        Into an empty table the load is the whole content: one sorted build of a key's index
        after it costs less than keeping it row by row (and logging each insertion) during
        the COPY, the server's share of the load. Adding the keys back is the same check: a
        duplicate natural key in the file fails it, and the direct load gives way to the
        staging path, which names the duplicates.
        """
        cursor.execute(
            """
            SELECT c.conname, pg_get_constraintdef(c.oid)
            FROM pg_constraint c
            WHERE c.conrelid = %s::regclass AND c.contype IN ('p', 'u')
              AND NOT EXISTS (
                  SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = c.conindid)
            ORDER BY c.contype DESC  -- the natural key first: a duplicate fails soonest
            """,
            [self.table],
        )
        constraints = cursor.fetchall()
        for name, _ in constraints:
            cursor.execute(f'ALTER TABLE {self.table} DROP CONSTRAINT "{name}"')
        return [
            f'ALTER TABLE {self.table} ADD CONSTRAINT "{name}" {definition}'
            for name, definition in constraints
        ]

    def _count_dry(self, cursor: Any, summary: ImportSummary) -> None:
        join = " AND ".join(f"t.{k} = s.{k}" for k in self.key)
        cursor.execute(
            f"SELECT count(*) FILTER (WHERE t.{self.key[0]} IS NULL), "
            f"count(*) FILTER (WHERE t.{self.key[0]} IS NOT NULL) "
            f"FROM {STAGE} s LEFT JOIN {self.table} t ON {join}"
        )
        summary.inserted, summary.updated = cursor.fetchone()


@dataclass
class _Prepared:
    """One batch ready for COPY: what the summary needs, and the COPY rows (None: all
    rejected)."""

    data: dict[str, pa.Array]
    rows: np.ndarray
    issues: Issues
    repairs: dict[int, str]
    zm_rows: np.ndarray
    buffer: pa.Buffer | None


PREPARERS = 2  # batches prepared at once (GEOS, Arrow and GDAL release the GIL)
FIRST_PIECE = 2_000  # a large first batch is prepared in quarters of at least this


def _in_order(
    prepare: Callable[[int, pa.RecordBatch], _Prepared],
    source: VectorSource,
    size: int,
    first_alone: bool,
) -> Iterator[_Prepared]:
    """Batches read a thread ahead and prepared on worker threads, yielded in file order.

    Up to PREPARERS batches are in the works while the caller COPYs the previous one;
    `first_alone` prepares the first batch before any other starts. Otherwise the first
    batch goes in quarters: PostgreSQL idles until the first COPY, so make it come soon.
    """
    with closing(ahead(batches(source, size), depth=2)) as reader:
        first = next(reader, None)
        if first is None:
            return
        offset, batch = first
        pieces = [first]
        if first_alone:
            yield prepare(offset, batch)
            pieces = []
        elif batch.num_rows >= 4 * FIRST_PIECE:
            step = -(-batch.num_rows // 4)
            pieces = [
                (offset + start, batch.slice(start, step))
                for start in range(0, batch.num_rows, step)
            ]
        window: deque[Future[_Prepared]] = deque()
        with ThreadPoolExecutor(PREPARERS, thread_name_prefix="import-batch") as pool:
            try:
                for item in chain(pieces, reader):
                    window.append(pool.submit(prepare, *item))
                    if len(window) > PREPARERS:
                        yield window.popleft().result()
                while window:
                    yield window.popleft().result()
            finally:
                for future in window:
                    future.cancel()


def model_defaults(model: str, columns: tuple[Column, ...]) -> dict[str, Any]:
    """Defaults (str, bool or number) of a Django model's NOT NULL fields among `columns`
    (Django must be set up)."""
    from django.apps import apps

    if not model:
        return {}
    meta = apps.get_model(model)._meta
    defaults = {}
    for column in columns:
        try:
            model_field = meta.get_field(column.name)
        except Exception:
            continue
        default = model_field.default
        if not model_field.null and isinstance(default, str | bool | int | float):
            defaults[column.name] = default
    return defaults


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector off while batches stream: the pipeline makes no cycles, and
    each full collection would walk every object of the process (~0.2 s per 100,000 rows)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def choose(
    classes: list[type[Importer]],
    layer: str,
    fields: list[str],
    mapping: Mapping[str, str] | None,
    system: str | None,
    fixed: Mapping[str, Any] | None = None,
) -> Importer:
    """The first schema class that recognises the fields (the layer's generic one otherwise)."""
    pool = [c for c in classes if system is None or c.system in (system, None)]
    if not pool:
        systems = sorted({c.system for c in classes if c.system})
        raise InvalidInput(
            f"--system '{system}' no existe para '{layer}'. Sistemas: {', '.join(systems)}.",
            where="system",
        )
    chosen = next((c for c in pool if c.fields and c.recognises(fields)), pool[-1])
    return chosen.bind(fields, mapping, system, fixed)


def importer_classes(layer: str) -> list[type[Importer]]:
    """The schema classes of a layer, most specific first (the generic one last)."""
    from layers.importers import catalogue

    return catalogue(layer)


def run_import(
    layer: str,
    path: str | Path,
    *,
    source_layer: str | None = None,
    crs: str | int | None = None,
    mapping: Mapping[str, str] | None = None,
    fixed: Mapping[str, Any] | None = None,
    system: str | None = None,
    dry_run: bool = False,
    skip_rejected: bool = False,
    replace: bool = False,
    swap_xy: bool = False,
    user: str = "",
    progress: Progress | None = None,
    on_start: Callable[[int | None], None] | None = None,
    database_url: str | None = None,
    start_django: Callable[[], None] | None = None,
) -> ImportSummary:
    """Import one vector file into one layer; see the module doc.

    Writes through Django's connection (Django must be set up), or with `database_url`
    through a connection of its own: then Django is only started (`start_django`) for an
    importer that does not declare its column defaults.
    """
    classes = importer_classes(layer)
    source = open_source(path, source_layer)
    if source.layer is None:
        source = _pick_layer(source, classes, mapping, system)
    info = pyogrio.read_info(source.path, layer=source.layer, **source.open_options)
    if info["features"] == 0:
        raise InvalidInput(f"El archivo '{Path(path).name}' no tiene entidades.", where="path")
    fields = [str(f) for f in info["fields"]]
    importer = choose(classes, layer, fields, mapping, system, fixed)
    summary = ImportSummary(
        layer=layer,
        file=Path(path).name,
        source_layer=source.layer if len(source.layers) > 1 else None,
        schema=importer.label,
        dry_run=dry_run,
    )
    if database_url is not None and importer.defaults is None and start_django is not None:
        start_django()
    if on_start:
        on_start(info["features"] if info["features"] >= 0 else None)
    return importer.run(
        source,
        summary,
        expected=info["features"] if info["features"] >= 0 else None,
        crs=str(crs) if crs is not None else None,
        swap_xy=swap_xy,
        dry_run=dry_run,
        skip_rejected=skip_rejected,
        replace=replace,
        user=user,
        file_path=Path(path),
        progress=progress,
        database_url=database_url,
    )


def _pick_layer(
    source: VectorSource,
    classes: list[type[Importer]],
    mapping: Mapping[str, str] | None,
    system: str | None,
) -> VectorSource:
    """Several layers and no --source-layer: take the only one a schema recognises."""
    matches = []
    for name in source.layers:
        fields = [
            str(f)
            for f in pyogrio.read_info(source.path, layer=name, **source.open_options)["fields"]
        ]
        if any(c.recognises(fields) for c in classes if c.fields):
            matches.append(name)
    if len(matches) == 1:
        return VectorSource(**{**source.__dict__, "layer": matches[0]})
    raise InvalidInput(
        f"El archivo '{source.display}' tiene varias capas ({', '.join(source.layers)}); "
        "indique cuál importar con --source-layer.",
        where="source_layer",
    )
