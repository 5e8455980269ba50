"""The pre-generalised low-zoom tile geometry store (layers.tile_generalised).

UNLOGGED like the tile cache: it is derived from the layers and rebuilt lazily when a
layer's revision moves, so it is never worth a WAL write.
"""

from django.db import migrations

from layers.tile_generalised import CREATE_SQL, DROP_SQL


class Migration(migrations.Migration):
    dependencies = [
        ("layers", "0004_tilecache"),
    ]

    operations = [
        migrations.RunSQL(CREATE_SQL, DROP_SQL),
    ]
