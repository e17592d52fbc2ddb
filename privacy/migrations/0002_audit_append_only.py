"""The audit log is append-only in the database too: UPDATE is refused by a trigger.

DELETE stays possible for the retention purge and for removing a whole workspace row.
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION privacy_auditentry_refuse_update() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'privacy_auditentry is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER privacy_auditentry_no_update BEFORE UPDATE ON privacy_auditentry
    FOR EACH ROW EXECUTE FUNCTION privacy_auditentry_refuse_update();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS privacy_auditentry_no_update ON privacy_auditentry;
DROP FUNCTION IF EXISTS privacy_auditentry_refuse_update();
"""


class Migration(migrations.Migration):
    dependencies = [("privacy", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
