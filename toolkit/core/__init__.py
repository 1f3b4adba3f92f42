"""The bottom layer: problems and errors, safe YAML, atomic writes, defaults, numerics.

Nothing here knows about scenarios or indicators; every other layer may import it.
"""
