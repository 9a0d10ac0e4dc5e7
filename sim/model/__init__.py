"""Model layer: the cohort-component projection, demand, capacity, the expected (analytic)
level, summaries and sensitivity indices; Datasets in and out, no files, no DES.
"""
