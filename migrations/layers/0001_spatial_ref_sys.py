"""PostGIS and EPSG:9377 before any geometry column uses it.

PostGIS 3.3 (Debian 12) ships a spatial_ref_sys without srid 9377 although PROJ knows it;
without this row ogr2ogr and PostGIS would invent or refuse the CRS. WKT and proj4 come
from PROJ itself.
"""

from django.contrib.postgres.operations import CreateExtension
from django.db import migrations


def insert_9377(apps, schema_editor):
    import warnings

    from pyproj import CRS

    crs = CRS.from_epsg(9377)
    with warnings.catch_warnings():
        # PostGIS wants a proj4 string too; its precision loss is irrelevant for a plain TM.
        warnings.simplefilter("ignore", UserWarning)
        proj4 = crs.to_proj4()
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO spatial_ref_sys (srid, auth_name, auth_srid, srtext, proj4text) "
            "VALUES (9377, 'EPSG', 9377, %s, %s) ON CONFLICT (srid) DO NOTHING",
            [crs.to_wkt("WKT1_GDAL"), proj4],
        )


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [
        CreateExtension("postgis"),
        migrations.RunPython(insert_9377, migrations.RunPython.noop),
    ]
