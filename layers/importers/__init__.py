"""Which schema classes can load each layer, most specific first, the generic one last.

Classes are named by dotted path and resolved on use, like the registry's editors, so upper
packages (hydrology) can contribute importers without `layers` importing them at load time.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from geo.errors import InvalidInput

if TYPE_CHECKING:
    from layers.importer import Importer

CATALOGUE: dict[str, tuple[str, ...]] = {
    "departments": (
        "layers.importers.admin_units:DaneDepartments",
        "layers.importers.admin_units:DepartmentImporter",
    ),
    "municipalities": (
        "layers.importers.admin_units:DaneMunicipalities",
        "layers.importers.admin_units:CorpourabaMunicipalities",
        "layers.importers.admin_units:MunicipalityImporter",
    ),
    "mining_tenures": (
        "layers.importers.tenures:AnmTenures",
        "layers.importers.tenures:CorpourabaTenures",
        "layers.importers.tenures:TenureImporter",
    ),
    "mining_hotspots": (
        "layers.importers.hotspots:SampleHotspots",
        "layers.importers.hotspots:HotspotImporter",
    ),
    "protected_areas": (
        "layers.importers.protected:RunapProtectedAreas",
        "layers.importers.protected:CorpourabaProtectedAreas",
        "layers.importers.protected:ProtectedAreaImporter",
    ),
    "ethnic_territories": (
        "layers.importers.ethnic:AntResguardos",
        "layers.importers.ethnic:SampleResguardos",
        "layers.importers.ethnic:SampleConsejos",
        "layers.importers.ethnic:EthnicTerritoryImporter",
    ),
    "hydro_units": (
        "hydrology.importer:HydrobasinsUnits",
        "hydrology.importer:IdeamUnits",
        "hydrology.importer:WatershedUnits",
        "hydrology.importer:PomcaUnits",
        "hydrology.importer:HydroUnitImporter",
    ),
    "rivers": (
        "hydrology.water_importers:HydroRivers",
        "hydrology.water_importers:IdeamDrainage",
        "hydrology.water_importers:RiverImporter",
    ),
    "water_intakes": (
        "hydrology.water_importers:MunicipalIntakes",
        "hydrology.water_importers:WaterIntakeImporter",
    ),
}


def _resolve(dotted: str) -> type[Importer]:
    module, _, name = dotted.partition(":")
    return getattr(import_module(module), name)


def importable_layers() -> tuple[str, ...]:
    """Layer names `distritos import` accepts for vector files."""
    return tuple(CATALOGUE)


def catalogue(layer: str) -> list[type[Importer]]:
    """The schema classes of a layer; a clear refusal for unknown layer names."""
    if layer not in CATALOGUE:
        raise InvalidInput(
            f"No se puede importar la capa '{layer}'. Capas importables: "
            + ", ".join(CATALOGUE)
            + ", rasters.",
            where="layer",
        )
    return [_resolve(dotted) for dotted in CATALOGUE[layer]]
