"""A fake Canvas for the tests and the bench: an http.server on 127.0.0.1 in a thread.

It serves the REST endpoints the import reads (paginated with Link headers, default 10 per page,
at most 100), file downloads with a verifier, and the OAuth2 token endpoint. Objects are built
from the Canvas fixtures in ``tests/canvas/fixtures``. Faults are scripted per path regex
(``fail``), slow responses with ``delay``; every request is logged (method, path, query, auth).
"""

from __future__ import annotations

import copy
import io
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str):
    return json.loads((FIXTURES / name).read_text())


PAGE = fixture("page.assembled-from-model-examples.json")
FILE = fixture("file.assembled-from-model-examples.json")
MODULE = fixture("module.assembled-from-model-examples.json")
MODULE_ITEM = fixture("module-item.assembled-from-model-examples.json")
TOPIC = fixture("discussion-topic.canvas-docs-example.json")
COURSE = fixture("course.canvas-docs-example.json")
USER = fixture("user.canvas-docs-example.json")
INVALID_TOKEN = fixture("error.401.invalid-access-token.body.json")
INSUFFICIENT_SCOPES = fixture("error.401.insufficient-scopes.body.json")
REFRESH_NOT_FOUND = fixture("error.400.refresh-token-not-found.body.json")
TOKEN_RESPONSE = fixture("oauth2.token-response.authorization_code.canvas-docs.json")
REFRESH_RESPONSE = fixture("oauth2.token-response.refresh_token.canvas-docs.json")


def make_pdf(text: str) -> bytes:
    """A minimal one-page PDF whose text pypdf can extract."""
    safe = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    stream = f"BT /F1 12 Tf 72 720 Td ({safe}) Tj ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(f"{n} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def make_docx(paragraphs: list[str]) -> bytes:
    import docx

    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


@dataclass
class Fault:
    pattern: re.Pattern
    status: int
    body: bytes = b""
    headers: dict = field(default_factory=dict)
    times: int = 1
    delay: float = 0.0
    method: str = "GET"


class FakeCanvasState:
    """The course, tokens and scripted faults. Tests change it between runs."""

    def __init__(self, course_id: int = 370663):
        self.course_id = course_id
        self.lock = threading.Lock()
        self.base_url = ""
        self.client_id = "10000000000042"
        self.client_secret = "s3cret-dev-key"
        self.redirect_uri = ""
        self.valid_tokens: set[str] = set()
        self.refresh_tokens: set[str] = set()
        self.codes: dict[str, dict] = {}
        self.revoked: list[str] = []
        self.denied_scopes: set[str] = set()  # path regexes answered with "Insufficient scopes"
        self.faults: list[Fault] = []
        self.log: list[dict] = []
        self.rate_remaining = 700.0
        self.rate_checked_at = time.monotonic()
        self.request_cost = 0.05
        self.include_syllabus = True
        self.courses_list = [{"id": course_id, "name": COURSE["name"], "course_code": COURSE["course_code"]}]
        self.syllabus_body = COURSE["syllabus_body"]
        self.pages: dict[int, dict] = {}
        self.assignments: dict[int, dict] = {}
        self.discussions: dict[int, dict] = {}
        self.quizzes: dict[int, dict] = {}
        self.announcements: dict[int, dict] = {}
        self.modules: dict[int, dict] = {}
        self.module_items: dict[int, list[dict]] = {}
        self.files: dict[int, dict] = {}
        self.file_bodies: dict[int, bytes] = {}

    # --- building content --------------------------------------------------------------------
    def add_page(self, page_id: int, title: str, body: str, *, published=True, updated_at="2025-01-10T10:00:00Z"):
        page = copy.deepcopy(PAGE)
        page.update(
            page_id=page_id,
            url=f"page-{page_id}",
            title=title,
            body=body,
            published=published,
            updated_at=updated_at,
            html_url=f"{self.base_url}/courses/{self.course_id}/pages/page-{page_id}",
        )
        self.pages[page_id] = page
        return page

    def add_assignment(self, assignment_id: int, name: str, description: str, *, published=True, **extra):
        self.assignments[assignment_id] = {
            "id": assignment_id,
            "name": name,
            "description": description,
            "created_at": "2025-01-05T09:00:00Z",
            "updated_at": extra.pop("updated_at", "2025-01-06T09:00:00Z"),
            "due_at": extra.pop("due_at", "2025-02-01T23:59:00Z"),
            "lock_at": None,
            "unlock_at": "2025-01-20T00:00:00Z",
            "course_id": self.course_id,
            "html_url": f"{self.base_url}/courses/{self.course_id}/assignments/{assignment_id}",
            "submissions_download_url": f"{self.base_url}/courses/{self.course_id}/assignments/{assignment_id}/subs",
            "points_possible": 10.0,
            "submission_types": ["online_text_entry"],
            "has_submitted_submissions": True,
            "needs_grading_count": 3,
            "published": published,
            "position": assignment_id,
            **extra,
        }

    def add_discussion(self, topic_id: int, title: str, message: str, *, published=True):
        topic = copy.deepcopy(TOPIC)
        topic.update(
            id=topic_id,
            title=title,
            message=message,
            published=published,
            html_url=f"{self.base_url}/courses/{self.course_id}/discussion_topics/{topic_id}",
            updated_at="2025-01-07T09:00:00Z",
        )
        self.discussions[topic_id] = topic

    def add_quiz(self, quiz_id: int, title: str, description: str, *, published=True):
        self.quizzes[quiz_id] = {
            "id": quiz_id,
            "title": title,
            "html_url": f"{self.base_url}/courses/{self.course_id}/quizzes/{quiz_id}",
            "description": description,
            "quiz_type": "assignment",
            "time_limit": 30,
            "due_at": "2025-03-01T23:59:00Z",
            "published": published,
            "points_possible": 20,
        }

    def add_announcement(self, topic_id: int, title: str, message: str, *, posted_at: str, published=True):
        topic = copy.deepcopy(TOPIC)
        topic.update(
            id=topic_id,
            title=title,
            message=message,
            posted_at=posted_at,
            published=published,
            subscription_hold="topic_is_announcement",
            context_code=f"course_{self.course_id}",
            html_url=f"{self.base_url}/courses/{self.course_id}/discussion_topics/{topic_id}",
        )
        self.announcements[topic_id] = topic

    def add_module(self, module_id: int, name: str, position: int, items: list[tuple[int, str, str]], published=True):
        module = copy.deepcopy(MODULE)
        module.update(id=module_id, name=name, position=position, published=published, items=None)
        module["items_url"] = f"{self.base_url}/api/v1/courses/{self.course_id}/modules/{module_id}/items"
        self.modules[module_id] = module
        rows = []
        for n, (item_id, title, kind) in enumerate(items, 1):
            item = copy.deepcopy(MODULE_ITEM)
            item.update(
                id=item_id,
                module_id=module_id,
                position=n,
                title=title,
                type=kind,
                published=True,
                html_url=f"{self.base_url}/courses/{self.course_id}/modules/items/{item_id}",
                url=f"{self.base_url}/api/v1/courses/{self.course_id}/assignments/{item_id}",
            )
            rows.append(item)
        self.module_items[module_id] = rows

    def add_file(self, file_id: int, name: str, content_type: str, data: bytes, *, locked=False, **extra):
        item = copy.deepcopy(FILE)
        verifier = secrets.token_urlsafe(12)
        item.update(
            id=file_id,
            display_name=name,
            filename=name,
            size=len(data),
            locked=locked,
            updated_at=extra.pop("updated_at", "2025-01-08T10:00:00Z"),
            modified_at=extra.pop("modified_at", "2025-01-08T10:00:00Z"),
            url=f"{self.base_url}/files/{file_id}/download?download_frd=1&verifier={verifier}",
            **extra,
        )
        item["content-type"] = content_type
        item["_verifier"] = verifier
        self.files[file_id] = item
        self.file_bodies[file_id] = data

    # --- faults and tokens ---------------------------------------------------------------------
    def fail(self, path_regex: str, status: int, body=b"", *, headers=None, times=1, delay=0.0, method="GET"):
        if isinstance(body, dict | list):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        self.faults.append(Fault(re.compile(path_regex), status, body, headers or {}, times, delay, method))

    def issue_token(self) -> str:
        token = f"1~{secrets.token_urlsafe(24)}"
        self.valid_tokens.add(token)
        return token

    def issue_refresh_token(self) -> str:
        token = secrets.token_urlsafe(32)
        self.refresh_tokens.add(token)
        return token

    def expire_all_tokens(self) -> None:
        self.valid_tokens.clear()

    def consent(self, authorize_url: str) -> tuple[str, str]:
        """What Canvas does when the user clicks Authorize: issue a code for the redirect URI."""
        query = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
        assert query["client_id"] == self.client_id and query["response_type"] == "code"
        code = secrets.token_urlsafe(16)
        self.codes[code] = {
            "redirect_uri": query["redirect_uri"],
            "challenge": query.get("code_challenge", ""),
            "scope": query.get("scope", ""),
        }
        return code, query["state"]

    def requests_to(self, path_regex: str, method: str = "GET") -> list[dict]:
        pattern = re.compile(path_regex)
        return [r for r in self.log if r["method"] == method and pattern.search(r["path"])]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    wbufsize = 1 << 16  # one write per response (no delayed-ACK stalls on keep-alive)
    state: FakeCanvasState  # set on the subclass

    def log_message(self, *args):  # quiet
        return

    # --- plumbing ------------------------------------------------------------------------------
    def _send(self, status: int, body=b"", headers=None):
        if isinstance(body, dict | list):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        headers = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
        with self.state.lock:
            # Canvas's leaky bucket: 700 units, leaking back at 10 units/s; a cheap GET costs little.
            now = time.monotonic()
            refill = (now - self.state.rate_checked_at) * 10.0
            self.state.rate_checked_at = now
            self.state.rate_remaining = min(700.0, self.state.rate_remaining + refill)
            self.state.rate_remaining = max(0.0, self.state.rate_remaining - self.state.request_cost)
            remaining = self.state.rate_remaining
        headers.setdefault("X-Request-Cost", f"{self.state.request_cost}")
        headers.setdefault("X-Rate-Limit-Remaining", f"{remaining:.2f}")
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _log(self):
        parts = urlsplit(self.path)
        entry = {
            "method": self.command,
            "path": parts.path,
            "query": parse_qs(parts.query),
            "auth": self.headers.get("Authorization", ""),
            "user_agent": self.headers.get("User-Agent", ""),
        }
        with self.state.lock:
            self.state.log.append(entry)
        return parts, entry

    def _fault(self, path: str):
        with self.state.lock:
            for fault in self.state.faults:
                if fault.times > 0 and fault.method == self.command and fault.pattern.search(path):
                    fault.times -= 1
                    return fault
        return None

    def _read_form(self) -> dict[str, str]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode() if length else ""
        return {k: v[0] for k, v in parse_qs(raw).items()}

    def _paginate(self, items: list, parts):
        query = parse_qs(parts.query)
        per_page = min(100, int(query.get("per_page", ["10"])[0]))
        page = int(query.get("page", ["1"])[0])
        start = (page - 1) * per_page
        chunk = items[start : start + per_page]
        base = {k: v for k, v in query.items() if k not in ("page", "per_page")}

        def link(n):
            q = urlencode([*((k, x) for k, vs in base.items() for x in vs), ("page", n), ("per_page", per_page)])
            return f"{self.state.base_url}{parts.path}?{q}"

        links = [f'<{link(page)}>; rel="current"', f'<{link(1)}>; rel="first"']
        if start + per_page < len(items):
            links.append(f'<{link(page + 1)}>; rel="next"')
        if page > 1:
            links.append(f'<{link(page - 1)}>; rel="prev"')
        self._send(200, chunk, {"Link": ",".join(links)})

    # --- OAuth --------------------------------------------------------------------------------
    def do_POST(self):
        parts, _ = self._log()
        if parts.path != "/login/oauth2/token":
            return self._send(404, {"errors": [{"message": "The specified resource does not exist."}]})
        fault = self._fault(parts.path)
        form = self._read_form()
        if fault:
            return self._send(fault.status, fault.body, fault.headers)
        s = self.state
        if form.get("client_id") != s.client_id or form.get("client_secret") != s.client_secret:
            return self._send(401, {"error": "invalid_client", "error_description": "unknown client"})
        if form.get("grant_type") == "authorization_code":
            grant = s.codes.pop(form.get("code", ""), None)
            if grant is None or form.get("redirect_uri") != grant["redirect_uri"]:
                return self._send(400, {"error": "invalid_grant", "error_description": "authorization_code not found"})
            if grant.get("challenge"):
                import base64
                import hashlib

                verifier = form.get("code_verifier", "")
                digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
                if digest != grant["challenge"]:
                    return self._send(400, {"error": "invalid_grant", "error_description": "pkce verification failed"})
            body = copy.deepcopy(TOKEN_RESPONSE)
            body["access_token"] = s.issue_token()
            body["refresh_token"] = s.issue_refresh_token()
            return self._send(200, body)
        if form.get("grant_type") == "refresh_token":
            if form.get("refresh_token") not in s.refresh_tokens:
                return self._send(400, REFRESH_NOT_FOUND)
            body = copy.deepcopy(REFRESH_RESPONSE)
            body["access_token"] = s.issue_token()
            return self._send(200, body)
        return self._send(400, {"error": "unsupported_grant_type"})

    def do_DELETE(self):
        parts, entry = self._log()
        if parts.path != "/login/oauth2/token":
            return self._send(404, {})
        token = entry["auth"].removeprefix("Bearer ")
        if token not in self.state.valid_tokens:
            return self._send(401, INVALID_TOKEN, {"WWW-Authenticate": 'Bearer realm="canvas-lms"'})
        self.state.valid_tokens.discard(token)
        self.state.revoked.append(token)
        return self._send(200, {})

    def do_PUT(self):
        self._log()
        self._send(405, {})

    def do_PATCH(self):
        self._log()
        self._send(405, {})

    # --- REST ---------------------------------------------------------------------------------
    def do_GET(self):
        parts, entry = self._log()
        path = parts.path
        fault = self._fault(path)
        if fault:
            if fault.delay:
                time.sleep(fault.delay)
            if fault.status == 0:  # drop the connection
                self.close_connection = True
                return
            return self._send(fault.status, fault.body, fault.headers)
        s = self.state
        file_match = re.fullmatch(r"/files/(\d+)/download", path)
        if file_match:
            file_id = int(file_match.group(1))
            item = s.files.get(file_id)
            verifier = parse_qs(parts.query).get("verifier", [""])[0]
            if item is None or verifier != item["_verifier"]:
                return self._send(404, {"errors": [{"message": "The specified resource does not exist."}]})
            return self._send(200, s.file_bodies[file_id], {"Content-Type": item["content-type"]})
        token = entry["auth"].removeprefix("Bearer ")
        if token not in s.valid_tokens:
            return self._send(401, INVALID_TOKEN, {"WWW-Authenticate": 'Bearer realm="canvas-lms"'})
        for denied in s.denied_scopes:
            if re.search(denied, path):
                return self._send(401, INSUFFICIENT_SCOPES)
        return self._route(path, parts)

    def _route(self, path: str, parts):
        s = self.state
        cid = str(s.course_id)
        query = parse_qs(parts.query)
        not_found = {"errors": [{"message": "The specified resource does not exist."}]}
        if path == "/api/v1/users/self":
            return self._send(200, {"id": 42, "name": "Jimi Hendrix", "short_name": "Jimi"})
        if path == "/api/v1/courses":
            return self._paginate(s.courses_list, parts)
        match = re.fullmatch(r"/api/v1/courses/([^/]+)(/.*)?", path)
        if not match or match.group(1) != cid:
            if path == "/api/v1/announcements":
                return self._announcements(query, parts)
            return self._send(404, not_found)
        rest = match.group(2) or ""
        if rest == "":
            course = copy.deepcopy(COURSE)
            course["id"] = s.course_id
            course.pop("syllabus_body")
            if "syllabus_body" in query.get("include[]", []) and s.include_syllabus:
                course["syllabus_body"] = s.syllabus_body
            return self._send(200, course)
        if rest == "/pages":
            listing = [{k: v for k, v in p.items() if k != "body"} for p in s.pages.values()]
            return self._paginate(sorted(listing, key=lambda p: p["title"]), parts)
        page_match = re.fullmatch(r"/pages/page_id:(\d+)", rest)
        if page_match:
            page = s.pages.get(int(page_match.group(1)))
            return self._send(200, page) if page else self._send(404, not_found)
        simple = {
            "/assignments": s.assignments,
            "/discussion_topics": s.discussions,
            "/quizzes": s.quizzes,
            "/modules": s.modules,
            "/files": {k: {kk: vv for kk, vv in v.items() if not kk.startswith("_")} for k, v in s.files.items()},
        }
        if rest in simple:
            return self._paginate(list(simple[rest].values()), parts)
        items_match = re.fullmatch(r"/modules/(\d+)/items", rest)
        if items_match:
            return self._paginate(s.module_items.get(int(items_match.group(1)), []), parts)
        return self._send(404, not_found)

    def _announcements(self, query, parts):
        codes = query.get("context_codes[]", [])
        start = query.get("start_date", [None])[0]
        end = query.get("end_date", [None])[0]
        if f"course_{self.state.course_id}" not in codes:
            return self._paginate([], parts)
        # Canvas's default window: 14 days back only; we only serve history when start_date is given.
        rows = [
            a
            for a in self.state.announcements.values()
            if start and a["posted_at"][:10] >= start[:10] and (not end or a["posted_at"][:10] <= end[:10])
        ]
        return self._paginate(rows, parts)


class FakeCanvas:
    """Start/stop the server; ``.state`` is the course and knobs, ``.url`` its base URL."""

    def __init__(self, state: FakeCanvasState | None = None):
        self.state = state or FakeCanvasState()
        handler = type("BoundHandler", (Handler,), {"state": self.state})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.state.base_url = self.url
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> FakeCanvas:
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
