from django.contrib import admin
from django.urls import include, path

from integrations.lti import views as lti_views
from nectir import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path(".well-known/jwks.json", lti_views.tool_jwks, name="tool-jwks"),
    path("lti/", include("integrations.lti.urls")),
    path("canvas/", include("integrations.canvas.urls")),
    path("privacy/", include("privacy.urls")),
    path("data-access/", include("privacy.public_urls")),
    path("", include("workspaces.urls")),
    path("", include("assistant.urls")),
]
