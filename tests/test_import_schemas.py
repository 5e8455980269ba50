"""Published schemas recognised without a mapping: ANM, RUNAP, ANT, hotspots, IDEAM, HydroBASINS."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import pyogrio
import pytest
import shapely

from tests.import_files import (
    counts,
    feature,
    forget_imports_since,
    last_batch,
    polygon,
    shapefile_members,
    square,
    write_geojson,
    write_zip,
)


@pytest.fixture
def clean(db):
    """Remove whatever the test imported."""
    start = last_batch(db)
    yield
    forget_imports_since(db, start)


def _epoch_ms(day: dt.date) -> int:
    # ANM dates are midnight in Bogotá (05:00 UTC) as epoch milliseconds.
    moment = dt.datetime(day.year, day.month, day.day, 5, tzinfo=dt.UTC)
    return int(moment.timestamp() * 1000)


def test_anm_annA_shapefile_with_truncated_names_and_epoch_dates(db, tmp_path, clean):
    from layers.importer import run_import

    frame = gpd.GeoDataFrame(
        {
            "CODIGO_EXP": ["ANM-001", "ANM-002", "ANM-003"],
            "TITULO_EST": ["Título vigente-en ejecución", "Solicitud vigente-en curso", None],
            "ETAPA": ["Explotación", None, "Construcción y montaje"],
            "MODALIDAD": [
                "Contrato de concesión (L 685)",
                "Propuesta de contrato de concesión",
                "Subcontrato de formalización minera",
            ],
            "MINERALES": ["ORO Y SUS CONCENTRADOS, PLATA", "CARBÓN TÉRMICO", "ORO"],
            "SOLICITANT": ["EMPRESA A S.A.S.; PERSONA B", "EMPRESA C", "ASOCIACIÓN D"],
            "CLASIFICAC": ["PEQUEÑA", "NO APLICA", "MEDIANA"],
            "AREA_HA": [120.25, 80.0, 10.5],
            "FECHA_RADI": [_epoch_ms(dt.date(2010, 5, 4)), _epoch_ms(dt.date(2023, 1, 31)), None],
        },
        geometry=[
            shapely.box(4_700_000 + i * 2000, 2_250_000, 4_701_000 + i * 2000, 2_251_000)
            for i in range(3)
        ],
        crs=9377,
    )
    path = write_zip(tmp_path / "anm.zip", shapefile_members(frame, tmp_path / "s", "anna"))
    summary = run_import("mining_tenures", path)
    assert (summary.schema, summary.inserted, summary.source_crs) == (
        "ANM AnnA Minería",
        3,
        "EPSG:9377",
    )
    rows = db.execute(
        "SELECT expediente, tenure_type, status, stage, modality, minerals, holders, scale, "
        "declared_area_ha, application_date, area_ha FROM layers_miningtenure "
        "WHERE expediente LIKE 'ANM-%' ORDER BY expediente"
    ).fetchall()
    assert [r[:2] for r in rows] == [
        ("ANM-001", "title"),
        ("ANM-002", "application"),
        ("ANM-003", "formalisation_subcontract"),
    ]
    first = rows[0]
    assert first[3:9] == (
        "explotación",
        "Contrato de concesión (L 685)",
        ["ORO Y SUS CONCENTRADOS", "PLATA"],
        ["EMPRESA A S.A.S.", "PERSONA B"],
        "pequeña",
        120.25,
    )
    assert first[9] == dt.date(2010, 5, 4) and rows[1][9] == dt.date(2023, 1, 31)
    assert rows[2][9] is None and rows[1][7] == ""
    assert first[10] == pytest.approx(100.0)


def test_anm_full_names_geopackage_in_magna_bogota(db, tmp_path, clean):
    from layers.importer import run_import

    frame = gpd.GeoDataFrame(
        {
            "CODIGO_EXPEDIENTE": ["ANM-FULL-1"],
            "TITULO_ESTADO": ["Título vigente-en ejecución"],
            "SOLICITANTES_O_TITULARES": ["EMPRESA E"],
            "MPIO_CCNCT": ["05154"],
            "FECHA_RADICACION": [_epoch_ms(dt.date(1999, 12, 31))],
        },
        geometry=[shapely.box(-75.2, 7.9, -75.19, 7.91)],
        crs=4326,
    ).to_crs(3116)
    path = tmp_path / "anna.gpkg"
    pyogrio.write_dataframe(frame, path)
    summary = run_import("mining_tenures", path)
    assert (summary.inserted, summary.source_crs) == (1, "EPSG:3116")
    row = db.execute(
        "SELECT tenure_type, municipalities_published, application_date, "
        "ST_X(ST_Transform(ST_Centroid(geom), 4326)) FROM layers_miningtenure "
        "WHERE expediente = 'ANM-FULL-1'"
    ).fetchone()
    assert row[:3] == ("title", "05154", dt.date(1999, 12, 31))
    assert row[3] == pytest.approx(-75.195, abs=1e-4)


def test_runap_categories_and_mining_exclusion(db, tmp_path, clean):
    from layers.importer import run_import

    published = [
        ("Parque de Prueba", "Parque Nacional Natural", True, "parque_nacional"),
        ("Santuario de Prueba", "Santuario de Fauna y Flora", True, "otra"),
        ("Páramo de Prueba", "Páramo", True, "paramo"),
        ("DRMI de Prueba", "Distrito Regional de Manejo Integrado", False, "drmi"),
        ("RNSC de Prueba", "Reserva Natural de la Sociedad Civil", False, "rnsc"),
        (
            "Reserva de Prueba",
            "Reservas Forestales Protectoras Regionales",
            True,
            "reserva_forestal_protectora",
        ),
    ]
    features = [
        feature({"ap_nombre": name, "ap_categor": category}, polygon(square(-75.6 + i * 0.02, 6.2)))
        for i, (name, category, _, _) in enumerate(published)
    ]
    summary = run_import("protected_areas", write_geojson(tmp_path / "runap.geojson", features))
    assert (summary.schema, summary.inserted) == ("RUNAP", 6)
    rows = {
        r[0]: r[1:]
        for r in db.execute(
            "SELECT name, category, excludes_mining FROM layers_protectedarea "
            "WHERE name LIKE '%de Prueba'"
        ).fetchall()
    }
    for name, _, excludes, category in published:
        assert rows[name] == (category, excludes), name


def test_ant_resguardos_legal_act_year_and_name_as_identifier(db, tmp_path, clean):
    from layers.importer import run_import

    frame = gpd.GeoDataFrame(
        {
            "NOMBRE": ["Resguardo de Prueba"],
            "PUEBLO": ["Embera Katío"],
            "TIPO_ACTO_": ["Resolución"],
            "NUMERO_ACT": ["045"],
            "FECHA_ACTO": [dt.date(1998, 6, 2)],
        },
        geometry=[shapely.box(-76.4, 7.1, -76.39, 7.11)],
        crs=4326,
    )
    path = write_zip(tmp_path / "resguardos.zip", shapefile_members(frame, tmp_path / "s", "rg"))
    summary = run_import("ethnic_territories", path)
    assert summary.schema == "ANT (resguardos indígenas)"
    assert any("se usa el nombre como identificador" in w for w in summary.warnings)
    row = db.execute(
        "SELECT kind, source_id, people, legal_act, act_year FROM layers_ethnicterritory "
        "WHERE name = 'Resguardo de Prueba'"
    ).fetchone()
    assert row == (
        "resguardo_indigena",
        "Resguardo de Prueba",
        "Embera Katío",
        "Resolución 045",
        1998,
    )


def test_hotspot_point_with_area_becomes_a_circle_of_that_area(db, tmp_path, clean):
    from layers.importer import run_import

    features = [
        feature(
            {
                "fuente": "prueba",
                "id_foco": "HP-1",
                "categoria": "Explotación ilícita",
                "ambito": "aluvial en agua",
                "fecha_deteccion": "2024-03-15",
                "area_ha": 2.5,
                "confianza": 0.8,
                "sintetico": True,
            },
            {"type": "Point", "coordinates": [-76.5, 7.5]},
        ),
        feature(
            {"fuente": "prueba", "id_foco": "HP-2", "categoria": "otra cosa", "area_ha": 1.0},
            polygon(square(-76.4, 7.5, 0.001)),
        ),
    ]
    summary = run_import("mining_hotspots", write_geojson(tmp_path / "focos.geojson", features))
    assert (summary.inserted, summary.repaired) == (2, 1)
    assert summary.repairs[0].startswith("fila 1 (fuente 'prueba', id_foco 'HP-1')")
    assert "círculo de 2.5 ha" in summary.repairs[0]
    assert any("'otra cosa'" in w for w in summary.warnings)
    rows = db.execute(
        "SELECT source_id, category, setting, detected_on, confidence, synthetic, area_ha, "
        "ST_Distance(ST_Centroid(geom), ST_Transform(ST_SetSRID(ST_MakePoint(-76.5, 7.5), 4326),"
        " 9377)) FROM layers_mininghotspot WHERE source = 'prueba' ORDER BY source_id"
    ).fetchall()
    assert rows[0][:6] == (
        "HP-1",
        "explotacion_ilicita",
        "aluvial_agua",
        dt.date(2024, 3, 15),
        0.8,
        True,
    )
    assert rows[0][6] == pytest.approx(2.5, rel=1e-6) and rows[0][7] < 0.01
    assert rows[1][1:3] == ("desconocida", "desconocido") and rows[1][5] is False


def _hydrobasins(tmp_path, rows):
    frame = gpd.GeoDataFrame(
        {
            "HYBAS_ID": [r[0] for r in rows],
            "NEXT_DOWN": [r[1] for r in rows],
            "PFAF_ID": [r[2] for r in rows],
        },
        geometry=[
            shapely.box(4_700_000 + i * 1000, 2_250_000, 4_701_000 + i * 1000, 2_251_000)
            for i in range(len(rows))
        ],
        crs=9377,
    )
    path = tmp_path / "hybas.gpkg"
    pyogrio.write_dataframe(frame, path)
    return path


def test_hydrobasins_next_down_is_resolved_after_the_load(db, tmp_path, clean):
    from layers.importer import run_import

    # Upstream units come first in the file: links resolve only after every row is in.
    path = _hydrobasins(
        tmp_path,
        [
            (6120000001, 6120000002, 6211),
            (6120000002, 6120000003, 6212),
            (6120000003, 0, 6213),
            (6120000004, 9999999999, 6214),
        ],
    )
    summary = run_import("hydro_units", path)
    assert (summary.schema, summary.inserted) == ("HydroBASINS", 4)
    assert any("1 unidades drenan a códigos que no están cargados" in w for w in summary.warnings)
    rows = db.execute(
        "SELECT u.code, d.code, u.level, u.system FROM hydrology_hydrounit u "
        "LEFT JOIN hydrology_hydrounit d ON d.id = u.next_down_id "
        "WHERE u.code LIKE '612000000%' ORDER BY u.code"
    ).fetchall()
    assert rows == [
        ("6120000001", "6120000002", 4, "hydrobasins"),
        ("6120000002", "6120000003", 4, "hydrobasins"),
        ("6120000003", None, 4, "hydrobasins"),
        ("6120000004", None, 4, "hydrobasins"),
    ]


def test_ideam_subzones_take_names_from_the_code_table_and_dissolve_parents(db, tmp_path, clean):
    from layers.importer import run_import

    # Three subzones of zone 26 (Cauca, area 2 Magdalena Cauca), codes only as in the .dbf.
    frame = gpd.GeoDataFrame(
        {
            "COD_AH": ["2", "2", "2"],
            "COD_ZH": ["26", "26", "26"],
            "COD_SZH": ["2601", "2602", "2603"],
        },
        geometry=[
            shapely.box(4_600_000 + i * 1000, 2_000_000, 4_601_000 + i * 1000, 2_001_000)
            for i in range(3)
        ],
        crs=9377,
    )
    path = tmp_path / "ideam.gpkg"
    pyogrio.write_dataframe(frame, path)
    summary = run_import("hydro_units", path)
    assert (summary.schema, summary.inserted) == ("IDEAM zonificación hidrográfica 2013", 3)
    assert any("Se disolvieron 1 zonas hidrográficas" in w for w in summary.warnings)
    rows = db.execute(
        "SELECT u.code, u.name, u.level, p.code, round(u.area_ha) FROM hydrology_hydrounit u "
        "LEFT JOIN hydrology_hydrounit p ON p.id = u.parent_id "
        "WHERE u.system = 'ideam' AND u.code IN ('2', '26', '2601', '2602', '2603') "
        "ORDER BY u.level, u.code"
    ).fetchall()
    assert rows == [
        ("2", "Magdalena Cauca", 1, None, 300),
        ("26", "Cauca", 2, "2", 300),
        ("2601", "Alto Río Cauca", 3, "26", 100),
        ("2602", "Río Palacé", 3, "26", 100),
        ("2603", "Rio Salado y otros directos Cauca", 3, "26", 100),
    ]


def test_pomca_without_topology_leaves_next_down_empty_and_says_so(db, tmp_path, clean):
    from layers.importer import run_import

    features = [feature({"nombre": "Río de Prueba"}, polygon(square(-76.5, 7.5)))]
    summary = run_import(
        "hydro_units", write_geojson(tmp_path / "p.geojson", features), system="pomca"
    )
    assert any("no publica next_down" in w and "adyacencia" in w for w in summary.warnings)
    row = db.execute(
        "SELECT system, code, next_down_id FROM hydrology_hydrounit WHERE name = 'Río de Prueba'"
    ).fetchone()
    assert row == ("pomca", "rio-de-prueba", None)


def test_hydro_units_without_a_known_system_need_one(db, tmp_path):
    from geo.errors import DomainError
    from layers.importer import run_import

    features = [feature({"NOM": "Cuenca X"}, polygon(square(-76.5, 7.5)))]
    path = write_geojson(tmp_path / "x.geojson", features)
    before = counts(db)
    with pytest.raises(DomainError) as caught:
        run_import("hydro_units", path)
    assert "requeridos por la capa 'hydro_units': system, name" in caught.value.detail
    assert "Atributos del archivo: NOM" in caught.value.detail
    assert counts(db) == before
