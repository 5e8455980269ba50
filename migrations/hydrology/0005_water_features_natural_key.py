# Natural keys for imported rivers and water intakes: (source, source_id), source_id nullable
# so rows derived from a DEM or drawn by hand (no published id) need none.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("hydrology", "0004_longer_unit_codes"),
    ]

    operations = [
        migrations.AddField(
            model_name="river",
            name="source_id",
            field=models.CharField(
                blank=True, max_length=100, null=True, verbose_name="identificador en la fuente"
            ),
        ),
        migrations.AddField(
            model_name="waterintake",
            name="source_id",
            field=models.CharField(
                blank=True, max_length=100, null=True, verbose_name="identificador en la fuente"
            ),
        ),
        migrations.AddConstraint(
            model_name="river",
            constraint=models.UniqueConstraint(
                fields=("source", "source_id"), name="river_natural_key"
            ),
        ),
        migrations.AddConstraint(
            model_name="waterintake",
            constraint=models.UniqueConstraint(
                fields=("source", "source_id"), name="water_intake_natural_key"
            ),
        ),
    ]
