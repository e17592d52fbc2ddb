"""Platform public keys (JWKS), cached in the shared Django cache.

- fetched with a timeout and no redirects;
- kept for the platform's Cache-Control max-age, clamped between
  LTI_JWKS_CACHE_MIN_SECONDS and LTI_JWKS_CACHE_MAX_SECONDS;
- on an unknown ``kid`` (Canvas rotates its keys), refetched at most once per
  LTI_JWKS_REFETCH_COOLDOWN_SECONDS across all processes (cache.add is atomic).
Security Framework §6.3-6.4; RFC 8725 §3.10 (never trust jku/x5u from a token).
"""

import hashlib
import logging
import re

import httpx
import jwt
from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)


class PlatformKeyError(Exception):
    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def _cache_key(jwks_url: str) -> str:
    return "lti-jwks:v1:" + hashlib.sha256(jwks_url.encode()).hexdigest()


def _max_age(cache_control: str) -> int:
    match = re.search(r"max-age=(\d+)", cache_control or "")
    age = int(match.group(1)) if match else 0
    return max(settings.LTI_JWKS_CACHE_MIN_SECONDS, min(age, settings.LTI_JWKS_CACHE_MAX_SECONDS))


def _fetch(jwks_url: str) -> dict:
    headers = {"User-Agent": f"{settings.PRODUCT_NAME} (+{settings.CONTACT_EMAIL})", "Accept": "application/json"}
    try:
        response = httpx.get(jwks_url, timeout=settings.LTI_HTTP_TIMEOUT_SECONDS, headers=headers)
        response.raise_for_status()
        keyset = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        logger.warning("platform JWKS fetch failed: %s (%s)", jwks_url, type(exc).__name__)
        raise PlatformKeyError("jwks_unavailable", "The platform's public keys could not be fetched.") from exc
    if not isinstance(keyset, dict) or not isinstance(keyset.get("keys"), list):
        raise PlatformKeyError("jwks_unavailable", "The platform's key set is not a JWKS document.")
    keys = {k["kid"]: k for k in keyset["keys"] if isinstance(k, dict) and isinstance(k.get("kid"), str)}
    cache.set(_cache_key(jwks_url), keys, _max_age(response.headers.get("cache-control", "")))
    return keys


def _to_key(jwk: dict):
    if jwk.get("kty") != "RSA" or jwk.get("alg", "RS256") != "RS256" or jwk.get("use", "sig") != "sig":
        raise PlatformKeyError("unknown_kid", "The platform key for this token is not an RS256 signing key.")
    try:
        return jwt.PyJWK(jwk, algorithm="RS256").key
    except jwt.PyJWTError as exc:
        raise PlatformKeyError("unknown_kid", "The platform key for this token is malformed.") from exc


def platform_key(*, jwks_url: str, kid: str):
    """The RSA public key for ``kid`` from the platform's JWKS."""
    keys = cache.get(_cache_key(jwks_url))
    if keys is None:
        keys = _fetch(jwks_url)
    elif kid not in keys and cache.add(
        _cache_key(jwks_url) + ":refetch", 1, settings.LTI_JWKS_REFETCH_COOLDOWN_SECONDS
    ):
        keys = _fetch(jwks_url)
    if kid not in keys:
        raise PlatformKeyError("unknown_kid", "The token was signed with a key the platform does not publish.")
    return _to_key(keys[kid])
