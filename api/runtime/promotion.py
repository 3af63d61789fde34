"""Promotion only on evidence: a challenger replaces the champion when the logs show it better.

Both are evaluated on the same logged decisions (those where each gave its pmf, served or in
shadow), so the difference of their self-normalized IPS estimates is paired and its interval
(delta method over the four per-row components) is much narrower than two separate ones.
The challenger is promoted when the interval's lower bound is above the configured margin;
otherwise the promotion is refused, unless forced. Every outcome is kept in the audit trail
with its evidence, and every serving process switches champion at its next lineup refresh.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from statistics import NormalDist
from typing import Any

import numpy as np

from artwork.audit import AuditEntry
from artwork.store import RewardFn, Store
from simulator.errors import NoEvidenceError
from simulator.estimator_base import ratio_gradient
from simulator.policy_logs import policy_log
from simulator.statistics import components

from api.errors import InvalidRequestError
from api.runtime.policies import configured_champion, wanted

# The audit actions of a promotion: done on evidence, refused, or forced against it.
PROMOTED, REFUSED, OVERRIDDEN = "promote", "promote-refused", "promote-forced"


@dataclass(frozen=True)
class Evidence:
    """The paired offline comparison of a challenger with the champion on the same decisions."""

    challenger: str
    champion: str
    estimator: str
    challenger_value: float
    champion_value: float
    difference: float
    ci_low: float
    ci_high: float
    confidence: float
    n_rounds: int
    margin: float

    @property
    def shown_better(self) -> bool:
        """Whether the whole interval of the improvement lies above the margin."""
        return bool(self.ci_low > self.margin)

    def as_dict(self) -> dict[str, Any]:
        """Plain values (the audit trail's detail, JSON output)."""
        return asdict(self)


@dataclass(frozen=True)
class Outcome:
    """What `promote` did: its audit action, the evidence (None: none was logged), the entry."""

    action: str
    evidence: Evidence | None
    entry: AuditEntry

    @property
    def promoted(self) -> bool:
        """Whether the challenger is the champion now."""
        return self.action != REFUSED


def paired_snips(log, challenger_pmf: np.ndarray, champion_pmf: np.ndarray,
                 confidence: float) -> tuple[float, float, float, float]:
    """(challenger value, champion value, difference, its half-width) by SNIPS on the same rows."""
    rows = np.arange(log.n_rounds)
    w_c = challenger_pmf[rows, log.action] / log.pscore
    w_0 = champion_pmf[rows, log.action] / log.pscore
    stats = components(("wr_c", "w_c", "wr_0", "w_0"),
                       [w_c * log.reward, w_c, w_0 * log.reward, w_0])
    m = stats.means()
    if m[1] <= 0 or m[3] <= 0:
        raise NoEvidenceError("the logged decisions give no weight to one of the two policies; "
                              "serve more traffic with the challenger in shadow")
    value_c, value_0 = m[0] / m[1], m[2] / m[3]
    gradient = np.concatenate([ratio_gradient(m[0], m[1]), -ratio_gradient(m[2], m[3])])
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    return float(value_c), float(value_0), float(value_c - value_0), z * stats.delta_se(gradient)


def compare(store: Store, challenger: str, policy_spec: str, *, window: float,
            reward_of: RewardFn, margin: float = 0.0, confidence: float = 0.95,
            now: float | None = None) -> Evidence:
    """The challenger against the champion serving now, on the decisions where both gave a pmf."""
    champion = wanted(store, policy_spec)[0].name
    if challenger == champion:
        raise InvalidRequestError(f"{challenger!r} is already the champion")
    store.policies.get(challenger)  # NotFoundError for an unknown name
    logged = policy_log(store, [challenger, champion], window=window, reward_of=reward_of, now=now)
    value_c, value_0, diff, half = paired_snips(
        logged.log, logged.target(challenger), logged.target(champion), confidence)
    return Evidence(challenger, champion, "snips", value_c, value_0, diff, diff - half,
                    diff + half, confidence, logged.log.n_rounds, margin)


def promote(store: Store, challenger: str, policy_spec: str, *, window: float,
            reward_of: RewardFn, margin: float = 0.0, force: bool = False,
            now: float | None = None) -> Outcome:
    """Promote `challenger` if the logs show it better than the champion (or if forced); audited."""
    try:
        evidence: Evidence | None = compare(store, challenger, policy_spec, window=window,
                                            reward_of=reward_of, margin=margin, now=now)
    except NoEvidenceError:
        if not force:
            raise
        evidence = None
    detail: dict[str, Any] = {"policy": challenger, "forced": force,
                              "evidence": None if evidence is None else evidence.as_dict()}
    if evidence is not None and evidence.shown_better:
        action = PROMOTED
    else:
        action = OVERRIDDEN if force else REFUSED
    if action != REFUSED:
        configured = configured_champion(policy_spec)
        record = store.policies.get(challenger)
        store.policies.make_champion(record.name, record.spec,
                                     former=(configured.name, configured.spec))
    entry = store.audit.record([(action, "", None, detail)])[0]
    return Outcome(action, evidence, entry)
