app_name = "canvas"

urlpatterns: list = []
