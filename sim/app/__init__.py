"""Application layer: the command line (cli) and the Python entry points (api): arguments,
one-line errors and exit statuses; nothing of the project's imports it but run.py and sim.
"""
