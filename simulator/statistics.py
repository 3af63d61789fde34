"""Sufficient statistics of an estimate: sums over rows that add up across chunks of a log.

An estimator turns each logged row into a few numbers (its components u_i, e.g. w_i r_i and
w_i for SNIPS); the estimate is a smooth function of their means, and its delta-method
interval needs only the sums of the components and of their pairwise products. Chunks of a
log (partitions on different machines) each give their sums; added, they give exactly what
the whole log gives. Running maxima and minima (the largest weight, the reward range) and a
few counts travel alongside.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

__all__ = ["Statistics", "components"]


@dataclass(frozen=True, eq=False)
class Statistics:
    """Named per-row components summed (and summed pairwise) over rows; add chunks with `+`."""

    names: tuple[str, ...]
    n: int
    sums: np.ndarray  # (k,)   sum over rows of each component
    products: np.ndarray  # (k, k) sum over rows of each pair's product
    counts: Mapping[str, int] = field(default_factory=dict)
    maxima: Mapping[str, float] = field(default_factory=dict)
    minima: Mapping[str, float] = field(default_factory=dict)

    def __add__(self, other: "Statistics") -> "Statistics":
        if other.names != self.names:
            raise ValueError(f"cannot add statistics of {other.names} to those of {self.names}")
        return Statistics(
            self.names, self.n + other.n, self.sums + other.sums, self.products + other.products,
            _merge(self.counts, other.counts, lambda a, b: a + b),
            _merge(self.maxima, other.maxima, max), _merge(self.minima, other.minima, min))

    @classmethod
    def combine(cls, parts: list["Statistics"]) -> "Statistics":
        """The statistics of all the parts' rows together."""
        if not parts:
            raise ValueError("no statistics to combine")
        total = parts[0]
        for part in parts[1:]:
            total = total + part
        return total

    def mean(self, name: str) -> float:
        """The mean over rows of one component."""
        return float(self.sums[self.names.index(name)]) / self.n

    def means(self) -> np.ndarray:
        """The mean over rows of every component."""
        return self.sums / self.n

    def covariance(self) -> np.ndarray:
        """The components' sample covariance over rows (n - 1 in the denominator)."""
        if self.n < 2:
            return np.zeros_like(self.products)
        mean = self.means()
        return (self.products - self.n * np.outer(mean, mean)) / (self.n - 1)

    def delta_se(self, gradient: np.ndarray) -> float:
        """Standard error of a function of the components' means, by the delta method."""
        if self.n < 2:
            return 0.0
        variance = float(gradient @ self.covariance() @ gradient)
        return float(np.sqrt(max(variance, 0.0) / self.n))


def components(names: tuple[str, ...], values: list[np.ndarray], *, counts: Mapping[str, int] | None = None,
               maxima: Mapping[str, float] | None = None,
               minima: Mapping[str, float] | None = None) -> Statistics:
    """The statistics of a chunk of rows from its per-row components (each an (n,) array)."""
    # One component per row of the matrix: both products then run over contiguous memory.
    matrix = np.stack([np.asarray(v, dtype=np.float64) for v in values])
    return Statistics(names, int(matrix.shape[1]), matrix.sum(axis=1), matrix @ matrix.T,
                      dict(counts or {}), dict(maxima or {}), dict(minima or {}))


def _merge(a: Mapping, b: Mapping, how) -> dict:
    out = dict(a)
    for key, value in b.items():
        out[key] = how(out[key], value) if key in out else value
    return out
