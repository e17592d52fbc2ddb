"""Authenticated encryption for secrets and tokens at rest (AES-256-GCM).

Ciphertext format: ``enc1:<key id>:<urlsafe b64 of 12-byte nonce + ciphertext + tag>``.
The key id is the first 8 hex digits of SHA-256 of the key, so several keys can be
configured (``FIELD_ENCRYPTION_KEYS``): the first encrypts, any decrypts.
"""

import base64
import hashlib
import os
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

PREFIX = "enc1"


class DecryptionError(Exception):
    """The ciphertext is damaged or was made with a key that is no longer configured."""


@lru_cache(maxsize=8)
def _keyring(raw_keys: tuple[str, ...]) -> list[tuple[str, AESGCM]]:
    ring = []
    for raw in raw_keys:
        try:
            key = base64.urlsafe_b64decode(raw.strip())
        except ValueError as exc:
            raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS: a key is not base64") from exc
        if len(key) != 32:
            raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS: each key must be 32 bytes")
        ring.append((hashlib.sha256(key).hexdigest()[:8], AESGCM(key)))
    return ring


def keyring() -> list[tuple[str, AESGCM]]:
    return _keyring(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(plaintext: str, *, context: str = "") -> str:
    """Encrypt text; ``context`` is bound as associated data (e.g. the field name)."""
    key_id, aead = keyring()[0]
    nonce = os.urandom(12)
    sealed = aead.encrypt(nonce, plaintext.encode(), context.encode())
    return f"{PREFIX}:{key_id}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"


def decrypt(token: str, *, context: str = "") -> str:
    try:
        prefix, key_id, body = token.split(":", 2)
    except ValueError as exc:
        raise DecryptionError("not an encrypted value") from exc
    if prefix != PREFIX:
        raise DecryptionError("unknown ciphertext version")
    for candidate_id, aead in keyring():
        if candidate_id == key_id:
            try:
                # validate=True: characters outside the alphabet are an error, not skipped.
                raw = base64.b64decode(body, altchars=b"-_", validate=True)
                return aead.decrypt(raw[:12], raw[12:], context.encode()).decode()
            except (InvalidTag, ValueError) as exc:  # binascii.Error and a short nonce are ValueErrors
                raise DecryptionError("ciphertext failed authentication") from exc
    raise DecryptionError(f"no configured key with id {key_id}")


def needs_reencryption(token: str) -> bool:
    """True when the value was encrypted with a key other than the current first key."""
    return not token.startswith(f"{PREFIX}:{keyring()[0][0]}:")


def generate_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()
