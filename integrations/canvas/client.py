"""The only code that speaks HTTP to Canvas.

Two doors, and only two:

* ``CanvasClient``: read-only REST calls. Every request goes through ``CanvasClient.request``,
  which refuses (before anything leaves) any method but GET and any path outside
  ``READ_ENDPOINTS``; an httpx request hook checks the same thing again on the wire. Timeouts on
  every call, a User-Agent naming the product and a contact, Link-header pagination with
  ``per_page=100`` that follows only same-origin ``next`` links, throttling (X-Rate-Limit-Remaining,
  X-Request-Cost, backoff with jitter on 429 / 403 "Rate Limit Exceeded", Retry-After honoured),
  bounded retries on 5xx and timeouts, one refresh on 401 "Invalid access token", and errors typed
  as retryable or permanent. Every request is counted per workspace, endpoint template and day.
* ``oauth_*`` functions: the OAuth 2.0 token endpoint (``POST /login/oauth2/token`` for the code
  exchange and refresh, ``DELETE /login/oauth2/token`` to revoke). They are the only non-GET
  calls, use their own httpx client pinned to that one path, and are not reachable through
  ``CanvasClient``.

Canvas facts: canvas-lms doc/api (OAuth2 endpoints, pagination, throttling) and the REST API
pages named in each method's docstring. httpx instead of canvasapi: see docs/canvas-api.md.
"""

from __future__ import annotations

import email.utils
import ipaddress
import json
import logging
import random
import re
import socket
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, TypedDict
from urllib.parse import urlencode, urljoin, urlsplit, urlunsplit

import httpcore
import httpx
from django.conf import settings

from integrations.canvas.usage import request_counts_add

logger = logging.getLogger(__name__)

# The read endpoints we use; the scopes to enable on the developer key are exactly these.
READ_ENDPOINTS: tuple[str, ...] = (
    "/api/v1/users/:id",
    "/api/v1/courses",
    "/api/v1/courses/:id",
    "/api/v1/courses/:course_id/pages",
    "/api/v1/courses/:course_id/pages/:url_or_id",
    "/api/v1/courses/:course_id/assignments",
    "/api/v1/courses/:course_id/discussion_topics",
    "/api/v1/courses/:course_id/quizzes",
    "/api/v1/announcements",
    "/api/v1/courses/:course_id/modules",
    "/api/v1/courses/:course_id/modules/:module_id/items",
    "/api/v1/courses/:course_id/files",
)
SCOPES: tuple[str, ...] = tuple(f"url:GET|{template}" for template in READ_ENDPOINTS)
# File content links from the Files API (``url`` carries a ``verifier``; no scope needed).
DOWNLOAD_ENDPOINTS: tuple[str, ...] = ("/files/:id/download", "/courses/:course_id/files/:id/download")
TOKEN_PATH = "/login/oauth2/token"
AUTHORIZE_PATH = "/login/oauth2/auth"
PER_PAGE = 100
MAX_REDIRECTS = 5


def _compile(template: str) -> re.Pattern[str]:
    parts = [("[^/]+" if part.startswith(":") else re.escape(part)) for part in template.split("/")]
    return re.compile("^" + "/".join(parts) + "$")


_READ_PATTERNS = [(template, _compile(template)) for template in READ_ENDPOINTS]
_DOWNLOAD_PATTERNS = [(template, _compile(template)) for template in DOWNLOAD_ENDPOINTS]


# --- errors ---------------------------------------------------------------------------------
class CanvasError(Exception):
    """Base class. ``retryable`` says whether trying again later can help."""

    retryable = False

    def __init__(self, message: str, *, status: int | None = None, endpoint: str = ""):
        super().__init__(message)
        self.status = status
        self.endpoint = endpoint


class CanvasRetryableError(CanvasError):
    retryable = True


class CanvasPermanentError(CanvasError):
    retryable = False


class CanvasRequestRefused(CanvasPermanentError):
    """A request this client will never send (not GET, or not an allowed read endpoint)."""


class CanvasAddressRefused(CanvasRequestRefused):
    """The host resolves to a non-public address (private, loopback, link-local, reserved...)."""


class CanvasTimeoutError(CanvasRetryableError):
    pass


class CanvasUnavailableError(CanvasRetryableError):
    """Connection failure, 5xx after the bounded retries, or a non-JSON 200 (maintenance page)."""


class CanvasUnreachable(CanvasUnavailableError):
    """The host did not resolve or the connection failed (nothing was answered)."""


class CanvasRateLimitedError(CanvasRetryableError):
    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class CanvasReauthRequired(CanvasPermanentError):
    """The token is dead (401 after a refresh, or the refresh token is gone): authorize again."""


class CanvasScopeError(CanvasPermanentError):
    """401 "Insufficient scopes on access token.": the developer key lacks a scope. Not retried."""


class CanvasForbiddenError(CanvasPermanentError):
    """The Canvas user may not read this (401 "user not authorized", or 403)."""


class CanvasNotFoundError(CanvasPermanentError):
    pass


class CanvasIncompleteListing(CanvasPermanentError):
    """Pagination could not be completed (page cap, cycle, off-host link): never reconcile on it."""


class CanvasOAuthError(CanvasPermanentError):
    """The token endpoint said no. ``error`` is the OAuth error code."""

    def __init__(self, message: str, *, error: str = "", **kwargs):
        super().__init__(message, **kwargs)
        self.error = error


class CanvasInvalidClient(CanvasOAuthError):
    """Wrong client ID or secret."""


class CanvasInvalidGrant(CanvasOAuthError):
    """Code expired or used, or refresh token not found: authorize again."""


# --- shared helpers -------------------------------------------------------------------------
def user_agent() -> str:
    return f"{settings.PRODUCT_NAME} (+mailto:{settings.CONTACT_EMAIL}) python-httpx/{httpx.__version__}"


def _timeout() -> httpx.Timeout:
    return httpx.Timeout(
        settings.CANVAS_READ_TIMEOUT_SECONDS,
        connect=settings.CANVAS_CONNECT_TIMEOUT_SECONDS,
    )


def normalize_instance_url(url: str) -> str:
    """``https://school.instructure.com`` from whatever was typed; ValueError when unusable."""
    parts = urlsplit((url or "").strip())
    if not parts.hostname or parts.username or parts.password:
        raise ValueError("Enter the address of your Canvas, e.g. https://school.instructure.com")
    if parts.scheme != "https":
        loopback = parts.hostname in settings.LOOPBACK_HOSTS
        if not (parts.scheme == "http" and loopback and settings.CANVAS_ALLOW_LOOPBACK_HTTP):
            raise ValueError("The Canvas address must start with https://")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError("Enter only the Canvas address (no path), e.g. https://school.instructure.com")
    return urlunsplit((parts.scheme, parts.netloc.lower(), "", "", ""))


# --- public addresses only (SSRF guard) -----------------------------------------------------
UNREACHABLE = "could not reach Canvas"


def _address_allowed(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if address.is_global:
        return True
    return address.is_loopback and settings.CANVAS_ALLOW_LOOPBACK_HTTP


def public_addresses(host: str, port: int | None = None) -> list[str]:
    """The addresses ``host`` resolves to, every one of them public (``ipaddress.is_global``;
    loopback too when CANVAS_ALLOW_LOOPBACK_HTTP is on). CanvasAddressRefused when any is not
    (private, loopback, link-local, shared, reserved...), CanvasUnreachable when it does not
    resolve. Both say only "could not reach Canvas": no internal network detail leaks out."""
    host = (host or "").strip("[]")
    try:
        infos = socket.getaddrinfo(host, port or 443, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError) as exc:
        raise CanvasUnreachable(UNREACHABLE) from exc
    addresses: list[str] = []
    for *_, sockaddr in infos:
        try:
            address = ipaddress.ip_address(sockaddr[0])
        except ValueError:
            address = None
        if address is None or not _address_allowed(address):
            logger.warning("canvas: refused a request to a non-public address (host %r)", host[:100])
            raise CanvasAddressRefused(UNREACHABLE)
        if sockaddr[0] not in addresses:
            addresses.append(sockaddr[0])
    if not addresses:
        raise CanvasUnreachable(UNREACHABLE)
    return addresses


def instance_url_check_public(url: str) -> None:
    """Save-time check: ValueError when the Canvas address resolves to a non-public address.
    A name that does not resolve now is accepted (every request checks again)."""
    parts = urlsplit(url)
    try:
        public_addresses(parts.hostname or "", parts.port)
    except CanvasAddressRefused as exc:
        raise ValueError("The Canvas address must be a public address on the internet.") from exc
    except CanvasUnreachable:
        return


def _guard_public(request: httpx.Request) -> None:
    """Request hook on every httpx client here: refuse a host with a non-public address."""
    public_addresses(request.url.host, request.url.port)


class _PublicOnlyBackend(httpcore.SyncBackend):
    """Connects only to addresses checked by ``public_addresses`` at connect time: the address
    checked is the address connected to (no DNS rebinding between check and connect)."""

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        error: Exception | None = None
        for address in public_addresses(host, port):
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        raise error  # type: ignore[misc]


def _public_transport() -> httpx.HTTPTransport:
    """The transport for real Canvas calls (TLS is still verified against the host name).
    Passing it explicitly also means proxy environment variables are not used."""
    transport = httpx.HTTPTransport()
    transport._pool._network_backend = _PublicOnlyBackend()  # httpx has no argument for it
    return transport


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"https": 443, "http": 80}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


def endpoint_template(method: str, path: str) -> str | None:
    """The allow-listed template a (method, path) matches, e.g. ``GET /api/v1/courses/:id``."""
    if method != "GET":
        return None
    for template, pattern in _READ_PATTERNS:
        if pattern.match(path):
            return f"GET {template}"
    return None


def _download_template(path: str) -> str | None:
    for template, pattern in _DOWNLOAD_PATTERNS:
        if pattern.match(path):
            return f"GET {template}"
    return None


def _retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _pause(seconds: float) -> None:
    """Sleep (the only clock the client waits on; tests replace it with a recorder)."""
    if seconds > 0:
        time.sleep(seconds)


def _error_message(body: bytes) -> str:
    text = body[:2000].decode("utf-8", "replace")
    return text


def _is_rate_limited(status: int, body: bytes) -> bool:
    return status == 429 or (status == 403 and b"rate limit exceeded" in body[:500].lower())


# --- the read-only client -------------------------------------------------------------------
class TokenSource(Protocol):
    """Where the client gets its bearer token (services implement it on a CanvasConnection)."""

    def access_token(self) -> str: ...

    def refresh(self) -> str: ...


class CanvasUser(TypedDict, total=False):
    id: int
    name: str


@dataclass
class ClientStats:
    requests: int = 0
    retries: int = 0
    refreshes: int = 0
    request_cost: float = 0.0
    waited_seconds: float = 0.0


class CanvasClient:
    """Read-only Canvas REST client for one connection (use it as a context manager).

    Request counts are buffered and written on ``close()`` (and every 200 requests).
    """

    FLUSH_EVERY = 200

    def __init__(
        self,
        *,
        base_url: str,
        workspace_id: int,
        tokens: TokenSource,
        transport: httpx.BaseTransport | None = None,
        sleep=None,
    ):
        self.base_url = normalize_instance_url(base_url)
        self._origin = _origin(self.base_url)
        self.workspace_id = workspace_id
        self._tokens = tokens
        self._sleep = sleep or _pause
        self._counts: Counter[str] = Counter()
        self.stats = ClientStats()
        self.rate_remaining: float | None = None
        self._http = httpx.Client(
            timeout=_timeout(),
            headers={"User-Agent": user_agent(), "Accept": "application/json"},
            follow_redirects=False,
            transport=transport or _public_transport(),
            event_hooks={"request": [self._guard, _guard_public]},
        )
        # File content may redirect to Canvas's file store on another host: fetched with no
        # Authorization header, through a separate GET-only client.
        self._files_http = httpx.Client(
            timeout=_timeout(),
            headers={"User-Agent": user_agent()},
            follow_redirects=False,
            transport=transport or _public_transport(),
            event_hooks={"request": [self._guard_offhost, _guard_public]},
        )

    # context manager ------------------------------------------------------------------------
    def __enter__(self) -> CanvasClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        try:
            self.flush_counts()
        finally:
            self._http.close()
            self._files_http.close()

    def flush_counts(self) -> None:
        if self._counts:
            counts, self._counts = dict(self._counts), Counter()
            request_counts_add(workspace_id=self.workspace_id, counts=counts)

    # guards ---------------------------------------------------------------------------------
    def _guard(self, request: httpx.Request) -> None:
        """Last line of defence, on the wire: GET, our Canvas origin, an allowed path."""
        url = str(request.url)
        if request.method != "GET" or _origin(url) != self._origin:
            raise CanvasRequestRefused(f"refused {request.method} to another origin or with a write method")
        path = request.url.path
        if endpoint_template("GET", path) is None and _download_template(path) is None:
            raise CanvasRequestRefused(f"refused GET {path}: not an allowed read endpoint")

    @staticmethod
    def _guard_offhost(request: httpx.Request) -> None:
        if request.method != "GET" or "authorization" in request.headers:
            raise CanvasRequestRefused("refused: file store requests are GET without credentials")

    def _check(self, method: str, url: str) -> str:
        """The endpoint template for an allowed request; raises before anything is sent."""
        if method != "GET":
            raise CanvasRequestRefused(f"refused {method}: the Canvas client only reads (GET)")
        if _origin(url) != self._origin:
            raise CanvasRequestRefused("refused: not this connection's Canvas origin")
        template = endpoint_template("GET", urlsplit(url).path)
        if template is None:
            raise CanvasRequestRefused(f"refused GET {urlsplit(url).path}: not an allowed read endpoint")
        return template

    def _url(self, path: str, params: dict[str, Any] | list[tuple[str, Any]] | None = None) -> str:
        query = urlencode(params or {}, doseq=True)
        return f"{self.base_url}{path}" + (f"?{query}" if query else "")

    # the one request path -------------------------------------------------------------------
    def request(self, method: str, path_or_url: str, params=None) -> Any:
        """Send one allowed GET and return its JSON. Anything else raises CanvasRequestRefused."""
        url = path_or_url if "://" in path_or_url else self._url(path_or_url, params)
        template = self._check(method, url)
        response, body = self._send(url, template)
        return self._json(body, template)

    def _count(self, template: str) -> None:
        self._counts[template] += 1
        self.stats.requests += 1
        if sum(self._counts.values()) >= self.FLUSH_EVERY:
            self.flush_counts()

    def _wait(self, seconds: float) -> None:
        self.stats.waited_seconds += seconds
        self._sleep(seconds)

    def _backoff(self, attempt: int) -> float:
        base = settings.CANVAS_BACKOFF_BASE_SECONDS * (2**attempt)
        return min(settings.CANVAS_BACKOFF_MAX_SECONDS, base) * random.uniform(0.5, 1.0)

    def _note_throttle(self, response: httpx.Response) -> None:
        remaining = response.headers.get("X-Rate-Limit-Remaining")
        cost = response.headers.get("X-Request-Cost")
        try:
            self.stats.request_cost += float(cost) if cost else 0.0
        except ValueError:
            pass
        try:
            self.rate_remaining = float(remaining) if remaining is not None else self.rate_remaining
        except ValueError:
            return

    def _pace(self) -> None:
        """Slow down while the bucket is low: the lower it is, the longer the pause."""
        low = settings.CANVAS_RATE_LIMIT_LOW_WATER
        if self.rate_remaining is not None and self.rate_remaining < low:
            share = 1.0 - max(0.0, self.rate_remaining) / low
            self._wait(settings.CANVAS_RATE_LIMIT_PAUSE_SECONDS * share)

    def _read(self, response: httpx.Response, limit: int) -> bytes | None:
        chunks, size = [], 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
        return b"".join(chunks)

    def _send(
        self, url: str, template: str, *, limit: int | None = None, download: bool = False
    ) -> tuple[httpx.Response, bytes | None]:
        """GET with throttling, bounded retries and one refresh on an expired token.

        For downloads, a redirect is returned as is and an oversize body as None."""
        limit = limit or settings.CANVAS_MAX_RESPONSE_BYTES
        attempt, refreshed = 0, False
        max_retries = settings.CANVAS_MAX_RETRIES
        while True:
            self._pace()
            headers = {"Authorization": f"Bearer {self._tokens.access_token()}"}
            self._count(template)
            try:
                with self._http.stream("GET", url, headers=headers) as response:
                    body = self._read(response, limit)
            except httpx.TimeoutException as exc:
                if attempt >= max_retries:
                    raise CanvasTimeoutError(f"Canvas timed out on {template}", endpoint=template) from exc
                self._retry(attempt)
                attempt += 1
                continue
            except httpx.TransportError as exc:
                if attempt >= max_retries:
                    raise CanvasUnreachable(f"Canvas unreachable on {template}", endpoint=template) from exc
                self._retry(attempt)
                attempt += 1
                continue
            self._note_throttle(response)
            status = response.status_code
            if download and (response.is_redirect or (body is None and 200 <= status < 300)):
                return response, body
            if body is None:
                raise CanvasPermanentError(
                    f"response over {limit} bytes on {template}", status=status, endpoint=template
                )
            if 200 <= status < 300:
                return response, body
            if _is_rate_limited(status, body):
                retry_after = _retry_after_seconds(response.headers.get("Retry-After"))
                if attempt >= max_retries or (retry_after or 0) > settings.CANVAS_RETRY_AFTER_MAX_SECONDS:
                    raise CanvasRateLimitedError(
                        f"Canvas rate limit on {template}", retry_after=retry_after, status=status, endpoint=template
                    )
                self._retry(attempt, retry_after)
                attempt += 1
                continue
            if status >= 500:
                if attempt >= max_retries:
                    raise CanvasUnavailableError(
                        f"Canvas error {status} on {template}", status=status, endpoint=template
                    )
                self._retry(attempt)
                attempt += 1
                continue
            message = _error_message(body)
            if status == 401 and "insufficient scopes" in message.lower():  # never refreshed, never retried
                raise CanvasScopeError(
                    f"Insufficient scopes on access token for {template}: enable url:{template.replace(' ', '|', 1)} "
                    "on the developer key, then authorize again.",
                    status=status,
                    endpoint=template,
                )
            lowered = message.lower()
            expired = "invalid access token" in lowered or (
                "www-authenticate" in response.headers and "not authorized" not in lowered
            )
            if status == 401 and expired:
                if refreshed:
                    raise CanvasReauthRequired(
                        "Canvas rejected a freshly refreshed token", status=401, endpoint=template
                    )
                self._tokens.refresh()
                self.stats.refreshes += 1
                refreshed = True
                continue
            if status in (401, 403):
                raise CanvasForbiddenError(f"Canvas refused {template} ({status})", status=status, endpoint=template)
            if status == 404:
                raise CanvasNotFoundError(f"not found: {template}", status=status, endpoint=template)
            if 300 <= status < 400:
                raise CanvasPermanentError(f"unexpected redirect on {template}", status=status, endpoint=template)
            raise CanvasPermanentError(f"Canvas error {status} on {template}", status=status, endpoint=template)

    def _retry(self, attempt: int, retry_after: float | None = None) -> None:
        self.stats.retries += 1
        self._wait(retry_after if retry_after is not None else self._backoff(attempt))

    @staticmethod
    def _json(body: bytes | None, template: str) -> Any:
        try:
            return json.loads(body)
        except ValueError as exc:
            # A 200 with an HTML maintenance page: transient, never an empty list.
            raise CanvasUnavailableError(f"Canvas sent non-JSON on {template}", endpoint=template) from exc

    def _next_link(self, response: httpx.Response) -> str | None:
        link = response.links.get("next")
        if not link or not link.get("url"):
            return None
        url = link["url"]
        if _origin(url) != self._origin:
            raise CanvasIncompleteListing("Canvas sent a next link to another host; the listing is incomplete")
        return url

    def get_paginated(self, path: str, params=None) -> list[dict[str, Any]]:
        """Every page of a listing (``per_page=100``, Link ``next``), or CanvasIncompleteListing."""
        params = [*(params.items() if isinstance(params, dict) else (params or [])), ("per_page", PER_PAGE)]
        url: str | None = self._url(path, params)
        template = self._check("GET", url)
        seen: set[str] = set()
        items: list[dict[str, Any]] = []
        while url:
            if url in seen:
                raise CanvasIncompleteListing(f"pagination loop on {template}", endpoint=template)
            if len(seen) >= settings.CANVAS_MAX_PAGES:
                raise CanvasIncompleteListing(
                    f"more than {settings.CANVAS_MAX_PAGES} pages on {template}", endpoint=template
                )
            seen.add(url)
            self._check("GET", url)
            response, body = self._send(url, template)
            page = self._json(body, template)
            if not isinstance(page, list):
                raise CanvasUnavailableError(f"expected a list from {template}", endpoint=template)
            items.extend(page)
            url = self._next_link(response)
        return items

    # endpoints --------------------------------------------------------------------------------
    def get_self(self) -> CanvasUser:
        """GET /api/v1/users/self (Users API: Show user details)."""
        return self.request("GET", "/api/v1/users/self")

    def list_courses(self) -> list[dict[str, Any]]:
        """GET /api/v1/courses (Courses API: List your courses), teacher/designer/TA enrolments."""
        courses: dict[Any, dict] = {}
        for role in ("teacher", "designer", "ta"):
            for course in self.get_paginated("/api/v1/courses", {"enrollment_type": role}):
                courses.setdefault(course.get("id"), course)
        return list(courses.values())

    def get_course(self, course_id: str, *, include_syllabus: bool = True) -> dict[str, Any]:
        """GET /api/v1/courses/:id?include[]=syllabus_body (Courses API: Get a single course).

        Scoped tokens honour include[] only with "Allow Include Parameters" on the key.
        """
        params = [("include[]", "syllabus_body")] if include_syllabus else None
        return self.request("GET", f"/api/v1/courses/{_seg(course_id)}", params)

    def list_pages(self, course_id: str) -> list[dict[str, Any]]:
        """GET /api/v1/courses/:course_id/pages (Pages API: List pages; no body in the list)."""
        return self.get_paginated(f"/api/v1/courses/{_seg(course_id)}/pages", {"sort": "title"})

    def get_page(self, course_id: str, page_id: int | str) -> dict[str, Any]:
        """GET /api/v1/courses/:course_id/pages/page_id::id (Pages API: Show page; id forced)."""
        return self.request("GET", f"/api/v1/courses/{_seg(course_id)}/pages/page_id:{_seg(page_id)}")

    def list_assignments(self, course_id: str) -> list[dict[str, Any]]:
        """GET /api/v1/courses/:course_id/assignments (Assignments API). No submissions are requested."""
        return self.get_paginated(f"/api/v1/courses/{_seg(course_id)}/assignments", {"order_by": "position"})

    def list_discussion_topics(self, course_id: str) -> list[dict[str, Any]]:
        """GET /api/v1/courses/:course_id/discussion_topics (Discussion Topics API: the prompts only)."""
        return self.get_paginated(f"/api/v1/courses/{_seg(course_id)}/discussion_topics")

    def list_quizzes(self, course_id: str) -> list[dict[str, Any]]:
        """GET /api/v1/courses/:course_id/quizzes (Quizzes API: List quizzes in a course)."""
        return self.get_paginated(f"/api/v1/courses/{_seg(course_id)}/quizzes")

    def list_announcements(self, course_id: str, *, start_date: str, end_date: str) -> list[dict[str, Any]]:
        """GET /api/v1/announcements?context_codes[]=course_:id (Announcements API).

        Canvas's default window is 14 days back and 28 forward: pass both dates for history.
        """
        params = [("context_codes[]", f"course_{course_id}"), ("start_date", start_date), ("end_date", end_date)]
        return self.get_paginated("/api/v1/announcements", params)

    def list_modules(self, course_id: str) -> list[dict[str, Any]]:
        """GET /api/v1/courses/:course_id/modules (Modules API: List modules)."""
        return self.get_paginated(f"/api/v1/courses/{_seg(course_id)}/modules")

    def list_module_items(self, course_id: str, module_id: int | str) -> list[dict[str, Any]]:
        """GET /api/v1/courses/:course_id/modules/:module_id/items (Modules API: List module items)."""
        return self.get_paginated(f"/api/v1/courses/{_seg(course_id)}/modules/{_seg(module_id)}/items")

    def list_files(self, course_id: str) -> list[dict[str, Any]]:
        """GET /api/v1/courses/:course_id/files (Files API: List files; metadata only)."""
        return self.get_paginated(f"/api/v1/courses/{_seg(course_id)}/files")

    def download_file(self, url: str, *, max_bytes: int) -> bytes | None:
        """The content behind a file's ``url`` (``/files/:id/download?verifier=...``), or None when
        it is larger than ``max_bytes``. Redirects to Canvas's file store on another host are
        followed without credentials (https only)."""
        if _origin(url) != self._origin:
            raise CanvasRequestRefused("refused: file link on another origin")
        template = _download_template(urlsplit(url).path)
        if template is None:
            raise CanvasRequestRefused("refused: not a Canvas file download link")
        response, body = self._send(url, template, limit=max_bytes, download=True)
        for _ in range(MAX_REDIRECTS):
            if not response.is_redirect:
                return body
            location = urljoin(str(response.url), response.headers.get("location", ""))
            if _origin(location) == self._origin:
                hop_template = _download_template(urlsplit(location).path)
                if hop_template is None:
                    raise CanvasRequestRefused("refused: redirect to a non-download Canvas path")
                response, body = self._send(location, hop_template, limit=max_bytes, download=True)
            else:
                response, body = self._fetch_offhost(location, template, max_bytes)
        raise CanvasPermanentError("too many redirects on a file download", endpoint=template)

    def _fetch_offhost(self, url: str, template: str, max_bytes: int) -> tuple[httpx.Response, bytes | None]:
        parts = urlsplit(url)
        loopback = parts.hostname in settings.LOOPBACK_HOSTS and settings.CANVAS_ALLOW_LOOPBACK_HTTP
        if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
            raise CanvasRequestRefused("refused: file store redirect is not https")
        public_addresses(parts.hostname or "", parts.port)  # each hop, before it is counted or sent
        attempt = 0
        while True:
            self._count(template)
            try:
                with self._files_http.stream("GET", url) as response:
                    body = self._read(response, max_bytes)
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                if attempt >= settings.CANVAS_MAX_RETRIES:
                    raise CanvasTimeoutError("file store unreachable", endpoint=template) from exc
                self._retry(attempt)
                attempt += 1
                continue
            if response.status_code >= 500 and attempt < settings.CANVAS_MAX_RETRIES:
                self._retry(attempt)
                attempt += 1
                continue
            if response.is_redirect:
                return response, b""
            if response.status_code != 200:
                raise CanvasUnavailableError(
                    f"file store error {response.status_code}", status=response.status_code, endpoint=template
                )
            return response, body


def _seg(value: int | str) -> str:
    """A path segment from an id (no slashes, no traversal)."""
    text = str(value)
    if not text or "/" in text or text in (".", "..") or "?" in text or "#" in text:
        raise CanvasRequestRefused(f"refused: bad path segment {text!r}")
    return text


# --- OAuth 2.0 token endpoint (the only non-GET calls) ----------------------------------------
@dataclass(frozen=True)
class TokenGrant:
    access_token: str
    refresh_token: str  # empty on refresh: Canvas sends none, keep the old one
    expires_in: int | None
    user_id: str
    user_name: str


def oauth_authorize_url(
    *, base_url: str, client_id: str, redirect_uri: str, state: str, scopes: list[str], code_challenge: str = ""
) -> str:
    """The ``GET /login/oauth2/auth`` URL the admin's browser is sent to (no request made here).

    Scopes go in one space-separated ``scope`` parameter (Canvas keeps only the last of repeats).
    """
    params = {
        "client_id": client_id,
        "response_type": "code",
        "redirect_uri": redirect_uri,
        "state": state,
        "scope": " ".join(scopes),
    }
    if code_challenge:
        params.update(code_challenge=code_challenge, code_challenge_method="S256")
    return f"{normalize_instance_url(base_url)}{AUTHORIZE_PATH}?{urlencode(params)}"


def _oauth_guard(request: httpx.Request) -> None:
    if request.url.path != TOKEN_PATH or request.method not in ("POST", "DELETE") or request.url.query:
        raise CanvasRequestRefused("refused: the OAuth client only talks to /login/oauth2/token")


def _oauth_call(
    method: str, *, base_url: str, workspace_id: int | None, data=None, token: str = "", transport=None
) -> httpx.Response:
    """One call to the token endpoint; credentials in the form body or header, never the URL."""
    if method not in ("POST", "DELETE"):
        raise CanvasRequestRefused("refused: the token endpoint takes POST or DELETE")
    url = f"{normalize_instance_url(base_url)}{TOKEN_PATH}"
    headers = {"User-Agent": user_agent(), "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if workspace_id is not None:
        request_counts_add(workspace_id=workspace_id, counts={f"{method} {TOKEN_PATH}": 1})
    try:
        with httpx.Client(
            timeout=_timeout(),
            transport=transport or _public_transport(),
            follow_redirects=False,
            event_hooks={"request": [_oauth_guard, _guard_public]},
        ) as http:
            return http.request(method, url, data=data, headers=headers)
    except httpx.TimeoutException as exc:
        raise CanvasTimeoutError("Canvas token endpoint timed out", endpoint=f"{method} {TOKEN_PATH}") from exc
    except httpx.TransportError as exc:
        raise CanvasUnreachable("Canvas token endpoint unreachable", endpoint=f"{method} {TOKEN_PATH}") from exc


def _scrub(text: str, hide: tuple[str, ...]) -> str:
    """``text`` from Canvas with every credential we sent replaced (a hostile server may echo them)."""
    for value in hide:
        if value:
            text = text.replace(value, "[redacted]")
    return text


def _oauth_grant(response: httpx.Response, *, hide: tuple[str, ...] = ()) -> TokenGrant:
    endpoint = f"POST {TOKEN_PATH}"
    if response.status_code >= 500:
        raise CanvasUnavailableError(f"Canvas token endpoint error {response.status_code}", endpoint=endpoint)
    try:
        payload = response.json()
    except ValueError as exc:
        raise CanvasUnavailableError("Canvas token endpoint sent non-JSON", endpoint=endpoint) from exc
    if response.status_code != 200 or not isinstance(payload, dict) or not payload.get("access_token"):
        error = str(payload.get("error", "")) if isinstance(payload, dict) else ""
        error = error if re.fullmatch(r"[a-z_]{1,64}", _scrub(error, hide)) else ""  # an OAuth error code only
        description = str(payload.get("error_description", "")) if isinstance(payload, dict) else ""
        description = _scrub(description, hide)[:200]
        kwargs = {"error": error, "status": response.status_code, "endpoint": endpoint}
        if error == "invalid_client" or response.status_code == 401:
            raise CanvasInvalidClient(f"Canvas rejected the client ID or secret ({description or error})", **kwargs)
        if error in ("invalid_grant", "invalid_request"):
            raise CanvasInvalidGrant(f"Canvas refused the grant ({description or error})", **kwargs)
        raise CanvasOAuthError(f"Canvas token endpoint said {error or response.status_code}", **kwargs)
    user = payload.get("user") or {}
    expires_in = payload.get("expires_in")
    return TokenGrant(
        access_token=str(payload["access_token"]),
        refresh_token=str(payload.get("refresh_token") or ""),
        expires_in=int(expires_in) if isinstance(expires_in, int | float) else None,
        user_id=str(user.get("id", "")),
        user_name=str(user.get("name", ""))[:255],
    )


def oauth_exchange_code(
    *,
    base_url: str,
    client_id: str,
    client_secret: str,
    redirect_uri: str,
    code: str,
    code_verifier: str = "",
    workspace_id: int | None = None,
    transport=None,
) -> TokenGrant:
    """``POST /login/oauth2/token`` grant_type=authorization_code (OAuth2 endpoints page)."""
    data = {
        "grant_type": "authorization_code",
        "client_id": client_id,
        "client_secret": client_secret,
        "redirect_uri": redirect_uri,
        "code": code,
        "replace_tokens": "1",
    }
    if code_verifier:
        data["code_verifier"] = code_verifier
    response = _oauth_call("POST", base_url=base_url, workspace_id=workspace_id, data=data, transport=transport)
    return _oauth_grant(response, hide=(client_secret, code, code_verifier))


def oauth_refresh(
    *,
    base_url: str,
    client_id: str,
    client_secret: str,
    refresh_token: str,
    workspace_id: int | None = None,
    transport=None,
) -> TokenGrant:
    """``POST /login/oauth2/token`` grant_type=refresh_token. The answer has no refresh_token."""
    data = {
        "grant_type": "refresh_token",
        "client_id": client_id,
        "client_secret": client_secret,
        "refresh_token": refresh_token,
    }
    attempt = 0
    while True:
        try:
            response = _oauth_call("POST", base_url=base_url, workspace_id=workspace_id, data=data, transport=transport)
            return _oauth_grant(response, hide=(client_secret, refresh_token))
        except CanvasRetryableError:
            if attempt >= min(2, settings.CANVAS_MAX_RETRIES):
                raise
            _pause(settings.CANVAS_BACKOFF_BASE_SECONDS * (2**attempt) * random.uniform(0.5, 1.0))
            attempt += 1


def oauth_revoke(*, base_url: str, access_token: str, workspace_id: int | None = None, transport=None) -> None:
    """``DELETE /login/oauth2/token`` (OAuth2 endpoints: Logout). Raises when Canvas did not revoke."""
    response = _oauth_call(
        "DELETE", base_url=base_url, workspace_id=workspace_id, token=access_token, transport=transport
    )
    if response.status_code == 401:
        raise CanvasReauthRequired("Canvas: the token was already invalid", status=401, endpoint=f"DELETE {TOKEN_PATH}")
    if response.status_code >= 500:
        raise CanvasUnavailableError(f"Canvas error {response.status_code} on revoke", status=response.status_code)
    if response.status_code >= 400:
        raise CanvasOAuthError(f"Canvas refused the revocation ({response.status_code})", status=response.status_code)
