from django.urls import path

from integrations.canvas import views

app_name = "canvas"

urlpatterns = [
    path("oauth/callback", views.oauth_callback, name="oauth-callback"),
]
