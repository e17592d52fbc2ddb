"""Canvas API request counting: per workspace, endpoint template and day (no bodies, no URLs).

The client buffers counts and flushes them here in one upsert; the data-access page reads
``CanvasApiRequestCount`` to show what was actually read from Canvas.
"""

from collections.abc import Mapping
from datetime import date

from django.db import connection, transaction
from django.utils import timezone

from integrations.canvas.models import CanvasApiRequestCount


def request_counts_add(*, workspace_id: int, counts: Mapping[str, int], day: date | None = None) -> None:
    """Add ``counts`` ({endpoint template: n}) to the day's rows with one INSERT ... ON CONFLICT."""
    rows = [(workspace_id, day or timezone.localdate(), endpoint[:255], n) for endpoint, n in counts.items() if n]
    if not rows:
        return
    table = CanvasApiRequestCount._meta.db_table
    values = ", ".join(["(%s, %s, %s, %s)"] * len(rows))
    params = [value for row in rows for value in row]
    sql = (
        f"INSERT INTO {table} (workspace_id, day, endpoint, count) VALUES {values} "  # noqa: S608 (fixed identifiers)
        f"ON CONFLICT (workspace_id, day, endpoint) DO UPDATE SET count = {table}.count + EXCLUDED.count"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
