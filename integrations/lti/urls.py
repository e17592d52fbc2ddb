from django.urls import path

from integrations.lti import test_platform, views

app_name = "lti"

urlpatterns = [
    path("login/", views.oidc_login, name="login"),
    path("launch/", views.launch, name="launch"),
    path("registrations/<uuid:registration_uuid>/canvas-config.json", views.developer_key_config, name="canvas-config"),
    path("test-platform/", test_platform.home, name="test-platform"),
    path("test-platform/start/", test_platform.start, name="test-platform-start"),
    path("test-platform/authorize/", test_platform.authorize, name="test-platform-authorize"),
    path("test-platform/jwks.json", test_platform.jwks, name="test-platform-jwks"),
]
