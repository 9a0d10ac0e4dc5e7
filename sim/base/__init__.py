"""Base layer: names and units, the catalogue of output variables, one-line errors, the
random streams and the length-of-stay distributions; it imports nothing of the project's.
"""
