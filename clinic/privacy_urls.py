from django.urls import path

from clinic import privacy

app_name = "privacy"

urlpatterns = [
    path("", privacy.my_data, name="my_data"),
    path("export/", privacy.export, name="export"),
    path("close/", privacy.close, name="close"),
]
