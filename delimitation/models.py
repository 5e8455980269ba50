"""Delimitation models (districts, boundary versions, acts) come with the delimitation issue."""
