from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _install_revision_triggers(sender, using="default", **kwargs) -> None:
    """After every migrate, make sure each registry table bumps its layers' revisions."""
    from django.db import connections

    from layers.revisions import install_triggers

    with connections[using].cursor() as cursor:
        install_triggers(cursor)


class LayersConfig(AppConfig):
    name = "layers"
    verbose_name = "Capas de referencia"

    def ready(self) -> None:
        # Once per migrate run (sender filter), after all apps' tables exist.
        post_migrate.connect(
            _install_revision_triggers, sender=self, dispatch_uid="layers_revision_triggers"
        )
