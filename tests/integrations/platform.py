"""A test LTI platform: its own RSA key, a JWKS served over real HTTP on 127.0.0.1,
and helpers that drive the tool's OIDC login -> launch flow like Canvas does."""

import base64
import copy
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

FIXTURES = Path(__file__).parent / "fixtures"
LTI = "https://purl.imsglobal.org/spec/lti/claim/"
TOOL_LAUNCH_URL = "https://tool.test/lti/launch/"


def load_fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def _b64(n: int) -> str:
    return base64.urlsafe_b64encode(n.to_bytes((n.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()


class SigningKey:
    def __init__(self, kid: str):
        self.kid = kid
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    @property
    def jwk(self) -> dict:
        numbers = self.private.public_key().public_numbers()
        return {"kty": "RSA", "alg": "RS256", "use": "sig", "kid": self.kid, "e": _b64(numbers.e), "n": _b64(numbers.n)}


class JwksServer:
    """Serves the platform's JWKS on 127.0.0.1 and counts fetches."""

    def __init__(self):
        self.keys: list[SigningKey] = []
        self.fetches = 0
        self.cache_control = "max-age=3600"
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                server.fetches += 1
                body = json.dumps({"keys": [k.jwk for k in server.keys]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Cache-Control", server.cache_control)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/jwks.json"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class TestPlatform:
    """One registered platform (issuer + client_id) with its deployment."""

    __test__ = False

    def __init__(self, *, jwks: JwksServer, key: SigningKey, issuer: str, client_id: str, deployment_id: str):
        self.jwks = jwks
        self.key = key
        self.issuer = issuer
        self.client_id = client_id
        self.deployment_id = deployment_id

    # --- step 1-2: login initiation ---------------------------------------------------
    def login(self, client, *, method: str = "post", **overrides):
        params = {
            "iss": self.issuer,
            "login_hint": "535fa085f22b4655f48cd5a36a9215f64c062838",
            "client_id": self.client_id,
            "lti_deployment_id": self.deployment_id,
            "target_link_uri": TOOL_LAUNCH_URL,
            "lti_message_hint": "opaque-hint",
            "canvas_environment": "prod",
            "canvas_region": "not_configured",
        }
        params.update(overrides)
        params = {k: v for k, v in params.items() if v is not None}
        response = getattr(client, method)("/lti/login/", params, secure=True)
        return response

    @staticmethod
    def auth_request(response) -> dict:
        """The query of the authorization redirect the login page continues to."""
        html = response.content.decode()
        start = html.index('<script id="nectir-auth-url" type="application/json">') + len(
            '<script id="nectir-auth-url" type="application/json">'
        )
        url = json.loads(html[start : html.index("</script>", start)])
        return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()} | {"_url": url}

    # --- step 3: the id_token ------------------------------------------------------------
    def claims(
        self, *, nonce: str, fixture: str = "id-token.resource-link.student.self-hosted-canvas.json", **overrides
    ):
        now = int(time.time())
        payload = copy.deepcopy(load_fixture(fixture))
        payload.update(
            {
                "iss": self.issuer,
                "aud": self.client_id,
                "azp": self.client_id,
                "nonce": nonce,
                "iat": now,
                "exp": now + 3600,
                LTI + "deployment_id": self.deployment_id,
                LTI + "target_link_uri": TOOL_LAUNCH_URL,
            }
        )
        for key, value in overrides.items():
            if value is DROP:
                payload.pop(key, None)
            else:
                payload[key] = value
        return payload

    def sign(self, payload: dict, *, key: SigningKey | None = None, headers: dict | None = None, alg="RS256") -> str:
        key = key or self.key
        return jwt.encode(payload, key.private, algorithm=alg, headers={"kid": key.kid, **(headers or {})})

    def launch(self, client, *, id_token: str, state: str, **extra):
        return client.post("/lti/launch/", {"id_token": id_token, "state": state, **extra}, secure=True)

    def full_launch(self, client, **claim_overrides):
        """Login, then launch with a valid token; returns (response, auth_request)."""
        auth = self.auth_request(self.login(client))
        fixture = claim_overrides.pop("fixture", "id-token.resource-link.student.self-hosted-canvas.json")
        token = self.sign(self.claims(nonce=auth["nonce"], fixture=fixture, **claim_overrides))
        return self.launch(client, id_token=token, state=auth["state"]), auth


DROP = object()


def new_sub() -> str:
    return str(uuid.uuid4())
