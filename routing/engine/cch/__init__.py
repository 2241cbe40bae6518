"""Compiled kernels of the customised contraction hierarchy, one module per phase: build,
customise, the two queries (route, sweep), rank tables and threads. The map of the
phases, and the one entry point, is `routing/engine/hierarchy.py`."""
