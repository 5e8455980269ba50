"""The one compiled module: geo/_polygon_proof.c (see README, Dependencies). Optional: without a
C compiler the install still succeeds and imports prove validity with GEOS alone."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "geo._polygon_proof",
            ["geo/_polygon_proof.c"],
            extra_compile_args=["-O2", "-std=c11", "-Wall", "-Wextra", "-Wno-unused-parameter"],
            optional=True,
        )
    ]
)
