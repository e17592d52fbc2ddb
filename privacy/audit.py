"""Audit log entry point. Placeholder until the data-access issue implements it.

Call ``audit_record`` for every security-relevant event (who, what, which workspace);
never pass tokens, secrets or message bodies.
"""


def audit_record(*, workspace_id: int | None, action: str, actor=None, target: str = "", details: dict | None = None):
    """Append one audit entry (no-op placeholder)."""
    return None
