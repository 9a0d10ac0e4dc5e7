"""Runs layer: one replicate end to end (pipeline), batches and sweeps on a process pool or
dask (batch), the results folder (store) and a DES worker's heap (memory); it owns the
worker processes.
"""
