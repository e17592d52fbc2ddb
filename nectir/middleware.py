"""Response headers that make the tool safe inside Canvas's iframe."""

from http.cookies import Morsel, SimpleCookie

from django.http import HttpRequest, HttpResponse


class _PartitionedMorsel(Morsel):
    """A cookie that gets the CHIPS ``Partitioned`` attribute (Python 3.11's Morsel lacks it)
    when it is ``SameSite=None; Secure``, decided when the header is written."""

    def OutputString(self, attrs=None):  # noqa: N802 - overrides the stdlib name
        output = super().OutputString(attrs)
        if self["secure"] and str(self["samesite"]).lower() == "none":
            output += "; Partitioned"
        return output


class _PartitionedCookies(SimpleCookie):
    """Response cookies whose morsels are all _PartitionedMorsel, including those set later."""

    def __setitem__(self, key, value):
        super().__setitem__(key, value)
        dict.__getitem__(self, key).__class__ = _PartitionedMorsel


class PartitionedCookieMiddleware:
    """Marks every ``SameSite=None; Secure`` cookie as ``Partitioned``.

    Browsers that block third-party cookies still accept partitioned ones inside the
    Canvas iframe (they are keyed to the Canvas site), so the login -> launch hop works.
    Cookies that outer middleware sets afterwards (session, CSRF) are covered too.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.cookies.__class__ = _PartitionedCookies
        for morsel in response.cookies.values():
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
