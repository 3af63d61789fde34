"""What /healthz, /readyz and the scraped metrics say: the model served, and whether all is ready.

Liveness (`model_state`) needs nothing but the process. Readiness (`readiness`) checks the
database (sound at start, writable now), the decision journal's backlog, the model, and how
far the learner is behind, and says why for each check that fails.
"""
from __future__ import annotations

import logging
import shutil
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from artwork.errors import CatalogError

from api.runtime.learning import read_status

if TYPE_CHECKING:
    from api.runtime.services import Services

log = logging.getLogger(__name__)

# Past these, the service says it is not ready: ingest is that far behind, or the learner.
READY_MAX_BACKLOG_BYTES = 16 << 20
# With less free space than this on the data directory's disk, writes are failing or about to:
# not ready. (A commit may still fit in the WAL's free pages on a full disk, so the database
# check alone can say "writable".)
READY_MIN_FREE_BYTES = 8 << 20
READY_MAX_LAG_SECONDS = 120.0
# A learner that polls every `learn_interval` seconds may lag this many polls without alarm.
READY_LAG_POLLS = 10


@dataclass(frozen=True)
class Check:
    """One readiness check: whether it passed, and what was found."""

    name: str
    ok: bool
    detail: str


def model_state(svc: "Services") -> dict[str, Any]:
    """Which model serves in this process: a snapshot, or the untrained policy (and why)."""
    version = svc.engine.model_version
    if version > 0:
        return {"model": "snapshot", "model_version": version}
    unusable = svc.reloader.unusable if svc.reloader is not None else None
    if svc.learner is not None and svc.learner.learner.resumed_from is None and \
            svc.learner.snapshots.quarantined():
        unusable = "no stored snapshot could be loaded; the learner starts from the beginning"
    return {"model": "exploratory", "model_version": 0,
            "reason": unusable or "no model snapshot yet (cold start)"}


def learner_lag(svc: "Services", now: float) -> tuple[float, Any]:
    """Seconds the learner is behind (the oldest decision ready but not learned), and its report."""
    status = read_status(svc.models_folder, svc.engine.policy_name, svc.store)
    cursor = None if status is None or status.cursor_time is None else (
        status.cursor_time, status.cursor_event or "")
    until = now - svc.config.reward_window
    first = svc.store.first_decision_time(cursor, until)
    return (0.0 if first is None else max(0.0, until - first)), status


def _check(name: str, probe: Callable[[], tuple[bool, str]]) -> Check:
    try:
        ok, detail = probe()
    except (CatalogError, OSError) as exc:
        ok, detail = False, str(exc)
    return Check(name, ok, detail)


def readiness(svc: "Services") -> list[Check]:
    """Every readiness check of this process, in order."""
    now = time.time()

    def database() -> tuple[bool, str]:
        if svc.database_problems:
            return False, ("failed its integrity check at start: "
                           + "; ".join(svc.database_problems[:3]))
        svc.store.db.check_writable()
        return True, "writable"

    def disk() -> tuple[bool, str]:
        free = shutil.disk_usage(svc.config.data_dir).free
        return free >= READY_MIN_FREE_BYTES, f"{free >> 20} MiB free"

    def journal() -> tuple[bool, str]:
        backlog = svc.store.journal_backlog()
        return backlog <= READY_MAX_BACKLOG_BYTES, f"{backlog} bytes not yet ingested"

    def model() -> tuple[bool, str]:
        state = model_state(svc)
        if state["model"] == "snapshot":
            return True, f"snapshot {state['model_version']}"
        return "cold start" in state["reason"], state["reason"]

    def learner() -> tuple[bool, str]:
        lag, status = learner_lag(svc, now)
        limit = max(READY_MAX_LAG_SECONDS, READY_LAG_POLLS * svc.config.learn_interval)
        detail = f"{lag:.0f} s behind"
        if status is None:
            detail += "; no learner has reported (run `artbandit learn` beside several workers)"
        elif status.last_error and (status.last_error_time or 0) >= status.updated - 1:
            detail += f"; last step failed: {status.last_error}"
        return lag <= limit, detail

    return [_check("database", database), _check("disk", disk), _check("journal", journal),
            _check("model", model),
            _check("learner", learner)]


def scraped_figures(svc: "Services") -> dict[str, float]:
    """The metrics read from shared state at scrape time (see api/runtime/metrics.py)."""
    now = time.time()
    figures: dict[str, float] = {"artbandit_model_version": float(svc.engine.model_version)}
    try:
        figures["artbandit_journal_backlog_bytes"] = float(svc.store.journal_backlog())
        dead = svc.store.decision_log.dead_letter_count()
        figures["artbandit_journal_dead_letters"] = float(dead)
        lag, status = learner_lag(svc, now)
    except (CatalogError, OSError) as exc:  # the scrape still answers with what it has
        log.warning("metrics: could not read the store: %s", exc)
        return figures
    figures["artbandit_learner_lag_seconds"] = lag
    if status is not None:
        figures.update({
            "artbandit_learner_examples": float(status.learned),
            "artbandit_learner_snapshot_version": float(status.model_version),
            "artbandit_learner_errors": float(status.errors),
            "artbandit_learner_report_age_seconds": max(0.0, now - status.updated),
        })
        if status.last_error_time is not None:
            figures["artbandit_learner_last_error_timestamp_seconds"] = status.last_error_time
    return figures
