from django.urls import path

from privacy import views

app_name = "privacy_public"

urlpatterns = [
    path("", views.public_overview, name="overview"),
]
