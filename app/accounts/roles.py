"""Role groups and the Django permissions each carries in the admin back-office.

The API enforces roles itself (app/auth.py and the domain rules); these permissions make the
admin agree with it. Created after every migrate, so a fresh database has them.
"""

from __future__ import annotations

ROLE_PERMISSIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "viewer": {"*": ("view",)},
    "analyst": {
        "*": ("view",),
        "delimitation.district": ("add", "change"),
        "delimitation.boundaryversion": ("add",),
        "delimitation.proposalrun": ("add",),
        "layers.mininghotspot": ("add", "change", "delete"),
    },
    "mesa_secretary": {
        "*": ("view",),
        "plan.organisation": ("add", "change"),
        "plan.worktable": ("add", "change"),
        "plan.delegate": ("add", "change", "delete"),
        "plan.supporter": ("add", "change", "delete"),
        "plan.session": ("add", "change", "delete"),
        "plan.strategicplan": ("add", "change"),
        "plan.action": ("add", "change", "delete"),
        "plan.indicator": ("add", "change", "delete"),
        "plan.followup": ("add", "change"),
    },
    "focal_point": {
        "plan.action": ("view",),
        "plan.indicator": ("view",),
        "plan.followup": ("view", "add", "change"),
    },
    "coordinator": {
        "*": ("view",),
        "delimitation.*": ("add", "change"),
        "plan.*": ("add", "change", "delete"),
    },
    "admin": {"*": ("view", "add", "change", "delete")},
}
OUR_APPS = ("layers", "hydrology", "delimitation", "plan")


def ensure_role_groups(**_: object) -> None:
    """Create the role groups with their permissions (idempotent)."""
    from django.contrib.auth.models import Group, Permission

    for role, grants in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        wanted = set()
        for target, actions in grants.items():
            app_label, _, model = target.partition(".")
            permissions = Permission.objects.filter(
                content_type__app_label__in=OUR_APPS if app_label == "*" else [app_label]
            )
            if model and model != "*":
                permissions = permissions.filter(content_type__model=model)
            wanted.update(p.pk for p in permissions if p.codename.split("_", 1)[0] in actions)
        group.permissions.set(wanted)
