"""The reward model behind the direct method and doubly robust: Vowpal Wabbit regression fitted on the log."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import vowpalwabbit
from tqdm import tqdm

from bandit.features import FeatureSpace
from bandit.types import Action

from simulator.errors import InvalidEstimatorError
from simulator.logs import BanditRows, LoggedFeedback

__all__ = ["VWRewardModel"]


@dataclass(frozen=True)
class VWRewardModel:
    """Squared-loss regression of the reward on context × artwork features with Vowpal Wabbit.

    One example per logged (context, chosen artwork, reward), written with the bandit's own
    FeatureSpace so the model sees what the policies see; predictions are clipped to the
    logged reward range.
    """

    passes: int = 2
    learning_rate: float = 0.5
    bits: int = 20
    features: FeatureSpace = field(default_factory=FeatureSpace)
    seed: int = 0

    def __post_init__(self) -> None:
        if self.passes < 1:
            raise InvalidEstimatorError(f"reward model: passes {self.passes!r} must be at least 1")
        if not self.learning_rate > 0:
            raise InvalidEstimatorError(f"reward model: learning_rate {self.learning_rate!r} must be positive")
        if not 1 <= self.bits <= 30:
            raise InvalidEstimatorError(f"reward model: bits {self.bits!r} must be between 1 and 30")

    def _workspace(self) -> vowpalwabbit.Workspace:
        args = ["--quiet", "-l", str(self.learning_rate), "-b", str(self.bits),
                "--random_seed", str(self.seed)] + self.features.vw_args()
        return vowpalwabbit.Workspace(arg_list=args)

    def fit_predict(self, log: LoggedFeedback, catalog: Mapping[str, Action] | None = None,
                    *, progress: bool = False) -> np.ndarray:
        """Fit on the logged (context, action, reward) and predict every candidate's reward, shape (n_rounds, max_candidates)."""
        rows_ = BanditRows(log, catalog)
        space = self.features
        shared: dict[tuple, str] = {}
        action_lines: dict[str, str] = {}

        def lines(row: int) -> tuple[str, list[str]]:
            key = rows_.key(row)[:3]
            ctx = shared.get(key)
            if ctx is None:
                ctx = shared[key] = space.shared_line(rows_.context(row))[len("shared "):]
            acts = []
            for action in rows_.actions(row):
                line = action_lines.get(action.id)
                if line is None:
                    line = action_lines[action.id] = space.action_line(action)
                acts.append(line)
            return ctx, acts

        ws = self._workspace()
        try:
            order = np.random.default_rng(self.seed)
            for p in range(self.passes):
                rows = np.arange(log.n_rounds) if p == 0 else order.permutation(log.n_rounds)
                for row in tqdm(rows, desc=f"reward model pass {p + 1}", disable=not progress, unit="ev"):
                    row = int(row)
                    ctx, acts = lines(row)
                    ws.learn(f"{float(log.reward[row]):.9g} {ctx} {acts[log.action[row]]}")
            out = np.zeros(log.candidates.shape)
            distinct, first = rows_.distinct()
            for row in tqdm(distinct, desc="reward model predict", disable=not progress, unit="ctx"):
                ctx, acts = lines(int(row))
                out[row, : len(acts)] = [ws.predict(f"{ctx} {a}") for a in acts]
            out = out[first]
        finally:
            ws.finish()
        np.clip(out, log.reward.min(), log.reward.max(), out=out)
        out[log.candidates < 0] = 0.0
        return out
