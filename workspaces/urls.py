from django.urls import path

from workspaces import views

app_name = "workspaces"

urlpatterns = [
    path("groups/<uuid:group_uuid>/", views.group_detail, name="group-detail"),
]
