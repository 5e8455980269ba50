"""Two analysts editing one district at once, from REST and from QGIS-style WFS-T, against
a real server: the stale write gets 412 and nothing is silently overwritten."""

from __future__ import annotations

import threading

import httpx
import psycopg
import pytest
from pyproj import Transformer

from tests.cleanup import purge_districts_like

DM = "https://distritosmineros.minenergia.gov.co/dm"
TO_LONLAT = Transformer.from_crs(9377, 4326, always_xy=True)
X, Y = 4_720_000, 2_300_000


def lonlat_square(x: float, y: float, size: float) -> dict:
    ring = [
        TO_LONLAT.transform(px, py)
        for px, py in [(x, y), (x + size, y), (x + size, y + size), (x, y + size), (x, y)]
    ]
    return {"type": "Polygon", "coordinates": [[list(p) for p in ring]]}


@pytest.fixture(scope="module")
def analysts(database_url):
    from django.contrib.auth.models import Group, User

    from app.accounts.models import ApiToken

    headers = []
    for name in ("concurrente-a", "concurrente-b"):
        user, _ = User.objects.get_or_create(username=name)
        user.groups.add(Group.objects.get_or_create(name="analyst")[0])
        headers.append({"Authorization": f"Bearer {ApiToken.issue(user)[1]}"})
    yield headers
    purge_districts_like(database_url, "concurrente%")


def _versions(url: str, code: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT count(*) FROM delimitation_boundaryversion v JOIN delimitation_district d "
            "ON d.id = v.district_id WHERE d.code = %s",
            [code],
        ).fetchone()[0]


def test_simultaneous_rest_writes_one_wins_one_gets_412(live_server, analysts, database_url):
    a, b = analysts
    with httpx.Client(base_url=live_server, timeout=60) as http:
        created = http.post(
            "/api/v1/districts",
            headers=a,
            json={
                "code": "concurrente",
                "name": "Concurrente",
                "type": "vida_y_paz",
                "geometry": lonlat_square(X, Y, 5000),
            },
        )
        assert created.status_code == 201, created.text
        etag = created.headers["etag"]

    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def write(headers: dict, size: float) -> None:
        with httpx.Client(base_url=live_server, timeout=60) as http:
            barrier.wait()
            response = http.put(
                "/api/v1/districts/concurrente/boundary",
                headers={**headers, "If-Match": etag},
                json={"geometry": lonlat_square(X, Y, size), "comment": "edición"},
            )
            statuses.append(response.status_code)

    threads = [
        threading.Thread(target=write, args=(a, 6000)),
        threading.Thread(target=write, args=(b, 7000)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 412]
    assert _versions(database_url, "concurrente") == 2


def test_rest_write_after_a_wfs_edit_is_stale(live_server, analysts, database_url):
    a, b = analysts
    with httpx.Client(base_url=live_server, timeout=60) as http:
        read = http.get("/api/v1/districts/concurrente", headers=a)
        etag = read.headers["etag"]
        before = _versions(database_url, "concurrente")
        ring = " ".join(
            f"{px},{py}"
            for px, py in [(X, Y), (X + 8000, Y), (X + 8000, Y + 8000), (X, Y + 8000), (X, Y)]
        )
        # What QGIS sends: a WFS 1.0.0 Update with gml:coordinates, POSTed to /wfs.
        transaction = (
            '<wfs:Transaction xmlns:wfs="http://www.opengis.net/wfs" '
            'xmlns:ogc="http://www.opengis.net/ogc" xmlns:gml="http://www.opengis.net/gml" '
            f'xmlns:dm="{DM}" service="WFS" version="1.0.0">'
            '<wfs:Update typeName="dm:districts"><wfs:Property><wfs:Name>geom</wfs:Name>'
            '<wfs:Value><gml:MultiPolygon srsName="EPSG:9377"><gml:polygonMember><gml:Polygon>'
            "<gml:outerBoundaryIs><gml:LinearRing>"
            f"<gml:coordinates>{ring}</gml:coordinates></gml:LinearRing></gml:outerBoundaryIs>"
            "</gml:Polygon></gml:polygonMember></gml:MultiPolygon></wfs:Value></wfs:Property>"
            '<ogc:Filter><ogc:FeatureId fid="districts.concurrente"/></ogc:Filter>'
            "</wfs:Update></wfs:Transaction>"
        )
        wfs = http.post("/wfs", content=transaction, headers={**b, "Content-Type": "text/xml"})
        assert wfs.status_code == 200, wfs.text
        assert _versions(database_url, "concurrente") == before + 1
        stale = http.put(
            "/api/v1/districts/concurrente/boundary",
            headers={**a, "If-Match": etag},
            json={"geometry": lonlat_square(X, Y, 9000)},
        )
        assert stale.status_code == 412
        assert "cambió desde que lo leyó" in stale.json()["detail"]
        assert _versions(database_url, "concurrente") == before + 1
        with psycopg.connect(database_url) as conn:
            area, source = conn.execute(
                "SELECT area_ha, source FROM delimitation_district_current "
                "WHERE code = 'concurrente'"
            ).fetchone()
        assert area == pytest.approx(6400, rel=1e-6) and source == "qgis/wfs"
