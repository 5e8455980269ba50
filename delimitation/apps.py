from django.apps import AppConfig


class DelimitationConfig(AppConfig):
    name = "delimitation"
    verbose_name = "Delimitación"
