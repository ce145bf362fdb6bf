"""One tree of random generators grown from the scenario seed.

Each purpose ("data", "init", "shuffle", "dropout", "noise", ...) gets its own
``numpy.random.SeedSequence`` child, keyed by a stable hash of the purpose's name rather
than by the order of first use. Adding a trick, a layer with noise, or a traced step
therefore never shifts the random numbers drawn for anything else.
"""

from __future__ import annotations

import zlib

import numpy as np


class SeedTree:
    """``SeedTree(seed).generator("init")`` -> an independent, reproducible Generator."""

    def __init__(self, seed: int | np.random.SeedSequence):
        if not isinstance(seed, np.random.SeedSequence):
            seed = np.random.SeedSequence(seed)
        self.root = seed

    @property
    def entropy(self) -> int:
        return int(self.root.entropy)

    def sequence(self, purpose: str) -> np.random.SeedSequence:
        key = zlib.crc32(purpose.encode("utf-8"))
        return np.random.SeedSequence(self.root.entropy, spawn_key=(*self.root.spawn_key, key))

    def child(self, purpose: str) -> SeedTree:
        return SeedTree(self.sequence(purpose))

    def generator(self, purpose: str) -> np.random.Generator:
        return np.random.Generator(np.random.PCG64(self.sequence(purpose)))
