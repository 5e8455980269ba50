"""The zoom range each layer's generalised store was built with (layers.tile_generalised).

Tiles read the store only for a zoom it holds, and a store built for another range (the
registry's zooms changed) counts as stale. Databases that created the state table before
these columns get them with an empty range (zmax < zmin): stale, rebuilt on first use.
"""

from django.db import migrations

FORWARD = (
    "ALTER TABLE layers_tilegeneralised "
    "ADD COLUMN IF NOT EXISTS zmin smallint NOT NULL DEFAULT 0, "
    "ADD COLUMN IF NOT EXISTS zmax smallint NOT NULL DEFAULT -1"
)


class Migration(migrations.Migration):
    dependencies = [
        ("layers", "0005_tilegeometry"),
    ]

    operations = [
        migrations.RunSQL(FORWARD, migrations.RunSQL.noop),
    ]
