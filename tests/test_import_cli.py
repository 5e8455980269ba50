"""The `distritos` command: import with a JSON summary, users with roles, API tokens."""

from __future__ import annotations

import json

import pytest

from tests.import_files import counts, forget_imports_since, last_batch, tenure, write_geojson


@pytest.fixture
def clean(db):
    start = last_batch(db)
    yield
    forget_imports_since(db, start)
    db.execute(
        "DELETE FROM accounts_apitoken WHERE user_id IN "
        "(SELECT id FROM auth_user WHERE username LIKE 'cli-%%')"
    )
    db.execute(
        "DELETE FROM auth_user_groups WHERE user_id IN "
        "(SELECT id FROM auth_user WHERE username LIKE 'cli-%%')"
    )
    db.execute("DELETE FROM auth_user WHERE username LIKE 'cli-%%'")


def test_import_prints_the_summary_as_json(db, tmp_path, capsys, clean):
    from app.cli import main

    path = write_geojson(tmp_path / "t.geojson", [tenure("CLI-1", -75.6, 6.2)])
    assert main(["import", "mining_tenures", str(path), "--json", "--user", "cli-ana"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["read"], summary["inserted"], summary["layer"]) == (1, 1, "mining_tenures")
    user = db.execute(
        'SELECT "user" FROM layers_importbatch WHERE id = %s', [summary["batch_id"]]
    ).fetchone()[0]
    assert user == "cli-ana"


def test_import_prints_a_spanish_summary(db, tmp_path, capsys, clean):
    from app.cli import main

    path = write_geojson(tmp_path / "t.geojson", [tenure("CLI-2", -75.6, 6.2)])
    assert main(["import", "mining_tenures", str(path), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "Capa mining_tenures ← t.geojson" in out
    assert "leídas 1, se importarían: 1 nuevas, 0 actualizadas" in out
    assert "precompute-figures" not in out  # a dry run changes no figures


def test_import_of_a_figure_layer_says_the_proposal_figures_are_stale(db, tmp_path, capsys, clean):
    from app.cli import main

    path = write_geojson(tmp_path / "t.geojson", [tenure("CLI-3", -75.6, 6.2)])
    assert main(["import", "mining_tenures", str(path)]) == 0
    out = capsys.readouterr().out
    assert "leídas 1, importadas: 1 nuevas, 0 actualizadas" in out
    assert "quedaron desactualizadas: `distritos precompute-figures`" in out


def test_import_error_exits_1_with_the_message_and_writes_nothing(db, tmp_path, capsys):
    from app.cli import main

    before = counts(db)
    assert main(["import", "mining_tenures", str(tmp_path / "no.geojson")]) == 1
    assert "Error: No existe el archivo" in capsys.readouterr().err
    assert counts(db) == before


def test_map_and_set_flags(db, tmp_path, capsys, clean):
    from app.cli import main

    features = [tenure("CLI-3", -75.6, 6.2)]
    features[0]["properties"] = {"COD": "CLI-3"}
    path = write_geojson(tmp_path / "m.geojson", features)
    args = ["import", "mining_tenures", str(path), "--map", "expediente=COD"]
    assert main([*args, "--set", "tenure_type=solicitud", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["inserted"] == 1
    assert main(["import", "mining_tenures", str(path), "--map", "expediente"]) == 1
    assert "--map espera campo=valor" in capsys.readouterr().err


def test_user_add_with_role_and_token_create(db, capsys, clean):
    from app.accounts.models import hash_token
    from app.cli import main

    assert main(["user", "add", "cli-ana", "--role", "analyst", "--password", "s3creta!"]) == 0
    assert "creado con el rol analyst" in capsys.readouterr().out
    assert main(["token", "create", "cli-ana", "--label", "qgis"]) == 0
    raw = capsys.readouterr().out.strip()
    assert raw.startswith("dm_")
    row = db.execute(
        "SELECT u.is_staff, u.is_superuser, g.name, t.name FROM auth_user u "
        "JOIN auth_user_groups ug ON ug.user_id = u.id JOIN auth_group g ON g.id = ug.group_id "
        "JOIN accounts_apitoken t ON t.user_id = u.id AND t.key_hash = %s "
        "WHERE u.username = 'cli-ana'",
        [hash_token(raw)],
    ).fetchone()
    assert row == (False, False, "analyst", "qgis")
    from django.contrib.auth import authenticate

    assert authenticate(username="cli-ana", password="s3creta!") is not None


def test_admin_user_is_staff_and_superuser_without_password(db, capsys, clean):
    from app.cli import main

    assert main(["user", "add", "cli-admin", "--role", "admin"]) == 0
    assert "sin contraseña" in capsys.readouterr().out
    row = db.execute(
        "SELECT is_staff, is_superuser, password LIKE '!%%' FROM auth_user "
        "WHERE username = 'cli-admin'"
    ).fetchone()
    assert row == (True, True, True)
    assert main(["user", "add", "cli-admin", "--role", "viewer"]) == 1
    assert "ya existe" in capsys.readouterr().err


def test_unknown_role_and_unknown_user(capsys, clean):
    from app.cli import main

    with pytest.raises(SystemExit):
        main(["user", "add", "cli-x", "--role", "jefe"])
    assert "jefe" in capsys.readouterr().err
    assert main(["token", "create", "cli-nadie"]) == 1
    assert "No existe el usuario 'cli-nadie'" in capsys.readouterr().err
