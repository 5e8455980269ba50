"""Districts, boundary versions, proposal engine, boundary validation, administrative acts."""
