"""PNG plots of evaluations and simulations (matplotlib, Agg backend: no display needed)."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from simulator.evaluation import LearningCurve, PolicyEvaluation
from simulator.online import SimulationResult

if TYPE_CHECKING:
    import matplotlib.pyplot as plt

__all__ = ["plot_estimates", "plot_learning_curves", "plot_regret", "plot_take_rate"]


def _pyplot() -> Any:
    """matplotlib's pyplot on the Agg backend, imported when a plot is drawn: importing it takes
    a few tenths of a second, which every process that reads a log would pay (a Dask worker too)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as pyplot

    return pyplot


def _save(fig: plt.Figure, ax: plt.Axes, path: Path, grid_axis: str = "both") -> Path:
    ax.grid(axis=grid_axis, alpha=0.3)
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    _pyplot().close(fig)
    return path


def plot_estimates(evaluations: Sequence[PolicyEvaluation], path: str | Path) -> Path:
    """Each policy's estimates with their confidence intervals, one marker per estimator."""
    path = Path(path)
    names = [e.policy for e in evaluations]
    estimators = list(dict.fromkeys(est.estimator for e in evaluations for est in e.estimates))
    fig, ax = _pyplot().subplots(figsize=(max(6.0, 1.4 * len(names) + 2), 4.5))
    width = 0.8 / max(1, len(estimators))
    for j, name in enumerate(estimators):
        xs, ys, lo, hi = [], [], [], []
        for i, ev in enumerate(evaluations):
            est = next((x for x in ev.estimates if x.estimator == name), None)
            if est is None or not np.isfinite(est.value):
                continue
            xs.append(i - 0.4 + width * (j + 0.5))
            ys.append(est.value)
            lo.append(est.ci_low)
            hi.append(est.ci_high)
        # The interval is drawn from its ends, not as errors around the value: an interval
        # kept within the reward range may leave out an estimate outside it (DR can be < 0).
        marker = ax.plot(xs, ys, "o", label=name)[0]
        ax.vlines(xs, lo, hi, color=marker.get_color())
    ax.set_xticks(range(len(names)), names, rotation=20, ha="right")
    ax.set_ylabel("estimated take rate")
    level = evaluations[0].estimates[0].confidence if evaluations and evaluations[0].estimates else 0.95
    ax.set_title(f"Off-policy estimates with {level:.0%} confidence intervals")
    return _save(fig, ax, path, grid_axis="y")


def plot_learning_curves(curves: Sequence[LearningCurve], path: str | Path, *, ylabel: str = "replay take rate",
                         title: str = "Learning policies replayed through the log") -> Path:
    """Running estimates of learning policies over the events processed."""
    path = Path(path)
    fig, ax = _pyplot().subplots(figsize=(7, 4.5))
    for curve in curves:
        ax.plot(curve.rounds, curve.value, label=curve.name)
    ax.set_xlabel("logged events")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    return _save(fig, ax, path)


def plot_take_rate(result: SimulationResult, path: str | Path) -> Path:
    """Expected take rate so far of each policy against the oracle and the best non-personalized artwork."""
    path = Path(path)
    fig, ax = _pyplot().subplots(figsize=(7, 4.5))
    ax.plot(result.rounds, result.oracle_take_rate, "k--", label="oracle")
    ax.plot(result.rounds, result.nonpersonalized_take_rate, "k:", label="best non-personalized")
    for o in result.outcomes:
        ax.plot(result.rounds, o.expected_take_rate, label=o.name)
    ax.set_xlabel("rounds")
    ax.set_ylabel("take rate so far (expected)")
    ax.set_title(f"Online simulation (world seed {result.world_seed})")
    return _save(fig, ax, path)


def plot_regret(result: SimulationResult, path: str | Path) -> Path:
    """Cumulative expected regret against the oracle."""
    path = Path(path)
    fig, ax = _pyplot().subplots(figsize=(7, 4.5))
    for o in result.outcomes:
        ax.plot(result.rounds, o.regret, label=o.name)
    ax.set_xlabel("rounds")
    ax.set_ylabel("cumulative regret (expected plays lost)")
    ax.set_title("Regret against the oracle")
    return _save(fig, ax, path)
