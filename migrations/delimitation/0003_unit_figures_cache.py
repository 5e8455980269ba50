"""Cache of the proposal engine's per-unit figures (delimitation/engine.py).

A row holds the overlay figures and aptitude class areas of one hydro unit for one
fingerprint: the revisions of every layer they come from, the aptitude rasters and the
counting parameters. Any import or edit of those layers changes the fingerprint, so a stale
row is never read; it is only garbage. Plain SQL (no model): only the engine reads it.
"""

from django.db import migrations

CREATE = """
CREATE TABLE delimitation_unitfigures (
    unit_id bigint NOT NULL REFERENCES hydrology_hydrounit (id) ON DELETE CASCADE,
    fingerprint text NOT NULL,
    figures jsonb NOT NULL,
    computed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (fingerprint, unit_id)
);
CREATE INDEX delimitation_unitfigures_unit ON delimitation_unitfigures (unit_id);
"""


class Migration(migrations.Migration):
    dependencies = [("delimitation", "0002_immutability_and_view"), ("hydrology", "0001_initial")]
    operations = [
        migrations.RunSQL(CREATE, "DROP TABLE IF EXISTS delimitation_unitfigures"),
    ]
