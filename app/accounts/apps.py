from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "app.accounts"
    label = "accounts"
    verbose_name = "Cuentas y tokens"

    def ready(self) -> None:
        from app.accounts.roles import ensure_role_groups

        # After the last of our apps, when every permission exists.
        post_migrate.connect(ensure_role_groups, sender=apps.get_app_config("plan"))
