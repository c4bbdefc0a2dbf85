from django.apps import AppConfig


class ApiConfig(AppConfig):
    """The JSON API (/api/v1/): an adapter over the other apps' services and selectors."""

    name = "api"
    verbose_name = "API"
