"""The analysts' pages: report folders under `<data_dir>/reports/`, and replays of the decision
log started from a form, with their progress."""
from __future__ import annotations

import time
from pathlib import Path

from flask import Blueprint, jsonify, redirect, render_template, request, send_from_directory, url_for

from simulator.estimators import ESTIMATORS

from api.errors import InvalidRequestError, UnknownIdError
from api.runtime.replays import REPORTS_FOLDER, ReplayRunner, list_reports, read_report
from api.studio import auth
from api.web.current import services

bp = Blueprint("studio_reports", __name__, url_prefix="/studio/reports")
bp.before_request(auth.guard)
bp.register_error_handler(Exception, auth.error_page)

DEFAULT_POLICIES = ("logged", "uniform", "default", "egreedy:0.1", "vw:squarecb")


def _runner() -> ReplayRunner:
    return services().replays


def _root() -> Path:
    return services().config.data_dir / REPORTS_FOLDER


@bp.get("/")
def reports():
    """The report folders and the form that starts a replay."""
    svc = services()
    window = svc.config.reward_window
    return render_template("reports.html", reports=list_reports(_root()), estimators=tuple(ESTIMATORS),
                           policies=DEFAULT_POLICIES, decisions=svc.store.count_decisions(),
                           closed=svc.store.count_decisions(until=time.time() - window), window=window)


@bp.post("/runs")
def start_run():
    """Start a replay of the decision log with the chosen policies and estimators."""
    policies = [p for p in request.form.getlist("policy") if p.strip()]
    policies += [p.strip() for p in request.form.get("extra_policies", "").split(";") if p.strip()]
    if not policies:
        raise InvalidRequestError("Choose at least one policy to evaluate.")
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
        raise UnknownIdError(f"report {name!r} has no plot {filename!r}")
    return send_from_directory(_root() / name, filename, mimetype="image/png", max_age=60)
