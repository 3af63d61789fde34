"""Replays of the store's decision log through chosen policies, and the report folders they write.

Reports live under `<data_dir>/reports/`, one folder each (a replay's report.json or a
simulation's summary.json, and PNG plots); replays run in the background, one at a time.
"""
from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from artwork.join import RewardFn
from artwork.store import Store
from bandit.errors import PolicySpecError
from simulator.estimators import ESTIMATORS, Estimator, make_estimator
from simulator.reports import SIMULATION_COLUMNS, write_evaluation_report
from simulator.replay import replay_log
from simulator.specs import PolicySpec, parse_policy_specs
from simulator.store_log import load_store_log

from api.config import Config
from api.errors import InvalidRequestError, NotReadyError, UnknownIdError
from api.runtime.actions import catalog_actions
from api.runtime.background import BackgroundRunner, Progress

REPORTS_FOLDER = "reports"
EVALUATION_COLUMNS = ("policy", "estimator", "value", "ci_low", "ci_high", "ess", "n_matched")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


@dataclass(frozen=True)
class ReportFolder:
    """One report folder: its table (from report.json or summary.json) and its plots."""

    name: str
    kind: str  # "evaluation" (replay of a log) or "simulation" (synthetic world)
    modified: float
    meta: Mapping[str, Any]
    columns: tuple[str, ...]
    rows: tuple[Mapping[str, Any], ...]
    plots: tuple[str, ...]
    warnings: tuple[str, ...] = field(default_factory=tuple)


def _read_folder(path: Path) -> ReportFolder | None:
    for filename, kind, key, columns in (("report.json", "evaluation", "estimates", EVALUATION_COLUMNS),
                                         ("summary.json", "simulation", "summary", SIMULATION_COLUMNS)):
        table = path / filename
        if table.is_file():
            try:
                data = json.loads(table.read_text())
            except (OSError, ValueError):
                return None  # half-written or foreign: not listed
            rows = tuple(data.get(key) or ())
            warnings = tuple(f"{r.get('policy')} / {r.get('estimator')}: {w}"
                             for r in rows for w in (r.get("warnings") or ()))
            return ReportFolder(path.name, kind, table.stat().st_mtime, data.get("meta") or {},
                                columns, rows, tuple(sorted(p.name for p in path.glob("*.png"))), warnings)
    return None


def list_reports(root: Path) -> list[ReportFolder]:
    """Every report folder directly under `root`, newest first."""
    if not root.is_dir():
        return []
    found = [_read_folder(p) for p in root.iterdir() if p.is_dir() and _NAME.fullmatch(p.name)]
    return sorted((r for r in found if r is not None), key=lambda r: (-r.modified, r.name))


def read_report(root: Path, name: str) -> ReportFolder:
    """One report folder by name; UnknownIdError for a name that is not a report folder under `root`."""
    report = _read_folder(root / name) if _NAME.fullmatch(name) and (root / name).is_dir() else None
    if report is None:
        raise UnknownIdError(f"no report {name!r}")
    return report


class ReplayRunner:
    """Replays of the store's decision log through chosen policies, one at a time in a thread."""

    def __init__(self, store: Store, root: Path, *, window: float, reward_of: RewardFn,
                 embed_dim: int = 8, seed: int = 0) -> None:
        self.store, self.root = store, root
        self.window, self.reward_of = window, reward_of
        self.embed_dim, self.seed = embed_dim, seed
        self.runner = BackgroundRunner(root / ".runs", "replay run", again="start the replay again")

    @classmethod
    def for_config(cls, store: Store, config: Config) -> "ReplayRunner":
        """A runner over `store`, with the configured reward window and weights."""
        return cls(store, config.data_dir / REPORTS_FOLDER, window=config.reward_window,
                   reward_of=config.reward_mapping, embed_dim=config.embed_dim,
                   seed=0 if config.seed is None else config.seed)

    def submit(self, policies: Sequence[str], estimators: Sequence[str]) -> dict[str, Any]:
        """Check the policies and estimators, then queue the replay; returns the run record."""
        specs = parse_policy_specs(list(policies))
        for spec in specs:
            if spec.kind == "file":
                raise PolicySpecError(f"policy {spec.name!r}: probability files cannot be replayed "
                                      "here; choose a built-in policy")
        if not estimators:
            raise InvalidRequestError(f"choose at least one estimator ({', '.join(ESTIMATORS)})")
        chosen = [make_estimator(name, seed=self.seed) for name in estimators]
        fields = {"stage": "waiting to start", "policies": [s.name for s in specs],
                  "estimators": [e.name for e in chosen], "report": None}
        return self.runner.submit(fields, lambda run_id, progress: self._run(run_id, progress, specs, chosen))

    def _run(self, run_id: str, progress: Progress, specs: list[PolicySpec],
             estimators: list[Estimator]) -> dict[str, Any]:
        started = time.perf_counter()
        progress(0.02, "reading the decision log")
        feedback = load_store_log(self.store, window=self.window, reward_of=self.reward_of)
        if feedback is None:
            raise NotReadyError(
                f"the decision log has no decision whose {self.window:g}-second reward window has "
                "closed yet; serve some traffic and try again later")
        catalog = catalog_actions(self.store, feedback.action_names, self.embed_dim)
        evaluations = replay_log(feedback, specs, estimators, catalog=catalog, seed=self.seed,
                                 on_stage=lambda stage, done: progress(done, stage))
        progress(0.97, "writing the report")
        name = time.strftime("replay-%Y%m%d-%H%M%S-", time.localtime()) + run_id[:6]
        meta = {"log": "the store's decision log", "n_rounds": feedback.n_rounds,
                "n_actions": feedback.n_actions, "mean_logged_reward": float(feedback.reward.mean()),
                "estimators": ",".join(e.name for e in estimators), "reward_window": self.window,
                "seconds": round(time.perf_counter() - started, 2)}
        write_evaluation_report(self.root / name, evaluations, meta)
        return {"stage": "done", "report": name}

    def get(self, run_id: str) -> dict[str, Any]:
        """The run's current record; UnknownIdError for an unknown id."""
        return self.runner.get(run_id)

    def close(self) -> None:
        """Wait for the running replay and stop."""
        self.runner.close()

