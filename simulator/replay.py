"""One call for a whole offline replay: reward model if needed, then every policy evaluated."""
from __future__ import annotations

from typing import Callable, Mapping, Sequence

from bandit.types import Action

from simulator.estimators import Estimator
from simulator.evaluation import PolicyEvaluation, evaluate_policies
from simulator.logs import LoggedFeedback
from simulator.reward_model import VWRewardModel
from simulator.specs import PolicySpec

MODEL_BASED = ("dm", "dr")


def replay_log(
    log: LoggedFeedback,
    specs: Sequence[PolicySpec],
    estimators: Sequence[Estimator],
    *,
    catalog: Mapping[str, Action] | None = None,
    seed: int = 0,
    progress: bool = False,
    on_stage: Callable[[str, float], None] | None = None,
) -> list[PolicyEvaluation]:
    """Evaluate every policy on the log; fits the VW reward model first when DM or DR is asked.

    `on_stage(stage, fraction_done)` is called as the work advances.
    """
    stage = on_stage or (lambda _stage, _done: None)
    rewards = None
    if any(e.name in MODEL_BASED for e in estimators):
        stage("fitting the reward model (for dm and dr)", 0.1)
        rewards = VWRewardModel(seed=seed).fit_predict(log, catalog, progress=progress)
    evaluations: list[PolicyEvaluation] = []
    for i, spec in enumerate(specs):
        stage(f"evaluating {spec.name} ({i + 1} of {len(specs)})", 0.2 + 0.75 * i / len(specs))
        evaluations += evaluate_policies(log, [spec], estimators, estimated_rewards=rewards,
                                         catalog=catalog, seed=seed, progress=progress)
    return evaluations
