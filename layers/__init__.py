"""Reference layers, their importers and the layer registry."""
