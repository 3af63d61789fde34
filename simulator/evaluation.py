"""Evaluated policies on a log: pmfs of fixed policies, replay of learning ones, external probability files."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from tqdm import tqdm

from bandit.policy import Policy
from bandit.types import Action

from simulator.errors import ExternalPolicyError, InvalidLogError
from simulator.estimators import Estimate, Estimator, Replay
from simulator.logs import BanditRows, LoggedFeedback
from simulator.rowwise import RowPmf, first_true, row_sums
from simulator.specs import PolicySpec, probability_file

__all__ = [
    "LearningCurve",
    "PolicyEvaluation",
    "PolicyRun",
    "evaluate_policies",
    "external_pmf",
    "policy_pmf",
    "replay_learning",
    "run_policy",
]


@dataclass(frozen=True)
class LearningCurve:
    """A value over time: `rounds[j]` events processed, `value[j]` the running estimate there."""

    name: str
    rounds: np.ndarray
    value: np.ndarray


@dataclass(frozen=True)
class PolicyRun:
    """What one evaluated policy did on a log: its pmf on each row and, if it learned, its replay matches."""

    name: str
    target_pmf: np.ndarray
    learning: bool = False
    matched: np.ndarray | None = None
    curve: LearningCurve | None = None


@dataclass(frozen=True)
class PolicyEvaluation:
    """All estimates for one policy."""

    policy: str
    learning: bool
    estimates: tuple[Estimate, ...]
    curve: LearningCurve | None = None


def _fill(out: np.ndarray, row: int, pmf: Sequence[float]) -> None:
    out[row, : len(pmf)] = pmf


def policy_pmf(policy: Policy, log: LoggedFeedback, catalog: Mapping[str, Action] | None = None,
               *, progress: bool = False) -> np.ndarray:
    """The policy's pmf on every logged row, as it stands (no learning), shape (n_rounds, max_candidates)."""
    return np.asarray(policy_row_pmf(policy, log, catalog, progress=progress))


def policy_row_pmf(policy: Policy, log: LoggedFeedback, catalog: Mapping[str, Action] | None = None,
                   *, progress: bool = False) -> RowPmf:
    """The policy's pmf on every logged row, as it stands, computed and kept once per distinct row."""
    cache = BanditRows(log, catalog)
    rows, index = cache.distinct()
    out = np.zeros((rows.shape[0], log.max_candidates))
    for at, row in enumerate(tqdm(rows, desc=f"pmf {policy.name}", disable=not progress, unit="ctx")):
        row = int(row)
        _fill(out, at, policy.pmf(cache.context(row), cache.actions(row)))
    return RowPmf(out, rows, index)


def replay_learning(policy: Policy, log: LoggedFeedback, catalog: Mapping[str, Action] | None = None,
                    *, progress: bool = False, curve_points: int = 100) -> PolicyRun:
    """Run a learning policy through the log in order; it learns only on events where it agrees with the log.

    Records the policy's pmf at each row (for IPS-style estimates of the adaptive policy) and the
    running replay estimate (matched rewards weighted by 1 / pscore) as a learning curve.
    """
    cache = BanditRows(log, catalog)
    n = log.n_rounds
    out = np.zeros(log.candidates.shape)
    matched = np.zeros(n, dtype=bool)
    logged_action, reward = log.action, log.reward
    for row in tqdm(range(n), desc=f"replay {policy.name}", disable=not progress, unit="ev"):
        context, actions = cache.context(row), cache.actions(row)
        decision = policy.decide(context, actions, event_id=str(row))
        _fill(out, row, decision.pmf)
        if decision.chosen == logged_action[row]:
            matched[row] = True
            policy.learn(context, actions, decision, float(reward[row]))
    w = np.where(matched, 1.0 / log.pscore, 0.0)
    cum_w, cum_wr = np.cumsum(w), np.cumsum(w * log.reward)
    points = np.unique(np.linspace(1, n, min(curve_points, n)).astype(np.int64)) if n else np.zeros(0, np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        value = cum_wr[points - 1] / cum_w[points - 1]
    curve = LearningCurve(policy.name, points, value)
    return PolicyRun(policy.name, out, learning=True, matched=matched, curve=curve)


def external_pmf(path: str | Path, log: LoggedFeedback, *, part_of_log: bool = False) -> np.ndarray:
    """Per-row action probabilities from a file, aligned with the log's candidates.

    The file (CSV or Parquet) has one row per (event, artwork): `event_id` (or `row`, the log's
    1-based row number in its file, whatever order the log is read in), `action` (artwork id)
    and `probability`. Artworks a row leaves out get probability 0; each event's probabilities
    must sum to 1. With `part_of_log` the log is one partition of a larger one, and the
    file's rows for events outside it are skipped.
    """
    path = Path(path)
    if not path.exists():
        raise ExternalPolicyError(f"{path}: no such probability file; pass file:PATH to an existing CSV or Parquet")
    try:
        table = pq.read_table(path) if path.suffix.lower() in (".parquet", ".pq") else pacsv.read_csv(
            path, convert_options=pacsv.ConvertOptions(column_types={"event_id": pa.string(), "action": pa.string()}))
    except (pa.ArrowInvalid, OSError) as exc:
        raise ExternalPolicyError(f"{path.name}: cannot be read ({exc})") from None
    cols = table.column_names
    key = "event_id" if "event_id" in cols else "row" if "row" in cols else None
    if key is None or "action" not in cols or "probability" not in cols:
        raise ExternalPolicyError(
            f"{path.name}: needs columns event_id (or row), action, probability; has {', '.join(cols)}")
    actions = [str(a) for a in table.column("action").to_pylist()]
    try:
        prob = np.asarray(table.column("probability").to_numpy(zero_copy_only=False), dtype=np.float64)
    except (TypeError, ValueError):
        raise ExternalPolicyError(f"{path.name}: column 'probability' holds a value that is not a number") from None
    if key == "event_id":
        if log.event_id is None:
            raise ExternalPolicyError(f"{path.name}: keyed by event_id but the log has no event ids; key it by row")
        index = {str(e): i for i, e in enumerate(log.event_id)}
        keys = [str(k) for k in table.column("event_id").to_pylist()]
        rows = np.fromiter((index.get(k, -1) for k in keys), dtype=np.int64, count=len(keys))
    else:
        keys = table.column("row").to_pylist()
        numbers = np.arange(1, log.n_rounds + 1) if log.row_number is None else log.row_number
        order = np.argsort(numbers, kind="stable")
        wanted = np.asarray([(-1 if k is None else int(k)) for k in keys], dtype=np.int64)
        at = np.minimum(np.searchsorted(numbers[order], wanted), max(log.n_rounds - 1, 0))
        rows = np.where(numbers[order][at] == wanted, order[at], -1) if log.n_rounds else wanted * 0 - 1
    if part_of_log:
        keep = np.flatnonzero(rows >= 0)
        rows, prob = rows[keep], prob[keep]
        actions, keys = [actions[i] for i in keep], [keys[i] for i in keep]
    if (rows < 0).any():
        bad = int(np.flatnonzero(rows < 0)[0])
        raise ExternalPolicyError(f"{path.name}, row {bad + 1}: {key} {keys[bad]!r} is not in the log")
    if not np.isfinite(prob).all() or (prob < 0).any() or (prob > 1).any():
        bad = int(np.flatnonzero(~(np.isfinite(prob) & (prob >= 0) & (prob <= 1)))[0])
        raise ExternalPolicyError(f"{path.name}, row {bad + 1}: probability {float(prob[bad])!r} is outside [0, 1]")
    name_index = {name: i for i, name in enumerate(log.action_names)}
    gid = np.fromiter((name_index.get(a, -2) for a in actions), dtype=np.int64, count=len(actions))
    slot, found = first_true(log.candidates[rows] == gid[:, None])
    if not found.all():
        bad = int(np.flatnonzero(~found)[0])
        raise ExternalPolicyError(
            f"{path.name}, row {bad + 1}: artwork {actions[bad]!r} is not a candidate of log row {rows[bad] + 1}")
    out = np.zeros(log.candidates.shape)
    counts = np.zeros(log.candidates.shape, dtype=np.int64)
    np.add.at(counts, (rows, slot), 1)
    if (counts > 1).any():
        r, s = np.argwhere(counts > 1)[0]
        raise ExternalPolicyError(
            f"{path.name}: artwork {log.action_names[log.candidates[r, s]]!r} of log row {r + 1} is given twice")
    out[rows, slot] = prob
    sums = row_sums(out)
    bad_rows = np.abs(sums - 1.0) > 1e-6
    if bad_rows.any():
        r = int(np.flatnonzero(bad_rows)[0])
        what = "has no probabilities" if sums[r] == 0 else f"probabilities sum to {sums[r]:.9g}, not 1"
        event = f" (event {log.event_id[r]})" if log.event_id is not None else ""
        raise ExternalPolicyError(f"{path.name}: log row {r + 1}{event} {what}")
    return out


def run_policy(spec: PolicySpec, log: LoggedFeedback, catalog: Mapping[str, Action] | None = None,
               *, seed: int = 0, progress: bool = False) -> PolicyRun:
    """Evaluate one spec on the log: pmf for fixed policies and files, replay for learning policies."""
    if spec.kind == "file":
        return PolicyRun(spec.name, external_pmf(probability_file(spec), log))
    if spec.kind == "logged":
        if log.pmf is None:
            raise InvalidLogError("policy 'logged' needs a log with a pmf column; this log only has propensities")
        return PolicyRun(spec.name, log.pmf)
    policy = spec.build(seed)
    if spec.learns:
        return replay_learning(policy, log, catalog, progress=progress)
    return PolicyRun(spec.name, policy_pmf(policy, log, catalog, progress=progress))


def evaluate_policies(
    log: LoggedFeedback,
    specs: Sequence[PolicySpec],
    estimators: Sequence[Estimator],
    *,
    estimated_rewards: np.ndarray | None = None,
    catalog: Mapping[str, Action] | None = None,
    seed: int = 0,
    progress: bool = False,
) -> list[PolicyEvaluation]:
    """Every estimator for every policy; learning policies get replay from their own run through the log."""
    if log.n_rounds == 0:
        raise InvalidLogError("the log has no rows; nothing to evaluate")
    results = []
    for spec in specs:
        run = run_policy(spec, log, catalog, seed=seed, progress=progress)
        estimates = []
        for est in estimators:
            if isinstance(est, Replay) and run.learning:
                estimates.append(est.from_matches(log, run.matched))
            else:
                estimates.append(est.estimate(log, run.target_pmf, estimated_rewards))
        results.append(PolicyEvaluation(spec.name, run.learning, tuple(estimates), run.curve))
    return results


