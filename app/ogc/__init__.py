"""OGC API - Features (Parts 1-4) at /ogc, generated from the layer registry."""
