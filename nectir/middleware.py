"""Response headers that make the tool safe inside Canvas's iframe."""

from http.cookies import Morsel

from django.http import HttpRequest, HttpResponse


class _PartitionedMorsel(Morsel):
    """A cookie with the CHIPS ``Partitioned`` attribute (Python 3.11's Morsel lacks it)."""

    def OutputString(self, attrs=None):  # noqa: N802 - overrides the stdlib name
        return super().OutputString(attrs) + "; Partitioned"


class PartitionedCookieMiddleware:
    """Marks every ``SameSite=None; Secure`` cookie as ``Partitioned``.

    Browsers that block third-party cookies still accept partitioned ones inside the
    Canvas iframe (they are keyed to the Canvas site), so the login -> launch hop works.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        for morsel in response.cookies.values():
            if morsel["secure"] and str(morsel["samesite"]).lower() == "none":
                morsel.__class__ = _PartitionedMorsel
        return response


class FramingPolicyMiddleware:
    """Sets who may frame a response.

    A view that is meant to be shown inside Canvas sets ``response.frame_origins`` to the
    workspace's Canvas origins (never ``*``); everything else may not be framed at all.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        origins = getattr(response, "frame_origins", None)
        if origins:
            sources = " ".join(["'self'", *sorted(set(origins))])
            response.headers["Content-Security-Policy"] = f"frame-ancestors {sources}"
            response.headers.pop("X-Frame-Options", None)
        else:
            response.headers.setdefault("Content-Security-Policy", "frame-ancestors 'none'")
            response.headers.setdefault("X-Frame-Options", "DENY")
        return response
