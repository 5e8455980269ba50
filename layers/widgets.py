"""The admin map widget with OpenLayers served locally (npm `ol`), never from a CDN, and our
own municipality vector tiles as the base layer instead of remote imagery."""

from __future__ import annotations

from django.contrib.gis.forms.widgets import OpenLayersWidget


class LocalMapWidget(OpenLayersWidget):
    template_name = "gis/local_openlayers.html"
    default_zoom = 6

    class Media:
        extend = False
        css = {"all": ("vendor/ol/ol.css", "gis/css/ol3.css")}
        js = ("vendor/ol/ol.js", "gis/js/OLMapWidget.js")
