"""The tile cache table (UNLOGGED: it is rebuilt from the layers, never worth a WAL write)."""

from django.db import migrations

from layers.tilecache import CREATE_SQL


class Migration(migrations.Migration):
    dependencies = [
        ("layers", "0003_layerrevision"),
    ]

    operations = [
        migrations.RunSQL(CREATE_SQL, "DROP TABLE IF EXISTS layers_tilecache"),
    ]
