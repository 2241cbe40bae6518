"""The Helsinki demo region (demo/data.py) and `seed_demo`, which loads it."""
