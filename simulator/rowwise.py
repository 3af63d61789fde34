"""Per-row work on a log's (rows, candidates) matrices, which have few columns and many rows.

numpy reduces along a short last axis one row at a time: `sum(axis=1)`, `any(axis=1)` and
`argmax(axis=1)` cost several times what a BLAS matrix-vector product over the same memory
does, so the reductions here are such products. And a fixed policy's pmf repeats wherever
the context and the candidates do: `RowPmf` keeps it once per distinct row.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["RowPmf", "first_true", "row_sums"]


def row_sums(matrix: np.ndarray) -> np.ndarray:
    """Each row's sum of a float (n, k) matrix, as float64."""
    m = np.asarray(matrix, dtype=np.float64)
    return m @ np.ones(m.shape[1])


def first_true(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row of a boolean (n, k) matrix: the column of its first True (0 where it has none,
    as argmax gives) and whether it has one."""
    k = mask.shape[1]
    ones = mask.astype(np.float32)  # counts and columns below 2**24 are exact in float32
    count = ones @ np.ones(k, np.float32)
    column = (ones @ np.arange(k, dtype=np.float32)).astype(np.int64)
    several = np.flatnonzero(count > 1)  # the sum of their columns is not the first one
    if several.size:
        column[several] = mask[several].argmax(axis=1)
    return column, count > 0


@dataclass(frozen=True, eq=False)
class RowPmf:
    """A policy's pmf on every logged row, kept once per distinct row: rows whose context and
    candidates are the same get the same pmf, so row i's is `distinct[index[i]]`, first met
    at log row `rows[index[i]]`. numpy sees it as the dense (n_rounds, max_candidates) array."""

    distinct: np.ndarray  # (d, max_candidates)
    rows: np.ndarray  # (d,) the log row where each distinct pmf is first met
    index: np.ndarray  # (n_rounds,) each row's pmf in `distinct`

    @property
    def shape(self) -> tuple[int, int]:
        """The dense array's shape."""
        return (int(self.index.shape[0]), int(self.distinct.shape[1]))

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        dense = self.distinct[self.index]
        return dense if dtype is None else dense.astype(dtype, copy=False)

    def at(self, columns: np.ndarray) -> np.ndarray:
        """Each row's probability of the candidate in its column."""
        return self.distinct[self.index, columns]
