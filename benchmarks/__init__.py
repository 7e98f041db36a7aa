"""Benchmarks of the book's models (scripts, not part of the package).

This file makes `benchmarks` a regular package, so that the top-level `benchmarks` package that opacus
installs into site-packages does not shadow it."""
