"""Hydrographic units and drainage topology, water features, DEM processing."""
