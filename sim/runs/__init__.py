"""Runs layer: one replicate end to end (pipeline), batches and sweeps on a process pool or
dask (batch), and the results folder (store); the only layer that starts processes.
"""
