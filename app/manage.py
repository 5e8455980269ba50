"""Django's management commands (migrate, createsuperuser, ...) for this project."""

import sys

from app.djangoapp import setup_django


def main() -> None:
    """Run a Django management command."""
    setup_django()
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
