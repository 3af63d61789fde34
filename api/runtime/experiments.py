"""Experiments in serving: users hashed into arms, each arm's policy serving its users, and the
result per arm with an always-valid confidence sequence for the difference between arms.

A user's arm is a salted hash of the user id (`Experiment.arm_for`), so it stays the same for
the experiment's life in every serving process, with nothing stored per user. The arm a decision was served by is
logged with it: the arm's policy is the decision's policy.
"""
from __future__ import annotations

import time
from typing import Any, Mapping

import numpy as np

from artwork.errors import NotFoundError
from artwork.experiments import Experiment
from artwork.join import RewardFn
from artwork.store import Store
from simulator.confidence_sequences import ConfidenceSequence, user_contrasts

from api.runtime.policies import wanted
from api.runtime.stats import rate_interval

# The confidence sequences of experiments: 95%, tightest around this many users.
EXPERIMENT_CS = ConfidenceSequence(alpha=0.05, tuned_for=5_000)


def start_experiment(store: Store, name: str, arms: Mapping[str, float],
                     policy_spec: str) -> Experiment:
    """Start an experiment whose arms are policies of the lineup (the champion, challengers)."""
    champion, shadows = wanted(store, policy_spec)
    known = {champion.name, *(m.name for m in shadows)}
    unknown = [a for a in arms if a not in known]
    if unknown:
        raise NotFoundError(f"no policy named {', '.join(map(repr, unknown))}; an arm is the "
                            f"champion or a challenger ({', '.join(sorted(known))}); add one "
                            "with `artbandit policy add`", kind="policy")
    return store.experiments.start(name, arms)


def experiment_stats(store: Store, name: str, *, window: float, reward_of: RewardFn,
                     now: float | None = None,
                     sequence: ConfidenceSequence = EXPERIMENT_CS) -> dict[str, Any]:
    """Per arm: decisions, take rate with its interval; each arm against the first: the
    difference of per-user take rates with its confidence sequence (valid whenever looked at)."""
    exp = store.experiments.get(name)
    end = exp.stopped if exp.stopped is not None else (now or time.time())
    names = [a for a, _ in exp.arms]
    rows = [(p.decision.policy, p.reward, p.decision.user_id)
            for p in store.learning_pairs(window, reward_of, now=now)
            if exp.started <= p.decision.timestamp <= end and p.decision.policy in names]
    policy = np.array([r[0] for r in rows], dtype=object)
    reward = np.array([r[1] for r in rows], dtype=np.float64)
    users = np.array([r[2] for r in rows], dtype=object)
    arms = []
    for arm, share in exp.arms:
        mine = reward[policy == arm] if len(rows) else reward
        rate, low, high = rate_interval(int(mine.sum()), len(mine))
        arms.append({"arm": arm, "share": share, "decisions": len(mine), "take_rate": rate,
                     "take_rate_low": low, "take_rate_high": high})
    differences = []
    base, base_share = exp.arms[0]
    for arm, share in exp.arms[1:]:
        pair = (policy == base) | (policy == arm) if len(rows) else np.zeros(0, dtype=bool)
        entry: dict[str, Any] = {"arm": arm, "against": base, "difference": None, "low": None,
                                 "high": None, "separated": False, "users": 0}
        if pair.any():
            psi = user_contrasts(users[pair], policy[pair] == arm, reward[pair],
                                 base_share / 100, share / 100)
            path = sequence.path(psi, [len(psi)])
            low, high = float(path.low[-1]), float(path.high[-1])
            entry.update(difference=float(path.mean[-1]), low=low if np.isfinite(low) else None,
                         high=high if np.isfinite(high) else None,
                         separated=bool(path.excludes()[-1]), users=len(psi))
        differences.append(entry)
    return {"experiment": exp.name, "running": exp.running, "started": exp.started,
            "stopped": exp.stopped, "confidence": 1 - sequence.alpha, "arms": arms,
            "differences": differences}


def stop_experiment(store: Store, name: str, *, window: float, reward_of: RewardFn) -> Experiment:
    """Stop an experiment and record its result (the stats as they stand)."""
    store.experiments.get(name)
    result = experiment_stats(store, name, window=window, reward_of=reward_of)
    return store.experiments.stop(name, result)
