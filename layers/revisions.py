"""Per-layer revision counters kept by statement-level triggers on every registry table.

Any write to a table behind a layer, by any path (REST, WFS-T, OGC API, importer, admin,
psql), bumps the revision of every layer built on that table in the same transaction, so a
cache keyed on the revision is fresh on the very next request after the commit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from layers.registry import Layer, all_layers

TRIGGER_NAME = "layers_revision_bump"

FUNCTION_SQL = """
CREATE OR REPLACE FUNCTION layers_bump_revision() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  layer_name text;
BEGIN
  -- Arguments are the layer names built on this table, sorted so writers lock rows in the
  -- same order and never deadlock each other.
  FOREACH layer_name IN ARRAY TG_ARGV LOOP
    INSERT INTO layers_layerrevision (layer, revision, changed_at)
    VALUES (layer_name, 1, now())
    ON CONFLICT (layer) DO UPDATE
      SET revision = layers_layerrevision.revision + 1, changed_at = now();
  END LOOP;
  RETURN NULL;
END
$$;
"""


def tables_to_layers(layers: Iterable[Layer]) -> dict[str, tuple[str, ...]]:
    """Each written table with the sorted names of the layers it feeds."""
    mapping: dict[str, set[str]] = defaultdict(set)
    for layer in layers:
        for table in layer.written_tables:
            mapping[table].add(layer.name)
    return {table: tuple(sorted(names)) for table, names in mapping.items()}


def _quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _quote_ident(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def install_triggers(cursor, layers: Iterable[Layer] | None = None) -> list[str]:
    """Create the bump function and one statement trigger per existing registry table.

    Works with a psycopg or a Django cursor; idempotent; tables that do not exist yet (their
    migration has not run) or are views are skipped and picked up on the next call.
    Returns the tables that carry the trigger.
    """
    cursor.execute(FUNCTION_SQL)
    mapping = tables_to_layers(all_layers() if layers is None else layers)
    cursor.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') "
        "AND c.relname = ANY(%s)",
        [list(mapping)],
    )
    existing = sorted(row[0] for row in cursor.fetchall())
    for table in existing:
        args = ", ".join(_quote_literal(name) for name in mapping[table])
        cursor.execute(
            f"CREATE OR REPLACE TRIGGER {TRIGGER_NAME} "
            f"AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {_quote_ident(table)} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION layers_bump_revision({args})"
        )
    return existing


def revisions(conn, names: Iterable[str]) -> dict[str, int]:
    """Current revision of each named layer (0 when never written)."""
    wanted = list(names)
    rows = conn.execute(
        "SELECT layer, revision FROM layers_layerrevision WHERE layer = ANY(%s)", [wanted]
    ).fetchall()
    found = dict(rows)
    return {name: found.get(name, 0) for name in wanted}
