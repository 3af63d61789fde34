"""The analysts' view: report folders under `<data_dir>/reports/`, and replays of the decision log
run in the background from a form, with their progress kept in JSON files any worker can read."""
from __future__ import annotations

import json
import logging
import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from flask import (Blueprint, current_app, jsonify, redirect, render_template, request,
                   send_from_directory, url_for)

from artwork.store import Store
from bandit.rewards import RewardMapping
from simulator.errors import PolicySpecError
from simulator.estimators import ESTIMATORS, Estimator, make_estimator
from simulator.reports import SIMULATION_COLUMNS, write_evaluation_report
from simulator.replay import replay_log
from simulator.specs import PolicySpec, parse_policy_specs

from api import studio_auth
from api.catalog import catalog_actions
from api.errors import BadRequest, NotFound
from api.records import RecordFolder
from api.services import Services, services
from api.studio_data import load_feedback

log = logging.getLogger(__name__)

bp = Blueprint("studio_reports", __name__, url_prefix="/studio/reports")
bp.before_request(studio_auth.guard)
bp.register_error_handler(Exception, studio_auth.error_page)

REPORTS_FOLDER = "reports"
EVALUATION_COLUMNS = ("policy", "estimator", "value", "ci_low", "ci_high", "ess", "n_matched")
DEFAULT_POLICIES = ("logged", "uniform", "default", "egreedy:0.1", "vw:squarecb")
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
    """One report folder by name; NotFound for a name that is not a report folder under `root`."""
    report = _read_folder(root / name) if _NAME.fullmatch(name) and (root / name).is_dir() else None
    if report is None:
        raise NotFound(f"no report {name!r}; the reports page lists them")
    return report


class ReplayRunner:
    """Replays of the store's decision log through chosen policies, one at a time in a thread."""

    def __init__(self, store: Store, root: Path, *, window: float, reward_of: RewardMapping,
                 embed_dim: int = 8, seed: int = 0) -> None:
        self.store, self.root = store, root
        self.window, self.reward_of = window, reward_of
        self.embed_dim, self.seed = embed_dim, seed
        self.records = RecordFolder(root / ".runs", "replay run")
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="replay")

    @classmethod
    def for_services(cls, svc: Services) -> "ReplayRunner":
        """A runner over the app's store, with its reward window and weights."""
        config = svc.config
        return cls(svc.store, config.data_dir / REPORTS_FOLDER, window=config.reward_window,
                   reward_of=config.reward_mapping, embed_dim=config.embed_dim,
                   seed=0 if config.seed is None else config.seed)

    def submit(self, policies: Sequence[str], estimators: Sequence[str]) -> dict[str, Any]:
        """Check the policies and estimators, then queue the replay; returns the run record."""
        specs = parse_policy_specs(list(policies))
        for spec in specs:
            if spec.kind == "file":
                raise PolicySpecError(f"policy {spec.name!r}: probability files are for the command line "
                                      "(artbandit replay); choose a built-in policy here")
        if not estimators:
            raise BadRequest(f"choose at least one estimator ({', '.join(ESTIMATORS)})")
        chosen = [make_estimator(name, seed=self.seed) for name in estimators]
        run_id = uuid.uuid4().hex
        run = {"id": run_id, "status": "queued", "progress": 0.0, "stage": "waiting to start",
               "policies": [s.name for s in specs], "estimators": [e.name for e in chosen],
               "created": time.time(), "report": None, "error": None}
        self._save(run)
        self._pool.submit(self._run, run, specs, chosen)
        return run

    def _run(self, run: dict, specs: list[PolicySpec], estimators: list[Estimator]) -> None:
        started = time.perf_counter()

        def step(stage: str, progress: float) -> None:
            run.update(status="running", stage=stage, progress=round(progress, 3))
            self._save(run)

        try:
            step("exporting the decision log", 0.02)
            feedback = load_feedback(self.store, window=self.window, reward_of=self.reward_of,
                                     workdir=self.root.parent)
            if feedback is None:
                raise BadRequest(
                    f"the decision log has no decision whose {self.window:g}-second reward window has "
                    "closed yet; serve some traffic and try again later")
            catalog = self._catalog(feedback.action_names)
            evaluations = replay_log(feedback, specs, estimators, catalog=catalog, seed=self.seed,
                                     on_stage=step)
            step("writing the report", 0.97)
            name = time.strftime("replay-%Y%m%d-%H%M%S-", time.localtime()) + run["id"][:6]
            meta = {"log": "the store's decision log", "n_rounds": feedback.n_rounds,
                    "n_actions": feedback.n_actions, "mean_logged_reward": float(feedback.reward.mean()),
                    "estimators": ",".join(e.name for e in estimators), "reward_window": self.window,
                    "seconds": round(time.perf_counter() - started, 2)}
            write_evaluation_report(self.root / name, evaluations, meta)
            run.update(status="done", stage="done", progress=1.0, report=name)
        except Exception as exc:  # the run page reports any failure; the server keeps serving
            log.warning("replay run %s failed: %s", run["id"], exc)
            run.update(status="failed", error=str(exc))
        finally:
            run["finished"] = time.time()
            self._save(run)

    def _catalog(self, ids: Sequence[str]) -> dict:
        return catalog_actions(self.store, ids, self.embed_dim)

    def get(self, run_id: str) -> dict[str, Any]:
        """The run's current record; NotFound for an unknown id."""
        return self.records.get(run_id)

    def _save(self, run: dict) -> None:
        self.records.save(run)

    def close(self) -> None:
        """Wait for the running replay and stop."""
        self._pool.shutdown(wait=True, cancel_futures=True)


def _runner() -> ReplayRunner:
    return current_app.extensions["artbandit_studio"]["runs"]


def _root() -> Path:
    return services().config.data_dir / REPORTS_FOLDER


@bp.get("/")
def reports():
    """The report folders and the form that starts a replay."""
    return render_template("reports.html", reports=list_reports(_root()), estimators=tuple(ESTIMATORS),
                           policies=DEFAULT_POLICIES, decisions=services().store.count_decisions())


@bp.post("/runs")
def start_run():
    """Start a replay of the decision log with the chosen policies and estimators."""
    policies = [p for p in request.form.getlist("policy") if p.strip()]
    policies += [p.strip() for p in request.form.get("extra_policies", "").split(";") if p.strip()]
    if not policies:
        raise BadRequest("Choose at least one policy to evaluate.")
    run = _runner().submit(policies, request.form.getlist("estimator"))
    return redirect(url_for("studio_reports.run_page", run_id=run["id"]))


@bp.get("/runs/<run_id>")
def run_page(run_id: str):
    """A replay run's progress and, when done, its report link."""
    return render_template("run.html", run=_runner().get(run_id))


@bp.get("/runs/<run_id>.json")
def run_status(run_id: str):
    """A replay run's record, for the progress page's script."""
    run = _runner().get(run_id)
    if run.get("report"):
        run["report_url"] = url_for("studio_reports.report_page", name=run["report"])
    return jsonify(run)


@bp.get("/<name>/")
def report_page(name: str):
    """One report: its settings, its table, warnings and plots."""
    return render_template("report.html", report=read_report(_root(), name))


@bp.get("/<name>/<filename>")
def report_file(name: str, filename: str):
    """A plot of a report (only the PNG files the report lists)."""
    report = read_report(_root(), name)
    if filename not in report.plots:
        raise NotFound(f"report {name!r} has no plot {filename!r}")
    return send_from_directory(_root() / name, filename, mimetype="image/png", max_age=60)
