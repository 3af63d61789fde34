"""One call for a whole offline replay: reward model if needed, then every policy evaluated."""
from __future__ import annotations

from typing import Callable, Mapping, Sequence

from bandit.types import Action

from simulator.estimators import Estimator
from simulator.evaluation import PolicyEvaluation, evaluate_policies
from simulator.logs import LoggedFeedback
from simulator.model_based import DirectMethod
from simulator.reward_model import RewardModel
from simulator.specs import PolicySpec


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
    """Evaluate every policy on the log; fits the reward model first when a model-based estimator is asked.

    `on_stage(stage, fraction_done)` is called as the work advances.
    """
    stage = on_stage or (lambda _stage, _done: None)
    rewards = None
    needs_model = [e for e in estimators if e.needs_rewards]
    if needs_model:
        # The direct method's interval needs the model refitted on bootstrap resamples.
        refits = max((e.n_bootstrap for e in needs_model if isinstance(e, DirectMethod)), default=0)
        stage(f"fitting the reward model ({', '.join(e.name for e in needs_model)})", 0.1)
        rewards = RewardModel(seed=seed).fit(log, catalog, bootstrap=refits, progress=progress)
    evaluations: list[PolicyEvaluation] = []
    for i, spec in enumerate(specs):
        stage(f"evaluating {spec.name} ({i + 1} of {len(specs)})", 0.2 + 0.75 * i / len(specs))
        evaluations += evaluate_policies(log, [spec], estimators, estimated_rewards=rewards,
                                         catalog=catalog, seed=seed, progress=progress)
    return evaluations
