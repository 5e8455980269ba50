from django.apps import AppConfig


class HydrologyConfig(AppConfig):
    name = "hydrology"
    verbose_name = "Hidrología"
