"""Pure geometry and raster functions: CRS, transforms, validity, areas, zonal statistics, I/O."""
