from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class DoctorsConfig(AppConfig):
    name = "doctors"
    verbose_name = gettext_lazy("Clinic structure")
