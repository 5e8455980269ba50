"""Remove test districts with everything that points at them (plans, Mesa, immutable
versions and acts, which need the purge switch), so tests sharing the session database do
not see each other's districts."""

from __future__ import annotations

import psycopg

_DISTRICTS = "SELECT id FROM delimitation_district WHERE code LIKE %(like)s"
_PLANS = f"SELECT id FROM plan_strategicplan WHERE district_id IN ({_DISTRICTS})"
_ACTIONS = f"SELECT id FROM plan_action WHERE plan_id IN ({_PLANS})"
_TABLES = f"SELECT id FROM plan_worktable WHERE district_id IN ({_DISTRICTS})"
STATEMENTS = [
    f"DELETE FROM plan_followup WHERE indicator_id IN (SELECT id FROM plan_indicator "
    f"WHERE action_id IN ({_ACTIONS}))",
    f"DELETE FROM plan_indicator WHERE action_id IN ({_ACTIONS})",
    f"DELETE FROM plan_action_supporting WHERE action_id IN ({_ACTIONS})",
    f"DELETE FROM plan_action WHERE id IN ({_ACTIONS})",
    f"DELETE FROM plan_strategicplan WHERE id IN ({_PLANS})",
    f"DELETE FROM plan_session_attendees WHERE session_id IN (SELECT id FROM plan_session "
    f"WHERE work_table_id IN ({_TABLES}))",
    f"DELETE FROM plan_session WHERE work_table_id IN ({_TABLES})",
    f"DELETE FROM plan_delegate WHERE work_table_id IN ({_TABLES})",
    f"DELETE FROM plan_supporter WHERE work_table_id IN ({_TABLES})",
    f"DELETE FROM plan_worktable WHERE id IN ({_TABLES})",
    f"DELETE FROM delimitation_administrativeact WHERE district_id IN ({_DISTRICTS})",
    f"DELETE FROM delimitation_boundaryversion WHERE district_id IN ({_DISTRICTS})",
    "DELETE FROM delimitation_district WHERE code LIKE %(like)s",
]


def purge_districts_like(database_url: str, like: str) -> None:
    """Delete every district whose code matches the LIKE pattern, and what hangs from it."""
    with psycopg.connect(database_url) as conn, conn.transaction():
        conn.execute("SET LOCAL delimitation.purge = 'on'")
        for statement in STATEMENTS:
            conn.execute(statement, {"like": like})
