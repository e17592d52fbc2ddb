"""Single-pass validation of an LTI 1.3 id_token (1EdTech Security Framework §5.1.3).

Checks, in order, each failure with its own reason code:
header (RS256 only; no jku/x5u/jwk/x5c; kid present) -> signature with the platform key
(cached JWKS) -> iss exact -> aud contains client_id -> azp (required with several
audiences, must equal client_id when present) -> exp/iat with leeway -> nonce is the one
issued for this login -> LTI Core required claims (version, message type, deployment_id,
roles, sub, context and resource link) -> target_link_uri as in the login.
Single use of the nonce/state is enforced by the caller when it consumes the login.
"""

import time

import jwt
from django.conf import settings

from integrations.lti import claims as c
from integrations.lti.errors import LaunchRefused
from integrations.lti.platform_keys import PlatformKeyError, platform_key

FORBIDDEN_HEADERS = ("jku", "x5u", "jwk", "x5c")


def read_header(id_token: str) -> dict:
    if len(id_token.encode()) > settings.LTI_MAX_ID_TOKEN_BYTES:
        raise LaunchRefused("token_too_large", f"{len(id_token)} bytes")
    try:
        header = jwt.get_unverified_header(id_token)
    except jwt.PyJWTError as exc:
        raise LaunchRefused("malformed", "id_token is not a JWS compact serialization") from exc
    alg = header.get("alg")
    if alg != "RS256":
        raise LaunchRefused("alg_not_allowed", f"alg={str(alg)[:20]}")
    present = [h for h in FORBIDDEN_HEADERS if h in header]
    if present:
        raise LaunchRefused("header_not_allowed", ",".join(present))
    if not isinstance(header.get("kid"), str) or not header["kid"]:
        raise LaunchRefused("unknown_kid", "no kid in header")
    return header


def validate_id_token(*, id_token: str, issuer: str, client_id: str, jwks_url: str, nonce: str) -> dict:
    """Return the verified claims, or raise LaunchRefused with the first failed check."""
    header = read_header(id_token)
    try:
        key = platform_key(jwks_url=jwks_url, kid=header["kid"])
    except PlatformKeyError as exc:
        raise LaunchRefused(exc.reason, exc.detail) from exc
    try:
        claims = jwt.decode(
            id_token,
            key=key,
            algorithms=["RS256"],
            options={
                "verify_signature": True,
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
                "verify_aud": False,
                "verify_iss": False,
                "require": [],
            },
        )
    except jwt.InvalidSignatureError as exc:
        raise LaunchRefused("bad_signature", "signature does not verify") from exc
    except jwt.PyJWTError as exc:
        raise LaunchRefused("malformed", type(exc).__name__) from exc
    if not isinstance(claims, dict):
        raise LaunchRefused("malformed", "payload is not an object")

    if claims.get("iss") != issuer:
        raise LaunchRefused("wrong_issuer", f"iss={str(claims.get('iss'))[:100]}")
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    if client_id not in audiences:
        raise LaunchRefused("aud_mismatch", "aud does not contain our client_id")
    azp = claims.get("azp")
    if len(audiences) > 1 and azp is None:
        raise LaunchRefused("azp_mismatch", "several audiences and no azp")
    if azp is not None and azp != client_id:
        raise LaunchRefused("azp_mismatch", "azp is not our client_id")

    now = time.time()
    leeway = settings.LTI_CLOCK_LEEWAY_SECONDS
    exp, iat = claims.get("exp"), claims.get("iat")
    if (
        not isinstance(exp, int | float)
        or isinstance(exp, bool)
        or not isinstance(iat, int | float)
        or isinstance(iat, bool)
    ):
        raise LaunchRefused("claims_invalid", "exp and iat must be numbers")
    if now > exp + leeway:
        raise LaunchRefused("expired", f"expired {int(now - exp)}s ago")
    if iat > now + leeway:
        raise LaunchRefused("iat_in_future", f"iat {int(iat - now)}s ahead")
    if not isinstance(claims.get("nonce"), str) or claims["nonce"] != nonce:
        raise LaunchRefused("nonce_mismatch", "nonce is not the one issued for this login")

    check_lti_claims(claims)
    return claims


def check_lti_claims(claims: dict) -> None:
    """LTI Core 1.3 required claims for the message types we accept."""
    if claims.get(c.CLAIM_VERSION) != c.LTI_VERSION:
        raise LaunchRefused("wrong_version", f"version={str(claims.get(c.CLAIM_VERSION))[:20]}")
    message_type = claims.get(c.CLAIM_MESSAGE_TYPE)
    if message_type not in c.SUPPORTED_MESSAGE_TYPES:
        raise LaunchRefused("wrong_message_type", f"message_type={str(message_type)[:50]}")
    deployment_id = claims.get(c.CLAIM_DEPLOYMENT_ID)
    if not isinstance(deployment_id, str) or not deployment_id or len(deployment_id) > 255:
        raise LaunchRefused("deployment_missing")
    roles = claims.get(c.CLAIM_ROLES)
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise LaunchRefused("roles_missing")
    sub = claims.get("sub")
    if sub is not None and (not isinstance(sub, str) or len(sub) > 255):
        raise LaunchRefused("sub_missing", "sub must be a string of at most 255 characters")
    if not sub:
        # An anonymous launch (no sub) cannot be tied to a person; this tool needs one.
        raise LaunchRefused("sub_missing")
    link = claims.get(c.CLAIM_RESOURCE_LINK)
    if message_type == c.RESOURCE_LINK_REQUEST and (
        not isinstance(link, dict) or not isinstance(link.get("id"), str) or not link["id"]
    ):
        raise LaunchRefused("resource_link_missing")
    context = claims.get(c.CLAIM_CONTEXT)
    valid_context = isinstance(context, dict) and isinstance(context.get("id"), str) and context["id"]
    if message_type == c.RESOURCE_LINK_REQUEST and not valid_context:
        raise LaunchRefused("context_missing")
    target = claims.get(c.CLAIM_TARGET_LINK_URI)
    if not isinstance(target, str) or not target:
        raise LaunchRefused("claims_invalid", "target_link_uri missing")
