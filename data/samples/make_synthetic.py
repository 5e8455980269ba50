"""Generate the SYNTHETIC sample layers the public data lacks, deterministically.

No unauthorised-mining detections (EVOA-like) and no land-aptitude raster are public for the
Urabá sample area, so this script makes stand-ins for the demo and the tests. They are
synthetic and say so in every feature and in the file metadata; never present them as real.

1. uraba/hotspots_sinteticos.geojson (EPSG:4326, 300 small polygons) in the Río Sucio / Río
   León gold-mining municipalities: Dabeiba 05234, Frontino 05284, Uramita 05842,
   Cañasgordas 05138, Abriaquí 05004, Mutatá 05480, Chigorodó 05172.
   - 65 % sit on or within 1.5 km of a real gold title/application of
     uraba/titulos_mineros.geojson ("Metálicos (oro y asociados)") in those municipalities;
     on a title they lean to "con_permisos"/"en_transito_legalidad", beside it to
     "explotacion_ilicita" (as EVOA reports alluvial mining next to the titles);
   - 35 % are scattered over the seven municipalities. The samples carry no river layer, so
     "along rivers" is not modelled beyond the setting (`ambito`) attribute.
   Fields: id_foco, fuente='sintético (make_synthetic.py)', categoria, ambito,
   fecha_deteccion (ISO date), area_ha, confianza (0..1), sintetico=true, codigo_dane.
   Category/setting codes are the project's (layers.models HotspotCategory/HotspotSetting).
2. uraba/aptitud_sintetica.tif: Cloud-Optimised GeoTIFF, EPSG:9377, 100 m, uint8, over the
   19 municipalities of uraba/municipios.geojson (nodata 0 outside). Class 1 "Exclusión
   legal" is the real protected areas whose category excludes mining (parques nacionales y
   regionales, reservas forestales protectoras); classes 2..5 come from smoothed random noise
   cut at fixed shares. Tags SYNTHETIC=true, SOURCE, DESCRIPTION; the class table (value,
   code, Spanish label, colour) is uraba/aptitud_sintetica.classes.json.

Run from the repository root: `.venv/bin/python data/samples/make_synthetic.py`.
The same seed gives the same files.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pyogrio
import rasterio
import rasterio.features
import shapely
from pyproj import Transformer
from rasterio.transform import Affine
from scipy import ndimage

HERE = Path(__file__).resolve().parent
URABA = HERE / "uraba"
SEED = 20240977  # Decreto 0977 de 2024
SOURCE = "sintético (make_synthetic.py)"
GOLD_MUNICIPALITIES = ("05234", "05284", "05842", "05138", "05004", "05480", "05172")
GOLD = "Metálicos (oro y asociados)"
N_HOTSPOTS = 300
RESOLUTION = 100.0
# Protected-area categories (as published in the sample) where mining is excluded by law.
EXCLUDING = (
    "Parque Nacional Natural",
    "Parque Regional Natural",
    "Reserva Forestal Protectora Nacional",
)
CLASSES = [
    {"value": 1, "code": "exclusion_legal", "label": "Exclusión legal", "color": "#8c8c8c"},
    {"value": 2, "code": "no_apta", "label": "No apta", "color": "#d7191c"},
    {"value": 3, "code": "aptitud_baja", "label": "Aptitud baja", "color": "#fdae61"},
    {"value": 4, "code": "aptitud_media", "label": "Aptitud media", "color": "#a6d96a"},
    {"value": 5, "code": "aptitud_alta", "label": "Aptitud alta", "color": "#1a9641"},
]
NOISE_SHARES = (0.25, 0.35, 0.25, 0.15)  # classes 2..5 outside the exclusions

TO_9377 = Transformer.from_crs(4326, 9377, always_xy=True)
TO_4326 = Transformer.from_crs(9377, 4326, always_xy=True)


def project(geoms, transformer: Transformer):
    """Reproject shapely geometries with a pyproj transformer."""
    return shapely.transform(geoms, lambda xy: np.column_stack(transformer.transform(*xy.T)))


def read(name: str, columns: list[str] | None = None):
    """A sample layer's attributes and its geometries in EPSG:9377 (repaired as needed)."""
    table = pyogrio.read_dataframe(URABA / name, columns=columns)
    geoms = shapely.make_valid(table.geometry.to_numpy())
    return table.drop(columns="geometry"), project(geoms, TO_9377)


def pick(rng: np.random.Generator, options: list[str], shares: list[float], n: int) -> np.ndarray:
    """n draws from labelled shares."""
    return np.array(options, dtype=object)[rng.choice(len(options), size=n, p=shares)]


def ellipse(rng: np.random.Generator, x: float, y: float) -> shapely.Polygon:
    """A small elongated polygon (0.2..20 ha) around (x, y): a mining front or a pit."""
    rx = float(np.exp(rng.uniform(np.log(40), np.log(250))))
    ry = rx * rng.uniform(0.35, 1.0)
    turn = rng.uniform(0, np.pi)
    t = np.linspace(0, 2 * np.pi, 17)[:-1]
    ex = rx * np.cos(t) * np.cos(turn) - ry * np.sin(t) * np.sin(turn)
    ey = rx * np.cos(t) * np.sin(turn) + ry * np.sin(t) * np.cos(turn)
    return shapely.Polygon(np.column_stack([x + ex, y + ey]))


def random_point_in(rng: np.random.Generator, area: shapely.Geometry) -> tuple[float, float]:
    """A uniform random point inside a polygon (rejection from its bounding box)."""
    minx, miny, maxx, maxy = area.bounds
    while True:
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if shapely.contains_xy(area, x, y):
            return x, y


def make_hotspots(rng: np.random.Generator) -> dict:
    """The synthetic hotspot FeatureCollection (EPSG:4326)."""
    munis, muni_geoms = read("municipios.geojson", ["codigo_dane"])
    chosen = munis["codigo_dane"].isin(GOLD_MUNICIPALITIES).to_numpy()
    codes = munis["codigo_dane"].to_numpy()[chosen]
    muni_geoms = muni_geoms[chosen]
    region = shapely.union_all(muni_geoms)
    shapely.prepare(region)
    titles, title_geoms = read("titulos_mineros.geojson", ["mineral"])
    gold = (titles["mineral"] == GOLD).to_numpy() & shapely.intersects(title_geoms, region)
    gold_titles = title_geoms[gold]
    weights = np.sqrt(shapely.area(gold_titles))
    weights /= weights.sum()

    features = []
    day0 = dt.date(2019, 1, 1).toordinal()
    span = dt.date(2024, 12, 31).toordinal() - day0
    while len(features) < N_HOTSPOTS:
        mode = rng.choice(["on_title", "beside_title", "scattered"], p=[0.40, 0.25, 0.35])
        if mode == "scattered":
            x, y = random_point_in(rng, region)
            category = pick(
                rng,
                ["explotacion_ilicita", "desconocida", "en_transito_legalidad"],
                [0.6, 0.3, 0.1],
                1,
            )[0]
        else:
            title = gold_titles[rng.choice(len(gold_titles), p=weights)]
            if mode == "on_title":
                x, y = random_point_in(rng, title)
                category = pick(
                    rng,
                    ["con_permisos", "en_transito_legalidad", "explotacion_ilicita"],
                    [0.4, 0.35, 0.25],
                    1,
                )[0]
            else:
                x, y = random_point_in(rng, shapely.buffer(title, 1_500).difference(title))
                category = pick(rng, ["explotacion_ilicita", "desconocida"], [0.8, 0.2], 1)[0]
        if not shapely.contains_xy(region, x, y):
            continue
        shape = shapely.intersection(ellipse(rng, x, y), region)
        if shape.is_empty or shape.area < 1_000:
            continue
        home = codes[np.argmax(shapely.contains_xy(muni_geoms, x, y))]
        lonlat = shapely.set_precision(project(shape, TO_4326), 1e-6)
        number = len(features) + 1
        features.append(
            {
                "type": "Feature",
                "id": number,
                "properties": {
                    "id_foco": f"SINT-HS-{number:04d}",
                    "fuente": SOURCE,
                    "categoria": str(category),
                    "ambito": str(
                        pick(rng, ["aluvial_tierra", "aluvial_agua", "veta"], [0.55, 0.25, 0.2], 1)[
                            0
                        ]
                    ),
                    "fecha_deteccion": dt.date.fromordinal(
                        day0 + int(rng.integers(0, span))
                    ).isoformat(),
                    "area_ha": round(shape.area / 10_000, 2),
                    "confianza": round(float(rng.beta(6, 2)), 2),
                    "sintetico": True,
                    "codigo_dane": str(home),
                },
                "geometry": shapely.geometry.mapping(lonlat),
            }
        )
    return {
        "type": "FeatureCollection",
        "name": "hotspots_sinteticos",
        "description": (
            "DATOS SINTÉTICOS generados por data/samples/make_synthetic.py: focos de minería "
            "no autorizada ficticios para demostración y pruebas. No son detecciones reales."
        ),
        "features": features,
    }


def smooth_noise(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Spatially coherent noise: octaves of about 15, 4 and 1 km at 100 m, summed."""
    height, width = shape
    field = np.zeros(shape, dtype=np.float32)
    for step, weight in ((40, 1.0), (10, 0.45), (3, 0.15)):
        coarse = rng.standard_normal((height // step + 3, width // step + 3)).astype(np.float32)
        coarse = ndimage.gaussian_filter(coarse, 1.5)
        coarse /= coarse.std()
        field += weight * ndimage.zoom(coarse, step, order=1, prefilter=False)[:height, :width]
    return field


def make_aptitude(rng: np.random.Generator, path: Path) -> None:
    """The synthetic aptitude COG over the Urabá sample area (EPSG:9377, 100 m)."""
    _, muni_geoms = read("municipios.geojson", ["codigo_dane"])
    area = shapely.union_all(muni_geoms)
    protected, protected_geoms = read("areas_protegidas_oficial.geojson", ["categoria"])
    excluded = protected_geoms[protected["categoria"].isin(EXCLUDING).to_numpy()]
    minx, miny, maxx, maxy = area.bounds
    left = np.floor(minx / RESOLUTION) * RESOLUTION
    top = np.ceil(maxy / RESOLUTION) * RESOLUTION
    width = int(np.ceil((maxx - left) / RESOLUTION))
    height = int(np.ceil((top - miny) / RESOLUTION))
    transform = Affine(RESOLUTION, 0, left, 0, -RESOLUTION, top)
    outside = rasterio.features.geometry_mask([area], (height, width), transform)
    field = smooth_noise(rng, (height, width))
    cuts = np.quantile(field[~outside], np.cumsum(NOISE_SHARES)[:-1])
    classes = (np.searchsorted(cuts, field) + 2).astype(np.uint8)
    exclusion = ~rasterio.features.geometry_mask(list(excluded), (height, width), transform)
    classes[exclusion] = 1
    classes[outside] = 0
    profile = {
        "driver": "COG",
        "width": width,
        "height": height,
        "count": 1,
        "dtype": "uint8",
        "crs": "EPSG:9377",
        "transform": transform,
        "nodata": 0,
        "compress": "deflate",
        "blocksize": 512,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(classes, 1)
        dst.update_tags(
            SYNTHETIC="true",
            SOURCE=SOURCE,
            DESCRIPTION=(
                "DATOS SINTÉTICOS: aptitud del suelo ficticia (clases 1..5, 0 sin dato) para "
                "demostración y pruebas; la clase 1 son las áreas protegidas reales que "
                "excluyen la minería. No es una zonificación oficial."
            ),
            CLASSES=json.dumps(CLASSES, ensure_ascii=False),
        )
        dst.set_band_description(1, "aptitud_sintetica")


def main() -> None:
    """Write both synthetic layers and the class table next to the real samples."""
    hotspots = make_hotspots(np.random.default_rng([SEED, 1]))
    target = URABA / "hotspots_sinteticos.geojson"
    target.write_text(json.dumps(hotspots, ensure_ascii=False, indent=None) + "\n")
    raster = URABA / "aptitud_sintetica.tif"
    make_aptitude(np.random.default_rng([SEED, 2]), raster)
    table = {
        "synthetic": True,
        "source": SOURCE,
        "raster": raster.name,
        "description": "Tabla de clases de la aptitud SINTÉTICA (no oficial).",
        "nodata": 0,
        "classes": CLASSES,
    }
    (URABA / "aptitud_sintetica.classes.json").write_text(
        json.dumps(table, ensure_ascii=False, indent=2) + "\n"
    )
    print(
        f"{target.name}: {len(hotspots['features'])} features; "
        f"{raster.name}: {raster.stat().st_size / 1e6:.2f} MB"
    )


if __name__ == "__main__":
    main()
