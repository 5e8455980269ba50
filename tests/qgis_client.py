"""PyQGIS client run by tests/test_clients_qgis.py with /usr/bin/python3 (Debian python3-qgis).

Usage: qgis_client.py BASE_URL USER PASSWORD LAYER WHERE_FIELD WHERE_VALUE [EDIT]
Prints one JSON object: per provider the feature count and one feature's geometry (WKT) in the
layer CRS, EPSG:4326 and EPSG:9377; with EDIT instead, moves the first vertex 50 m east
through the WFS 2.0.0 provider and commits.
"""

from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from qgis.core import (  # noqa: E402
    QgsApplication,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsFeatureRequest,
    QgsProject,
    QgsVectorLayer,
)


def describe(layer: QgsVectorLayer, field: str, value: str) -> dict:
    request = QgsFeatureRequest().setFilterExpression(f"\"{field}\" = '{value}'")
    feature = next(layer.getFeatures(request))
    geometry = feature.geometry()
    result = {"count": layer.featureCount(), "crs": layer.crs().authid(), "id": feature.id()}
    for target in ("EPSG:4326", "EPSG:9377"):
        copy = type(geometry)(geometry)
        transform = QgsCoordinateTransform(
            layer.crs(), QgsCoordinateReferenceSystem(target), QgsProject.instance()
        )
        copy.transform(transform)
        result[target] = copy.asWkt(7)
    result["attributes"] = {f.name(): str(feature[f.name()]) for f in layer.fields()}
    return result


def main() -> None:
    base, user, password, name, field, value = sys.argv[1:7]
    edit = len(sys.argv) > 7
    app = QgsApplication([], False)
    app.initQgis()
    out: dict = {}
    auth = f" user='{user}' password='{password}'"
    for version in () if edit else ("2.0.0", "1.0.0"):
        uri = f"url='{base}/wfs' typename='dm:{name}' version='{version}' srsname='EPSG:9377'"
        layer = QgsVectorLayer(uri + auth, name, "WFS")
        if not layer.isValid():
            raise SystemExit(f"WFS {version} no válido: {layer.error().summary()}")
        out[f"wfs {version}"] = describe(layer, field, value)
    if not edit:
        layer = QgsVectorLayer(f"url='{base}/ogc' typename='{name}'" + auth, name, "OAPIF")
        if not layer.isValid():
            raise SystemExit(f"OAPIF no válido: {layer.error().summary()}")
        out["oapif"] = describe(layer, field, value)
    else:
        uri = f"url='{base}/wfs' typename='dm:{name}' version='2.0.0' srsname='EPSG:9377'"
        layer = QgsVectorLayer(uri + auth, name, "WFS")
        request = QgsFeatureRequest().setFilterExpression(f"\"{field}\" = '{value}'")
        feature = next(layer.getFeatures(request))
        vertex = feature.geometry().vertexAt(0)
        layer.startEditing()
        moved = layer.moveVertex(vertex.x() + 50, vertex.y(), feature.id(), 0)
        committed = layer.commitChanges()
        out["edit"] = {
            "moved": moved,
            "committed": committed,
            "errors": layer.commitErrors(),
            "from": [vertex.x(), vertex.y()],
        }
    print(json.dumps(out), flush=True)
    # exitQgis() may crash headless Qt on shutdown; the answer is already printed.
    os._exit(0)


if __name__ == "__main__":
    main()
