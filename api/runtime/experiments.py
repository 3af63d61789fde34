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

from api.errors import InvalidRequestError
from api.runtime.policies import wanted
from api.runtime.stats import rate_interval

# The confidence sequences of experiments: 95%, tightest around this many users.
EXPERIMENT_CS = ConfidenceSequence(alpha=0.05, tuned_for=5_000)
# The most checkpoints a path over time is computed at.
MAX_PATH_POINTS = 500


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


def _arm_rows(store: Store, exp: Experiment, *, window: float, reward_of: RewardFn,
              now: float | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The decisions the arms served while the experiment ran whose reward window has closed,
    in log order (by time): (policy, reward, user id, timestamp) arrays."""
    end = exp.stopped if exp.stopped is not None else (now or time.time())
    names = [a for a, _ in exp.arms]
    rows = [(p.decision.policy, p.reward, p.decision.user_id, p.decision.timestamp)
            for p in store.learning_pairs(window, reward_of, now=now, since=exp.started)
            if exp.started <= p.decision.timestamp <= end and p.decision.policy in names]
    return (np.array([r[0] for r in rows], dtype=object),
            np.array([r[1] for r in rows], dtype=np.float64),
            np.array([r[2] for r in rows], dtype=object),
            np.array([r[3] for r in rows], dtype=np.float64))


def experiment_stats(store: Store, name: str, *, window: float, reward_of: RewardFn,
                     now: float | None = None,
                     sequence: ConfidenceSequence = EXPERIMENT_CS) -> dict[str, Any]:
    """Per arm: decisions, take rate with its interval; each arm against the first: the
    difference of per-user take rates with its confidence sequence (valid whenever looked at)."""
    exp = store.experiments.get(name)
    policy, reward, users, _ = _arm_rows(store, exp, window=window, reward_of=reward_of, now=now)
    arms = []
    for arm, share in exp.arms:
        mine = reward[policy == arm] if len(policy) else reward
        rate, low, high = rate_interval(int(mine.sum()), len(mine))
        arms.append({"arm": arm, "share": share, "decisions": len(mine), "take_rate": rate,
                     "take_rate_low": low, "take_rate_high": high})
    differences = []
    base, base_share = exp.arms[0]
    for arm, share in exp.arms[1:]:
        pair = (policy == base) | (policy == arm) if len(policy) else np.zeros(0, dtype=bool)
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


def experiment_path(store: Store, name: str, *, window: float, reward_of: RewardFn,
                    points: int = 20, now: float | None = None,
                    sequence: ConfidenceSequence = EXPERIMENT_CS) -> dict[str, Any]:
    """Each arm against the first at `points` times from the start to now (or the stop): the
    difference of per-user take rates and its confidence sequence over the users seen by then.

    One pass: the users, in the order they were first seen, are the sequence's observations
    (each with their take rate over the decisions closed so far) and a checkpoint is how many
    had been seen at its time. The sequence holds at every checkpoint at once, and the last
    point is `experiment_stats`' difference. Times before the first user have no point.
    """
    if not 2 <= points <= MAX_PATH_POINTS:
        raise InvalidRequestError(f"points {points!r} must be between 2 and {MAX_PATH_POINTS}")
    exp = store.experiments.get(name)
    now = time.time() if now is None else now
    end = exp.stopped if exp.stopped is not None else now
    policy, reward, users, at = _arm_rows(store, exp, window=window, reward_of=reward_of, now=now)
    times = np.linspace(exp.started, max(end, exp.started), points)
    base, base_share = exp.arms[0]
    differences = []
    for arm, share in exp.arms[1:]:
        pair = (policy == base) | (policy == arm)
        entry: dict[str, Any] = {"arm": arm, "against": base, "points": []}
        if pair.any():
            psi = user_contrasts(users[pair], policy[pair] == arm, reward[pair],
                                 base_share / 100, share / 100)
            _, first = np.unique(users[pair], return_index=True)
            seen = np.searchsorted(np.sort(at[pair][first]), times, side="right")
            path = sequence.path(psi, seen[seen > 0])
            entry["points"] = [
                {"at": float(t), "users": int(n), "difference": float(m), "low": float(lo),
                 "high": float(hi)}
                for t, n, m, lo, hi in zip(times[seen > 0], path.n, path.mean, path.low, path.high)]
        differences.append(entry)
    return {"experiment": exp.name, "started": exp.started, "end": float(end),
            "confidence": 1 - sequence.alpha, "differences": differences}


def stop_experiment(store: Store, name: str, *, window: float, reward_of: RewardFn) -> Experiment:
    """Stop an experiment and record its result (the stats as they stand)."""
    store.experiments.get(name)
    result = experiment_stats(store, name, window=window, reward_of=reward_of)
    return store.experiments.stop(name, result)
