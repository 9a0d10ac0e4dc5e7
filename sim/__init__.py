"""Longgang health-resource simulation.

Library entry points, for notebooks::

    import sim
    ds = sim.open_results("results/batch-1a2b3c4d")   # or xarray.open_dataset(...)
    ds = sim.run_batch(["scenarios/baseline.toml"], replicates=10, seed=1)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.app.api import open_results, run_batch

__all__ = ["open_results", "run_batch"]


def __getattr__(name: str) -> Any:
    # imported lazily so that `import sim.base.names` stays light in worker processes
    if name in __all__:
        from sim.app import api

        return getattr(api, name)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
