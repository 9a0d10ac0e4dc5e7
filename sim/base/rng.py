"""The only place that makes random generators.

Streams are keyed by ``(root seed, replicate, stream name)`` through
``numpy.random.SeedSequence(root_seed, spawn_key=(replicate, stream_id))``.
The scenario is deliberately *not* part of the key: replicate ``r`` of every
scenario draws the same numbers (common random numbers), so differences
between scenarios carry far less noise.

A stream's id is derived from its name by a fixed hash (CRC-32), not by its
position in a list: adding a stream never changes the numbers of the others.
"""

from __future__ import annotations

import zlib

import numpy as np

__all__ = ["generator", "seed_sequence", "stream_id"]


def stream_id(name: str) -> int:
    """Stable 32-bit id of a named stream (CRC-32 of its UTF-8 name)."""
    if not name:
        raise ValueError("a random stream needs a non-empty name")
    return zlib.crc32(name.encode("utf-8"))


def seed_sequence(root_seed: int, replicate: int, name: str) -> np.random.SeedSequence:
    """SeedSequence of stream ``name`` for one replicate of a run."""
    if root_seed < 0 or replicate < 0:
        raise ValueError(f"seed and replicate must be >= 0, got {root_seed}, {replicate}")
    return np.random.SeedSequence(root_seed, spawn_key=(replicate, stream_id(name)))


def generator(root_seed: int, replicate: int, name: str) -> np.random.Generator:
    """A fresh PCG64 generator for stream ``name`` of replicate ``replicate``."""
    return np.random.Generator(np.random.PCG64(seed_sequence(root_seed, replicate, name)))
