"""The reward model of a distributed doubly robust evaluation: fitted on a sample, predicted per partition.

Cross-fitting over the whole log, as one process does, would train on most of the log in one
place. Instead, a deterministic sample of about `SAMPLE_ROWS` rows, spread over every
partition, is gathered from the workers; the reward model is cross-fitted on it (each sampled
row predicted by the model of the other folds) and fitted once on all of it, and that model
is sent to every worker, which predicts the rows of its partitions that are not in the
sample. So every row's prediction comes from a model that was not fitted on that row, as in
one process: the doubly robust family stays unbiased and its intervals keep their meaning.
The model differs from the one-process one, so the estimates differ from it within their noise.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from bandit.types import Action

from simulator.errors import InvalidLogError
from simulator.logs import LoggedFeedback, concat
from simulator.reward_model import FittedRewardModel

__all__ = ["SAMPLE_ROWS", "PartitionRewards", "joined_sample", "sample_of"]

SAMPLE_ROWS = 100_000
_HASH = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing spreads consecutive row numbers


def sample_of(log: LoggedFeedback, share: float) -> LoggedFeedback:
    """The rows of a partition that belong to the sample: a fixed `share` of rows, chosen by row number."""
    mixed = (log.row_number.astype(np.uint64) * _HASH) >> np.uint64(11)
    return log.take(mixed.astype(np.float64) / 2.0 ** 53 < share)


@dataclass(frozen=True)
class PartitionRewards:
    """What workers need to predict rewards on their partitions: the model, and the sample's own predictions."""

    model: FittedRewardModel
    sample_rows: np.ndarray  # the sampled rows' numbers in the whole log, ascending
    sample_predicted: np.ndarray  # their cross-fitted predictions, one row each

    def predict(self, log: LoggedFeedback, catalog: Mapping[str, Action] | None = None) -> np.ndarray:
        """Predicted rewards of every candidate of a partition's rows, none from a model fitted on that row."""
        out = self.model.predict(log, catalog)
        at = np.searchsorted(self.sample_rows, log.row_number)
        inside = at < self.sample_rows.size
        sampled = np.zeros(log.n_rounds, dtype=bool)
        sampled[inside] = self.sample_rows[at[inside]] == log.row_number[inside]
        if sampled.any():
            # A row's candidates are in the same order in the sample and in its partition.
            width = min(out.shape[1], self.sample_predicted.shape[1])
            out[sampled] = 0.0
            out[np.ix_(np.flatnonzero(sampled), np.arange(width))] = self.sample_predicted[at[sampled], :width]
        return out


def joined_sample(samples: list[LoggedFeedback]) -> LoggedFeedback:
    """The partitions' samples as one log (in log order)."""
    samples = [s for s in samples if s.n_rounds]
    if not samples:
        raise InvalidLogError("the sample for the reward model is empty; the log has too few rows")
    return concat(samples)
