"""The policy life cycle in the studio: experiments (each arm's take rate, each arm's difference
from the first arm with its always-valid confidence sequence, over time) and the promotions,
refusals and overrides kept in the audit trail with their evidence. The numbers come from
api/runtime/experiments.py and api/runtime/promotion.py; these views only lay them out."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import render_template

from artwork.store import Store

from api.runtime.experiments import experiment_path, experiment_stats
from api.runtime.promotion import OVERRIDDEN, PROMOTED, REFUSED
from api.studio import charts
from api.studio.pages import bp
from api.web.current import services

# How many times the plot of a difference over time computes its confidence sequence at.
PATH_POINTS = 24
_OUTCOMES = {PROMOTED: "promoted", REFUSED: "refused", OVERRIDDEN: "forced"}

bp.app_template_filter("points")(charts.points_text)


@dataclass(frozen=True)
class PromotionLine:
    """One promotion, refusal or override: when, who, which challenger against which champion, the evidence."""

    at: float
    actor: str
    origin: str
    outcome: str
    challenger: str
    champion: str | None
    evidence: dict[str, Any] | None


def promotions(store: Store) -> list[PromotionLine]:
    """The policy life cycle's audited outcomes, the newest first."""
    lines = []
    for entry in store.audit.entries():
        if entry.action in _OUTCOMES:
            evidence = entry.detail.get("evidence")
            lines.append(PromotionLine(entry.at, entry.actor, entry.origin, _OUTCOMES[entry.action],
                                       entry.detail.get("policy", ""),
                                       evidence["champion"] if evidence else None, evidence))
    return lines[::-1]


@bp.get("/experiments")
def experiments():
    """Every experiment, running or stopped, and the promotions with their evidence."""
    store = services().store
    return render_template("experiments.html", experiments=store.experiments.list(),
                           promotions=promotions(store))


@bp.get("/experiments/<name>")
def experiment(name: str):
    """One experiment: per arm, its share, decisions and take rate; each arm against the first, over time."""
    svc = services()
    exp = svc.store.experiments.get(name)
    window, reward_of = svc.config.reward_window, svc.config.reward_mapping
    stats = dict(exp.result) if exp.result is not None else experiment_stats(
        svc.store, name, window=window, reward_of=reward_of)
    path = experiment_path(svc.store, name, window=window, reward_of=reward_of, points=PATH_POINTS)
    rates = charts.interval_chart([(a["arm"], a["take_rate"], a["take_rate_low"],
                                    a["take_rate_high"], "other") for a in stats["arms"]])
    plots = {d["arm"]: charts.path_chart(
        [(p["at"], p["difference"], p["low"], p["high"]) for p in d["points"]],
        start=path["started"], end=path["end"],
        label=f"Difference in take rate, {d['arm']} minus {d['against']}")
        for d in path["differences"]}
    return render_template("experiment.html", exp=exp, stats=stats, rates=rates, plots=plots,
                           path=path, window=window)
