"""Choosing an estimator for a given log and policy: the `auto` estimator.

No estimator is best on every log: DR is unbiased wherever the propensities are right but its
variance grows with the importance weights; SNDR and DRos trade a little bias for much less
variance; the direct method has the least variance and whatever bias its reward model has.
`auto` picks among them per evaluation by SLOPE (Su, Srinath & Krishnamurthy, ICML 2020), the
estimator-selection rule of the off-policy literature, the same rule that tunes switch-DR and
DRos here:

1. Compute, on the same rows, the candidates ordered from the least biased to the least
   variable: DR, SNDR, DRos, DM.
2. Walk down the list while each interval, widened by two, still meets those of all the
   candidates before it; keep the last one reached. A narrower estimator is taken only while
   the data cannot tell it apart from the less biased ones.
3. Report the kept estimator's value, with an interval that reaches out to DR's too: the kept
   one's own interval would not show the bias it may have taken on.

The output names the estimator chosen and passes on the warnings of DR (the weights' effective
sample size, dominant rows, support) and of the chosen one.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from simulator.estimator_base import Estimate, Estimator
from simulator.logs import LoggedFeedback
from simulator.model_based import (
    DirectMethod, DoublyRobust, DoublyRobustShrinkage, SelfNormalizedDoublyRobust, slope_keep,
)

__all__ = ["SelectedEstimator"]


@dataclass(frozen=True)
class SelectedEstimator(Estimator):
    """The estimator SLOPE keeps among DR, SNDR, DRos and DM for this log and policy."""

    name: ClassVar[str] = "auto"
    distributable: ClassVar[bool] = False
    needs_rewards: ClassVar[bool] = True
    n_bootstrap: int = 30
    seed: int = 0

    def candidates(self) -> tuple[Estimator, ...]:
        """The estimators it chooses among, least biased first."""
        shared = {"confidence": self.confidence, "min_matches": self.min_matches}
        return (DoublyRobust(**shared), SelfNormalizedDoublyRobust(**shared),
                DoublyRobustShrinkage(**shared),
                DirectMethod(**shared, n_bootstrap=self.n_bootstrap, seed=self.seed))

    def estimate(self, log: LoggedFeedback, target_pmf: np.ndarray,
                 estimated_rewards: Any = None) -> Estimate:
        """The SLOPE-kept candidate's value, its interval widened to reach DR's."""
        results = [c.estimate(log, target_pmf, estimated_rewards) for c in self.candidates()]
        chosen, (low, high) = slope_keep(results)
        best, unbiased = results[chosen], results[0]
        warnings = tuple(dict.fromkeys(unbiased.warnings + best.warnings))
        note = (f"{best.estimator}, chosen by SLOPE from {', '.join(r.estimator for r in results)} "
                f"({best.ci_method}); the interval spans dr's")
        return Estimate(self.name, best.value, low, high, unbiased.ess, best.n_rounds,
                        self.confidence, note, unbiased.n_matched, warnings)
