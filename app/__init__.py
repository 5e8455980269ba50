"""HTTP interfaces of the service (REST, OGC, tiles, pages), CLI and Django wiring."""
