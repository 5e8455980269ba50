"""Lifecycle, acts and locking rules on a real PostGIS, each with its refusal path."""

from __future__ import annotations

import psycopg
import pytest
from shapely.geometry import shape

from tests import district_world as w

BASE = "/api/v1/districts"


@pytest.fixture(scope="module")
def conn(database_url):
    with psycopg.connect(database_url, autocommit=True) as connection:
        yield connection


@pytest.fixture(scope="module")
def world(conn):
    w.load(conn)
    yield
    w.unload(conn)


@pytest.fixture(scope="module")
def who(world):
    with w.users({"ana": "analyst", "coord": "coordinator", "viewer": "viewer"}) as headers:
        yield headers


@pytest.fixture(autouse=True)
def clean(conn, world):
    yield
    w.purge_districts(conn)


class District:
    """A test district driven over REST, remembering its ETag."""

    def __init__(self, client, who, code="tdm-ciclo", rect=(0, 0, 20, 20)):
        self.client, self.who, self.code = client, who, code
        response = client.post(
            BASE,
            json={
                "code": code,
                "name": "Ciclo",
                "type": "vida_y_paz",
                "geometry": w.polygon(*rect),
                "crs": "EPSG:9377",
            },
            headers=who["ana"],
        )
        assert response.status_code == 201, response.text
        self.etag = response.headers["etag"]

    def post(self, path: str, body: dict, as_: str = "ana", etag: str | None = None):
        headers = {**self.who[as_], "If-Match": etag or self.etag}
        response = self.client.post(f"{BASE}/{self.code}/{path}", json=body, headers=headers)
        if response.status_code < 300:
            self.etag = response.headers["etag"]
        return response

    def to(self, status: str, as_: str = "ana"):
        return self.post("transitions", {"to": status}, as_)

    def act(self, kind: str, number: str, as_: str = "coord", **extra):
        return self.post(
            "acts", {"kind": kind, "number": number, "date": "2025-03-14", **extra}, as_
        )

    def put_boundary(self, rect, as_: str = "ana"):
        headers = {**self.who[as_], "If-Match": self.etag}
        response = self.client.put(
            f"{BASE}/{self.code}/boundary",
            json={"geometry": w.polygon(*rect), "crs": "EPSG:9377"},
            headers=headers,
        )
        if response.status_code < 300:
            self.etag = response.headers["etag"]
        return response

    def get(self) -> dict:
        return self.client.get(f"{BASE}/{self.code}", headers=self.who["ana"]).json()

    def versions(self) -> list[dict]:
        url = f"{BASE}/{self.code}/versions"
        return self.client.get(url, headers=self.who["ana"]).json()["versions"]


def delimited(client, who, **kw) -> District:
    district = District(client, who, **kw)
    assert district.to("proposed").status_code == 200
    assert district.to("in_validation").status_code == 200
    response = district.act("delimitation", "Resolución 40436 T")
    assert response.status_code == 201, response.text
    return district


def test_forward_path_and_delimitation_act_freezes_version(client, who):
    district = District(client, who)
    assert district.to("proposed").json()["status"] == "proposed"
    assert district.to("in_validation").json()["status"] == "in_validation"
    response = district.act(
        "delimitation",
        "Resolución 40436 T",
        diario_oficial="52.987",
        document_url="https://www.minenergia.gov.co/resolucion-40436.pdf",
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "delimited"
    (act,) = body["acts"]
    assert act["kind"] == "delimitation"
    assert act["number"] == "Resolución 40436 T"
    assert act["issuer"] == "Ministerio de Minas y Energía"
    assert act["diario_oficial"] == "52.987"
    assert act["boundary_version"] == 1 == body["boundary"]["version"]
    assert district.to("in_execution", "coord").json()["status"] == "in_execution"


def test_delimited_only_through_an_act(client, who):
    district = District(client, who)
    district.to("proposed")
    district.to("in_validation")
    refused = district.to("delimited", "coord")
    assert refused.status_code == 409
    assert (
        "solo ocurre mediante un acto administrativo de tipo 'delimitation'"
        in (refused.json()["detail"])
    )
    assert district.get()["status"] == "in_validation"


def test_transitions_not_allowed_are_refused(client, who):
    district = District(client, who)
    skip = district.to("in_validation")
    assert skip.status_code == 409
    assert "de 'draft' a 'in_validation'" in skip.json()["detail"]
    assert "proposed, archived" in skip.json()["detail"]
    unknown = district.to("aprobado")
    assert unknown.status_code == 400 and "Estado desconocido" in unknown.json()["detail"]
    assert district.get()["status"] == "draft"


def test_roles_for_transitions_and_acts(client, who):
    district = District(client, who)
    assert district.to("proposed", "viewer").status_code == 403
    district.to("proposed")
    district.to("in_validation")
    analyst_act = district.act("delimitation", "Resolución 1 T", as_="ana")
    assert analyst_act.status_code == 403
    assert "registrar actos" in analyst_act.json()["detail"]
    assert district.get()["acts"] == []
    district.act("delimitation", "Resolución 2 T")
    assert district.to("in_execution", "ana").status_code == 403
    assert district.to("archived", "ana").status_code == 403
    assert district.to("archived", "coord").json()["status"] == "archived"


def test_delimited_boundary_is_locked_409_nothing_saved(client, who, conn):
    district = delimited(client, who)
    refused = district.put_boundary((0, 0, 10, 10))
    assert refused.status_code == 409
    assert (
        "solo cambia mediante un acto administrativo de modificación" in (refused.json()["detail"])
    )
    assert [v["number"] for v in district.versions()] == [1]
    # The WFS-T path obeys the same rule.
    from dataclasses import dataclass

    from delimitation.editing import DistrictEditor
    from geo.errors import Conflict
    from layers.registry import get_layer

    @dataclass(frozen=True)
    class Qgis:
        username: str = "tdm-qgis"
        roles: frozenset = frozenset({"coordinator"})

    box = shape(w.polygon(0, 0, 10, 10))
    with pytest.raises(Conflict, match="acto administrativo de modificación"), conn.transaction():
        DistrictEditor().update(conn, get_layer("districts"), district.code, {}, box, Qgis())
    assert [v["number"] for v in district.versions()] == [1]


def test_modification_act_adds_and_freezes_a_new_version(client, who):
    district = delimited(client, who)
    missing = district.act("modification", "Resolución 40500 T")
    assert missing.status_code == 400 and "nueva geometría" in missing.json()["detail"]
    response = district.act(
        "modification",
        "Resolución 40500 T",
        geometry=w.polygon(0, 0, 20, 10),
        crs="EPSG:9377",
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "delimited"
    assert body["boundary"]["version"] == 2
    assert body["boundary"]["area_ha"] == pytest.approx(20_000)
    assert [(a["kind"], a["boundary_version"]) for a in body["acts"]] == [
        ("delimitation", 1),
        ("modification", 2),
    ]
    diff = client.get(f"{BASE}/{district.code}/versions/1/diff/2", headers=who["ana"]).json()
    assert diff["removed_ha"] == pytest.approx(20_000) and diff["added_ha"] == pytest.approx(0)


def test_act_refusals(client, who):
    district = District(client, who)
    early = district.act("delimitation", "Resolución 3 T")
    assert early.status_code == 409 and "en validación" in early.json()["detail"]
    modification = district.act(
        "modification", "Resolución 4 T", geometry=w.polygon(0, 0, 5, 5), crs="EPSG:9377"
    )
    assert modification.status_code == 409
    assert "solo aplica a distritos delimitados" in modification.json()["detail"]
    revocation = district.act("revocation", "Resolución 5 T")
    assert revocation.status_code == 409
    bad_kind = district.act("decreto", "Decreto 1 T")
    assert bad_kind.status_code == 400 and "Tipo de acto desconocido" in bad_kind.json()["detail"]
    assert district.get()["acts"] == []
    other = delimited(client, who, code="tdm-otro", rect=(40, 0, 50, 10))
    district.to("proposed")
    district.to("in_validation")
    taken = district.act("delimitation", "Resolución 40436 T")
    assert taken.status_code == 409 and "Ya existe el acto" in taken.json()["detail"]
    assert other.get()["status"] == "delimited"


def test_validation_errors_block_delimitation(client, who):
    neighbour = District(client, who, code="tdm-vecino", rect=(10, 0, 30, 10))
    neighbour.to("proposed")
    district = District(client, who)  # [0,20]x[0,20] overlaps the neighbour by 10x10 km
    district.to("proposed")
    district.to("in_validation")
    refused = district.act("delimitation", "Resolución 6 T")
    assert refused.status_code == 409
    (finding,) = [f for f in refused.json()["findings"] if f["severity"] == "error"]
    assert finding["code"] == "overlaps_district"
    assert finding["figures"]["district"] == "tdm-vecino"
    assert finding["figures"]["overlap_ha"] == pytest.approx(10_000)
    assert district.get()["status"] == "in_validation" and district.get()["acts"] == []


def test_revocation_only_through_an_act(client, who):
    district = delimited(client, who)
    refused = district.to("revoked", "coord")
    assert refused.status_code == 409 and "'revocation'" in refused.json()["detail"]
    response = district.act("revocation", "Resolución 41000 T", summary="Revoca el distrito")
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "revoked"
    assert body["acts"][-1]["boundary_version"] == 1
    assert district.to("proposed", "coord").status_code == 409
    assert district.put_boundary((0, 0, 5, 5)).status_code == 409
    assert district.to("archived", "coord").json()["status"] == "archived"


def test_archive_from_draft_and_closed_boundary(client, who):
    district = District(client, who)
    assert district.to("archived").json()["status"] == "archived"
    refused = district.put_boundary((0, 0, 5, 5))
    assert refused.status_code == 409 and "ya no se puede modificar" in refused.json()["detail"]
    assert district.to("draft").status_code == 409


def test_if_match_on_transitions_and_acts(client, who):
    district = District(client, who)
    no_header = client.post(
        f"{BASE}/{district.code}/transitions", json={"to": "proposed"}, headers=who["ana"]
    )
    assert no_header.status_code == 428
    stale = district.post("transitions", {"to": "proposed"}, etag='"tdm-ciclo-0"')
    assert stale.status_code == 412
    assert district.get()["status"] == "draft"
    weak = district.post("transitions", {"to": "proposed"}, etag='W/"tdm-ciclo-1"')
    assert weak.status_code == 200


def test_versions_and_acts_are_immutable_in_the_database(client, who, conn):
    district = delimited(client, who)
    for statement in (
        "UPDATE delimitation_boundaryversion SET comment = 'x' WHERE district_id = %s",
        "DELETE FROM delimitation_boundaryversion WHERE district_id = %s",
        "UPDATE delimitation_administrativeact SET number = 'x' WHERE district_id = %s",
        "DELETE FROM delimitation_administrativeact WHERE district_id = %s",
    ):
        district_id = conn.execute(
            "SELECT id FROM delimitation_district WHERE code = %s", [district.code]
        ).fetchone()[0]
        with pytest.raises(psycopg.errors.RestrictViolation, match="Registro inmutable"):
            conn.execute(statement, [district_id])
    assert [v["number"] for v in district.versions()] == [1]


def test_every_write_is_audited(client, who, conn):
    last = conn.execute("SELECT coalesce(max(id), 0) FROM layers_auditentry").fetchone()[0]
    district = delimited(client, who)
    rows = conn.execute(
        "SELECT action, \"user\", before->>'status', after->>'status' FROM layers_auditentry "
        "WHERE object_type = 'district' AND object_id = %s AND id > %s ORDER BY id",
        [district.code, last],
    ).fetchall()
    assert rows == [
        ("create", "tdm-ana", None, "draft"),
        ("transition", "tdm-ana", "draft", "proposed"),
        ("transition", "tdm-ana", "proposed", "in_validation"),
        ("act", "tdm-coord", "in_validation", "delimited"),
    ]


def test_act_with_pdf_document_upload_and_download(client, who, app, tmp_path):
    import json

    district = District(client, who)
    district.to("proposed")
    district.to("in_validation")
    act = {"kind": "delimitation", "number": "Resolución 40437 T", "date": "2025-03-14"}
    not_pdf = client.post(
        f"{BASE}/{district.code}/acts",
        data={"act": json.dumps(act)},
        files={"document": ("r.pdf", b"hola", "application/pdf")},
        headers={**who["coord"], "If-Match": district.etag},
    )
    assert not_pdf.status_code == 400 and "debe ser un PDF" in not_pdf.json()["detail"]
    pdf = b"%PDF-1.4\n% resolucion de prueba\n%%EOF\n"
    response = client.post(
        f"{BASE}/{district.code}/acts",
        data={"act": json.dumps(act)},
        files={"document": ("resolucion.pdf", pdf, "application/pdf")},
        headers={**who["coord"], "If-Match": district.etag},
    )
    assert response.status_code == 201, response.text
    (stored,) = response.json()["acts"]
    assert stored["document_file"].startswith("acts/") and stored["document_file"].endswith(".pdf")
    download = client.get(
        f"{BASE}/{district.code}/acts/{stored['id']}/document", headers=who["viewer"]
    )
    assert download.status_code == 200
    assert download.content == pdf
    assert download.headers["content-type"] == "application/pdf"
    bad = client.post(
        f"{BASE}/{district.code}/acts",
        data={"act": '{"kind": "revocation"}'},
        headers={**who["coord"], "If-Match": response.headers["etag"]},
    )
    assert bad.status_code == 400 and "number" in bad.json()["detail"]


def test_concurrent_boundary_writes_second_waits_then_412(client, who, database_url):
    """Two editors with the same ETag: the row lock serialises them; the loser saves nothing."""
    import threading
    from dataclasses import dataclass

    from delimitation import districts
    from geo.errors import PreconditionFailed

    @dataclass(frozen=True)
    class Editor:
        username: str
        roles: frozenset = frozenset({"analyst"})

    district = District(client, who)
    tag = district.etag.strip('"')
    outcome: dict[str, object] = {}
    first = psycopg.connect(database_url)
    second = psycopg.connect(database_url)
    try:
        districts.set_boundary(
            first, district.code, shape(w.polygon(0, 0, 10, 20)), Editor("a"), tag
        )
        # `first` holds the row lock (transaction open); `second` must wait for it.

        def later():
            try:
                districts.set_boundary(
                    second, district.code, shape(w.polygon(0, 0, 5, 20)), Editor("b"), tag
                )
                outcome["second"] = "saved"
            except PreconditionFailed as exc:
                outcome["second"] = exc.status
                second.rollback()

        thread = threading.Thread(target=later)
        thread.start()
        thread.join(timeout=1.0)
        assert thread.is_alive(), "the second writer must block on the row lock"
        first.commit()
        thread.join(timeout=30)
        assert outcome["second"] == 412
    finally:
        first.close()
        second.close()
    assert [(v["number"], v["author"], v["area_ha"]) for v in district.versions()] == [
        (1, "tdm-ana", 40_000),
        (2, "a", 20_000),
    ]
