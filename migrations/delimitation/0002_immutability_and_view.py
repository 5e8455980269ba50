"""Boundary versions and acts are immutable; the `districts` layer reads a current-boundary view.

The trigger refuses UPDATE and DELETE on legal records. Only a maintenance session that sets
`SET LOCAL delimitation.purge = 'on'` (e.g. a test fixture dropping its own districts) may delete.
"""

from django.db import migrations

IMMUTABLE = """
CREATE OR REPLACE FUNCTION delimitation_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('delimitation.purge', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'Registro inmutable: % en % no está permitido', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation',
              HINT = 'Cree una nueva versión del límite o un nuevo acto administrativo.';
END
$$;
CREATE TRIGGER boundaryversion_immutable
    BEFORE UPDATE OR DELETE ON delimitation_boundaryversion
    FOR EACH ROW EXECUTE FUNCTION delimitation_refuse_change();
CREATE TRIGGER administrativeact_immutable
    BEFORE UPDATE OR DELETE ON delimitation_administrativeact
    FOR EACH ROW EXECUTE FUNCTION delimitation_refuse_change();
"""

IMMUTABLE_REVERSE = """
DROP TRIGGER IF EXISTS boundaryversion_immutable ON delimitation_boundaryversion;
DROP TRIGGER IF EXISTS administrativeact_immutable ON delimitation_administrativeact;
DROP FUNCTION IF EXISTS delimitation_refuse_change();
"""

# Each district with its newest boundary version: the table of the `districts` layer.
VIEW = """
CREATE VIEW delimitation_district_current AS
SELECT d.id, d.code, d.name, d.type, d.status, d.description, d.revision,
       d.created_at, d.updated_at,
       v.id AS version_id, v.number AS version, v.source, v.author,
       v.created_at AS version_at, v.area_ha, v.geom,
       (SELECT a.number FROM delimitation_administrativeact a
         WHERE a.district_id = d.id ORDER BY a.date DESC, a.id DESC LIMIT 1) AS last_act
FROM delimitation_district d
JOIN LATERAL (
    SELECT b.* FROM delimitation_boundaryversion b
    WHERE b.district_id = d.id ORDER BY b.number DESC LIMIT 1
) v ON TRUE;
"""


class Migration(migrations.Migration):
    dependencies = [("delimitation", "0001_initial")]
    operations = [
        migrations.RunSQL(IMMUTABLE, IMMUTABLE_REVERSE),
        migrations.RunSQL(VIEW, "DROP VIEW IF EXISTS delimitation_district_current"),
    ]
