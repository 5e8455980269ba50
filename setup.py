"""The one compiled module, geo/_wkb.c (see README, Dependencies). Optional: without a C
compiler the install still succeeds, and imports check validity with GEOS alone and build
EWKB with Arrow."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "geo._wkb",
            ["geo/_wkb.c"],
            extra_compile_args=["-O2", "-std=c11", "-Wall", "-Wextra", "-Wno-unused-parameter"],
            optional=True,
        )
    ]
)
