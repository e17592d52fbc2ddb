"""The tool's own RSA keys: generation, staged rotation and the public JWKS."""

import base64
import hashlib
import json
from datetime import timedelta

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from integrations.models import ToolKey
from privacy.audit import audit_record


def _b64(n: int) -> str:
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _new_key(status: str) -> ToolKey:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    numbers = private.public_key().public_numbers()
    public = {"kty": "RSA", "alg": "RS256", "use": "sig", "e": _b64(numbers.e), "n": _b64(numbers.n)}
    # RFC 7638 thumbprint as kid: stable, never reused for another key.
    thumb = json.dumps({"e": public["e"], "kty": "RSA", "n": public["n"]}, separators=(",", ":"), sort_keys=True)
    public["kid"] = base64.urlsafe_b64encode(hashlib.sha256(thumb.encode()).digest()).rstrip(b"=").decode()
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return ToolKey(kid=public["kid"], public_jwk=public, private_key_pem=pem, status=status)


def tool_key_ensure() -> ToolKey:
    """The active signing key, creating the first one if there is none."""
    with transaction.atomic():
        active = ToolKey.objects.select_for_update().filter(status=ToolKey.Status.ACTIVE).first()
        if active is None:
            active = _new_key(ToolKey.Status.ACTIVE)
            active.activated_at = timezone.now()
            active.save()
    return active


def tool_key_rotate() -> dict[str, str]:
    """One staged rotation step.

    - If no NEXT key is published, publish one (it signs nothing yet).
    - Otherwise promote NEXT to ACTIVE and retire the old ACTIVE key, which stays in
      the JWKS for LTI_KEY_OVERLAP_DAYS.
    Retired keys past the overlap are deleted. Returns what happened, by kid.
    """
    now = timezone.now()
    result: dict[str, str] = {}
    with transaction.atomic():
        keys = list(ToolKey.objects.select_for_update().all())
        for key in keys:
            if key.status == ToolKey.Status.RETIRED and key.retired_at < now - timedelta(
                days=settings.LTI_KEY_OVERLAP_DAYS
            ):
                key.delete()
                result[key.kid] = "deleted"
        nxt = next((k for k in keys if k.status == ToolKey.Status.NEXT), None)
        active = next((k for k in keys if k.status == ToolKey.Status.ACTIVE), None)
        if nxt is None:
            nxt = _new_key(ToolKey.Status.NEXT)
            nxt.save()
            result[nxt.kid] = "published"
            audit_record(workspace_id=None, action="lti.tool_key.rotated", target="tool_keys", details=result)
            return result
        if active is not None:
            active.status = ToolKey.Status.RETIRED
            active.retired_at = now
            active.save(update_fields=["status", "retired_at"])
            result[active.kid] = "retired"
        nxt.status = ToolKey.Status.ACTIVE
        nxt.activated_at = now
        nxt.save(update_fields=["status", "activated_at"])
        result[nxt.kid] = "activated"
        audit_record(workspace_id=None, action="lti.tool_key.rotated", target="tool_keys", details=result)
    return result


def tool_jwks() -> dict:
    """The public key set: the active key, the next one and retired ones in overlap."""
    cutoff = timezone.now() - timedelta(days=settings.LTI_KEY_OVERLAP_DAYS)
    keys = ToolKey.objects.filter(
        Q(status__in=[ToolKey.Status.ACTIVE, ToolKey.Status.NEXT])
        | Q(status=ToolKey.Status.RETIRED, retired_at__gte=cutoff)
    ).values_list("public_jwk", flat=True)
    return {"keys": list(keys)}
