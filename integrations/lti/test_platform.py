"""A built-in LTI 1.3 test platform, for trying the tool without Canvas.

Off unless DEBUG or LTI_TEST_PLATFORM_ENABLED. It plays Canvas's part of the real OIDC
flow (login initiation -> authorization -> signed id_token form-post), with its own RSA
key and JWKS, so a launch through it exercises exactly the production validation path.
"""

import time
import uuid

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from integrations.lti import claims as c
from integrations.lti.tool_keys import _b64

CLIENT_ID = "nectir-test-platform"
DEPLOYMENT_ID = "1:test-platform"
_KEY_CACHE = "lti-test-platform:key:v1"
PEOPLE = {
    "student": {
        "sub": "test-platform-student",
        "name": "Sam Student",
        "email": "sam.student@example.edu",
        "roles": [
            "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Student",
            "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner",
            "http://purl.imsglobal.org/vocab/lis/v2/system/person#User",
        ],
    },
    "instructor": {
        "sub": "test-platform-instructor",
        "name": "Ivy Instructor",
        "email": "ivy.instructor@example.edu",
        "roles": [
            "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Instructor",
            "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor",
            "http://purl.imsglobal.org/vocab/lis/v2/system/person#User",
        ],
    },
}


def issuer() -> str:
    return f"{settings.PUBLIC_BASE_URL}/lti/test-platform"


def _enabled() -> None:
    if not settings.LTI_TEST_PLATFORM_ENABLED:
        raise Http404("The test platform is off")


def _private_key():
    pem = cache.get(_KEY_CACHE)
    if pem is None:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        if not cache.add(_KEY_CACHE, pem, None):
            pem = cache.get(_KEY_CACHE)
    return serialization.load_pem_private_key(pem.encode(), password=None)


def _public_jwk() -> dict:
    numbers = _private_key().public_key().public_numbers()
    kid = "test-platform-" + _b64(numbers.n)[:16]
    return {"kty": "RSA", "alg": "RS256", "use": "sig", "kid": kid, "e": _b64(numbers.e), "n": _b64(numbers.n)}


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    _enabled()
    return render(request, "lti/test_platform.html", {"people": PEOPLE})


@require_POST
def start(request: HttpRequest) -> HttpResponse:
    """Step 1: the platform posts a login initiation to the tool."""
    _enabled()
    role = request.POST.get("role")
    if role not in PEOPLE:
        raise Http404("Unknown person")
    fields = {
        "iss": issuer(),
        "login_hint": PEOPLE[role]["sub"],
        "target_link_uri": f"{settings.PUBLIC_BASE_URL}/lti/launch/",
        "client_id": CLIENT_ID,
        "lti_deployment_id": DEPLOYMENT_ID,
        "lti_message_hint": signing.dumps({"role": role}, salt="test-platform"),
    }
    return render(request, "lti/autopost.html", {"action": "/lti/login/", "fields": fields})


@require_GET
def authorize(request: HttpRequest) -> HttpResponse:
    """Step 3: the platform checks the auth request and form-posts a signed id_token."""
    _enabled()
    params = request.GET
    expected_redirect = f"{settings.PUBLIC_BASE_URL}/lti/launch/"
    if params.get("client_id") != CLIENT_ID or params.get("redirect_uri") != expected_redirect:
        return HttpResponse("Invalid client_id or redirect_uri", status=400, content_type="text/plain")
    try:
        role = signing.loads(params.get("lti_message_hint", ""), salt="test-platform", max_age=300)["role"]
    except (signing.BadSignature, KeyError, TypeError):
        return HttpResponse("Invalid lti_message_hint", status=400, content_type="text/plain")
    person = PEOPLE[role]
    now = int(time.time())
    payload = {
        "iss": issuer(),
        "aud": CLIENT_ID,
        "azp": CLIENT_ID,
        "sub": person["sub"],
        "exp": now + 3600,
        "iat": now,
        "nonce": params.get("nonce", ""),
        "name": person["name"],
        "email": person["email"],
        "picture": "https://example.edu/avatar.png",
        "locale": "en",
        c.CLAIM_DEPLOYMENT_ID: DEPLOYMENT_ID,
        c.CLAIM_MESSAGE_TYPE: c.RESOURCE_LINK_REQUEST,
        c.CLAIM_VERSION: c.LTI_VERSION,
        c.CLAIM_ROLES: person["roles"],
        c.CLAIM_TARGET_LINK_URI: expected_redirect,
        c.CLAIM_CONTEXT: {
            "id": "test-platform-course-101",
            "label": "DEMO 101",
            "title": "Demo Course 101",
            "type": ["http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering"],
        },
        c.CLAIM_RESOURCE_LINK: {"id": "test-platform-course-101", "title": "Demo Course 101"},
        c.CLAIM_TOOL_PLATFORM: {
            "guid": "test-platform:canvas-lms",
            "name": "Built-in test platform",
            "product_family_code": "canvas",
            "version": "test",
        },
        c.CLAIM_CUSTOM: {
            "canvas_course_id": "101",
            "canvas_user_id": str(uuid.uuid5(uuid.NAMESPACE_URL, person["sub"]).int % 10**6),
        },
    }
    token = jwt.encode(payload, _private_key(), algorithm="RS256", headers={"kid": _public_jwk()["kid"]})
    return render(
        request,
        "lti/autopost.html",
        {"action": expected_redirect, "fields": {"id_token": token, "state": params.get("state", "")}},
    )


@require_GET
def jwks(request: HttpRequest) -> JsonResponse:
    _enabled()
    return JsonResponse({"keys": [_public_jwk()]})
