"""Reports: evaluation and simulation tables as terminal text, Markdown and JSON, plus plots, in one folder."""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Mapping, Sequence

from simulator.evaluation import PolicyEvaluation
from simulator.online import SimulationResult
from simulator.plots import plot_estimates, plot_learning_curves, plot_regret, plot_take_rate

__all__ = [
    "SIMULATION_COLUMNS",
    "evaluation_rows",
    "format_markdown",
    "format_table",
    "write_evaluation_report",
    "write_simulation_report",
]

_EVAL_COLUMNS = ("policy", "estimator", "value", "ci_low", "ci_high", "ess", "n_matched", "warnings")
SIMULATION_COLUMNS = ("policy", "take_rate", "expected_take_rate", "oracle_take_rate", "fraction_of_oracle",
                "regret", "regret_per_round")


def evaluation_rows(evaluations: Sequence[PolicyEvaluation]) -> list[dict[str, Any]]:
    """One flat row per (policy, estimator)."""
    rows = []
    for ev in evaluations:
        for est in ev.estimates:
            rows.append({"policy": ev.policy, "learning": ev.learning, **est.as_dict()})
    return rows


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.4f}" if abs(value) < 1000 else f"{value:.0f}"
    if isinstance(value, (list, tuple)):
        return f"{len(value)} warning(s)" if value else ""
    return "" if value is None else str(value)


def format_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] = _EVAL_COLUMNS) -> str:
    """A fixed-width text table for the terminal."""
    cells = [[_cell(r.get(c)) for c in columns] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    line = lambda values: "  ".join(v.ljust(w) for v, w in zip(values, widths)).rstrip()  # noqa: E731
    out = [line(columns), line(["-" * w for w in widths])] + [line(r) for r in cells]
    return "\n".join(out)


def format_markdown(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] = _EVAL_COLUMNS) -> str:
    """A Markdown table."""
    out = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    out += ["| " + " | ".join(_cell(r.get(c)).replace("|", "\\|") for c in columns) + " |" for r in rows]
    return "\n".join(out)


def _warnings_md(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    lines = []
    for r in rows:
        for w in r.get("warnings") or ():
            lines.append(f"- **{r['policy']} / {r['estimator']}**: {w}")
    return ["", "## Warnings", "", *lines] if lines else []


def _json_ready(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    return value


def write_evaluation_report(out_dir: str | Path, evaluations: Sequence[PolicyEvaluation],
                            meta: Mapping[str, Any]) -> dict[str, Path]:
    """Write report.md, report.json, estimates.png and (for learning policies) learning_curves.png."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = evaluation_rows(evaluations)
    paths = {"markdown": out / "report.md", "json": out / "report.json"}
    header = [f"# Off-policy evaluation of {meta.get('log', 'the log')}", ""]
    header += [f"- {k}: {v}" for k, v in meta.items()]
    body = header + ["", format_markdown(rows), *_warnings_md(rows), "", "![estimates](estimates.png)"]
    curves = [ev.curve for ev in evaluations if ev.curve is not None]
    if curves:
        body.append("![learning curves](learning_curves.png)")
        paths["learning_curves"] = plot_learning_curves(curves, out / "learning_curves.png")
    paths["estimates"] = plot_estimates(evaluations, out / "estimates.png")
    paths["markdown"].write_text("\n".join(body) + "\n")
    paths["json"].write_text(json.dumps(_json_ready({"meta": dict(meta), "estimates": rows}), indent=2) + "\n")
    return paths


def write_simulation_report(out_dir: str | Path, result: SimulationResult,
                            meta: Mapping[str, Any]) -> dict[str, Path]:
    """Write summary.md, summary.json, take_rate.png and regret.png."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = result.summary()
    paths = {
        "markdown": out / "summary.md",
        "json": out / "summary.json",
        "take_rate": plot_take_rate(result, out / "take_rate.png"),
        "regret": plot_regret(result, out / "regret.png"),
    }
    body = [f"# Online simulation: {result.n_rounds} rounds", ""] + [f"- {k}: {v}" for k, v in meta.items()]
    body += ["", format_markdown(rows, SIMULATION_COLUMNS), "", "![take rate](take_rate.png)", "![regret](regret.png)"]
    paths["markdown"].write_text("\n".join(body) + "\n")
    curves = {
        "rounds": result.rounds.tolist(),
        "oracle_take_rate": result.oracle_take_rate.tolist(),
        "best_nonpersonalized_take_rate": result.nonpersonalized_take_rate.tolist(),
        "policies": {o.name: {"take_rate": o.take_rate.tolist(), "expected_take_rate": o.expected_take_rate.tolist(),
                              "regret": o.regret.tolist()} for o in result.outcomes},
    }
    paths["json"].write_text(json.dumps(_json_ready({"meta": dict(meta), "summary": rows, "curves": curves}),
                                        indent=2) + "\n")
    return paths
