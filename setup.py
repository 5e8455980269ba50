"""The two compiled modules, geo/_wkb.c and layers/_copyrows.c (see README, Dependencies).
Optional: without a C compiler the install still succeeds, and imports check validity with
GEOS alone and build EWKB and COPY rows with Arrow."""

from setuptools import Extension, setup

FLAGS = ["-O2", "-std=c11", "-Wall", "-Wextra", "-Wno-unused-parameter"]

setup(
    ext_modules=[
        Extension(name, [source], extra_compile_args=FLAGS, optional=True)
        for name, source in (
            ("geo._wkb", "geo/_wkb.c"),
            ("layers._copyrows", "layers/_copyrows.c"),
        )
    ]
)
