from django.core.management.base import BaseCommand
from django.db import transaction

from integrations.models import ToolKey
from nectir import crypto


class Command(BaseCommand):
    help = (
        "Re-encrypt every secret stored at rest with the first key of FIELD_ENCRYPTION_KEYS. "
        "Rotate by putting a new key first, running this, then removing the old key."
    )

    def handle(self, *args, **opts):
        count = 0
        with transaction.atomic():
            for key in ToolKey.objects.select_for_update():
                if crypto.needs_reencryption(_stored(ToolKey, "private_key_pem", key.pk)):
                    key.save(update_fields=["private_key_pem"])
                    count += 1
        self.stdout.write(f"Re-encrypted {count} value(s).")


def _stored(model, field, pk) -> str:
    from django.db import connection

    column = model._meta.get_field(field).column
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT "{column}" FROM "{model._meta.db_table}" WHERE id = %s', [pk])  # noqa: S608
        return cursor.fetchone()[0]
