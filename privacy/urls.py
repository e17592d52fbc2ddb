from django.urls import path

from privacy import views

app_name = "privacy"

urlpatterns = [
    path("workspaces/<uuid:workspace_uuid>/", views.tools, name="tools"),
    path("workspaces/<uuid:workspace_uuid>/data-access/", views.data_access, name="data-access"),
    path("workspaces/<uuid:workspace_uuid>/data-access.json", views.data_access_json, name="data-access-json"),
    path("workspaces/<uuid:workspace_uuid>/share-link/", views.share_link, name="share-link"),
    path("workspaces/<uuid:workspace_uuid>/people/export/", views.person_export, name="person-export"),
    path("workspaces/<uuid:workspace_uuid>/people/erase/", views.person_erase, name="person-erase"),
    path("workspaces/<uuid:workspace_uuid>/delete-data/", views.workspace_delete, name="workspace-delete"),
    path("workspaces/<uuid:workspace_uuid>/audit.csv", views.audit_csv, name="audit-csv"),
    path("shared/<str:token>/", views.shared_data_access, name="shared-data-access"),
    path("shared/<str:token>/data-access.json", views.shared_data_access_json, name="shared-data-access-json"),
    path("me/<uuid:workspace_uuid>/", views.my_data, name="my-data"),
    path("me/<uuid:workspace_uuid>/export.json", views.my_data_json, name="my-data-json"),
]
