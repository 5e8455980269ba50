"""WFS 2.0.0 / 1.1.0 / 1.0.0 generated from the layer registry."""
