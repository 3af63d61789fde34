"""The creatives' studio pages: titles, each title's gallery with scores and live performance,
uploads, approval, and creative insights. Server-rendered, behind the creatives' token."""
from __future__ import annotations

import threading
import time

from flask import Blueprint, current_app, flash, jsonify, redirect, render_template, request, url_for

from artwork.records import ARTWORK_STATUSES
from simulator.insights import Insights, creative_insights
from simulator.store_log import load_store_log

from api.errors import InvalidRequestError
from api.runtime.jobs import job_view
from api.runtime.services import Services
from api.runtime.stats import title_stats
from api.studio import auth
from api.studio.gallery import artworks_by_id, gallery
from api.web.current import services
from api.web.errors import public
from api.web.requests import form_value, uploaded_files

bp = Blueprint("studio", __name__, url_prefix="/studio", template_folder="templates",
               static_folder="static")
INSIGHTS_TTL = 30.0  # seconds an insights table is reused before it is computed again
INSIGHTS_KEY = "artbandit_insights"  # where the app keeps its InsightsCache


bp.before_request(auth.guard)
bp.register_error_handler(Exception, auth.error_page)


@bp.app_template_filter("pct")
def _pct(value) -> str:
    if value is None or not isinstance(value, (int, float)) or value != value:
        return "—"
    return f"{value * 100:.1f}%"


@bp.app_template_filter("num")
def _num(value) -> str:
    if isinstance(value, bool) or not isinstance(value, float):
        return "—" if value is None else str(value)
    if value != value:
        return "—"
    return f"{value:.4f}" if abs(value) < 1000 else f"{value:,.0f}"


@bp.app_template_filter("when")
def _when(value: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(value))


class InsightsCache:
    """Insights tables kept for a short while: computing them reads the whole log."""

    def __init__(self) -> None:
        self._items: dict[str, tuple[float, int, Insights | None]] = {}
        self._lock = threading.Lock()

    def get(self, svc: Services, title_id: str | None) -> Insights | None:
        """The insights of one title (None: the catalog), recomputed when the log grew or the entry aged."""
        key = title_id or ""
        count = svc.store.count_decisions()
        with self._lock:
            hit = self._items.get(key)
        if hit is not None and time.monotonic() - hit[0] < INSIGHTS_TTL and hit[1] == count:
            return hit[2]
        config = svc.config
        log_ = load_store_log(svc.store, window=config.reward_window,
                              reward_of=config.reward_mapping)
        value = None if log_ is None else creative_insights(
            log_, artworks_by_id(svc.store, log_.action_names), title_id=title_id)
        with self._lock:
            self._items[key] = (time.monotonic(), count, value)
        return value


# -- titles ------------------------------------------------------------------------------


@bp.get("/")
def titles():
    """The titles page: every title with its artworks by status, and a form to add one."""
    store = services().store
    rows = []
    for title in store.list_titles():
        arts = store.list_artworks(title.id)
        counts = {s: sum(a.status == s for a in arts) for s in ARTWORK_STATUSES}
        rows.append({"title": title, "counts": counts})
    return render_template("titles.html", rows=rows)


@bp.post("/titles")
def create_title():
    """Add a title from the form and open its gallery."""
    form = request.form
    title_id, name = form.get("id", "").strip(), form.get("name", "").strip()
    if not title_id or not name:
        raise InvalidRequestError("A new title needs both an id and a name.")
    genres = [g.strip() for g in form.get("genres", "").split(",") if g.strip()]
    services().store.add_title(title_id, name, genres)
    flash(f"Added title {title_id}.")
    return redirect(url_for("studio.title_page", title_id=title_id))


def _gallery_page(title_id: str, *, results: list[dict] | None = None, status: int = 200):
    svc = services()
    title = svc.store.get_title(title_id)
    items = gallery(svc.store.list_artworks(title_id), title_stats(svc.store, title_id))
    return render_template("gallery.html", title=title, items=items, results=results,
                           max_upload=svc.config.max_upload_bytes), status


@bp.get("/titles/<title_id>")
def title_page(title_id: str):
    """A title's gallery."""
    return _gallery_page(title_id)


# -- uploads -----------------------------------------------------------------------------


@bp.post("/titles/<title_id>/stills")
def upload_stills(title_id: str):
    """Store each uploaded still; the gallery shows what happened to every file."""
    svc = services()
    svc.store.get_title(title_id)
    files = [f for f in uploaded_files("file") if f.filename]
    if not files:
        raise InvalidRequestError("Choose one or more image files to upload.")
    outcomes, job = svc.jobs.ingest_stills(title_id, [(f.filename, f.stream) for f in files])
    if job is not None:  # not finished within the wait: the job's page follows it
        return redirect(url_for("studio.job_page", job_id=job["id"]))
    results = [{"file": r.file, "ok": r.artwork_id is not None, "artwork_id": r.artwork_id,
                "error": None if r.error is None else public(r.error)} for r in outcomes]
    status = 200 if any(r["ok"] for r in results) else 400
    return _gallery_page(title_id, results=results, status=status)


@bp.post("/titles/<title_id>/videos")
def upload_video(title_id: str):
    """Queue an uploaded video's ingest and show the job's progress page."""
    svc = services()
    svc.store.get_title(title_id)
    uploads = [f for f in uploaded_files("file") if f.filename]
    if not uploads:
        raise InvalidRequestError("Choose a video file to upload.")
    try:
        max_candidates = int(form_value("max_candidates") or "8")
    except ValueError:
        raise InvalidRequestError("The number of candidates must be a whole number.") from None
    if not 1 <= max_candidates <= 100:
        raise InvalidRequestError("The number of candidates must be between 1 and 100.")
    job = svc.jobs.submit_video(title_id, uploads[0].stream, uploads[0].filename,
                                max_candidates=max_candidates)
    return redirect(url_for("studio.job_page", job_id=job["id"]))


@bp.get("/jobs/<job_id>")
def job_page(job_id: str):
    """An ingest job's progress."""
    job = job_view(services().jobs.get(job_id))
    return render_template("job.html", job=job)


@bp.get("/jobs/<job_id>.json")
def job_status(job_id: str):
    """An ingest job's record, for the progress page's script."""
    return jsonify(job_view(services().jobs.get(job_id)))


# -- approval ----------------------------------------------------------------------------


@bp.post("/artworks/<artwork_id>/status")
def set_status(artwork_id: str):
    """Approve (live), retire or move an artwork back to the candidates."""
    status = request.form.get("status", "")
    if status not in ARTWORK_STATUSES:
        raise InvalidRequestError(f"Status must be one of {', '.join(ARTWORK_STATUSES)}.")
    svc = services()
    art = svc.store.set_status(artwork_id, status, max_live=svc.config.max_live)
    svc.catalog.invalidate(art.title_id)
    verb = {"live": "Approved", "retired": "Retired", "candidate": "Moved back to candidates:"}[status]
    flash(f"{verb} artwork {art.id[:12]}.")
    return redirect(url_for("studio.title_page", title_id=art.title_id) + f"#art-{art.id}")


@bp.post("/artworks/<artwork_id>/default")
def set_default(artwork_id: str):
    """Make an artwork its title's default."""
    svc = services()
    art = svc.store.set_default(artwork_id, True)
    svc.catalog.invalidate(art.title_id)
    flash(f"Artwork {art.id[:12]} is now the default of {art.title_id}.")
    return redirect(url_for("studio.title_page", title_id=art.title_id) + f"#art-{art.id}")


# -- insights ----------------------------------------------------------------------------


def _insights_page(title_id: str | None):
    svc = services()
    title = svc.store.get_title(title_id) if title_id else None
    insights = current_app.extensions[INSIGHTS_KEY].get(svc, title_id)
    return render_template("insights.html", title=title, insights=insights,
                           window=svc.config.reward_window)


@bp.get("/insights")
def catalog_insights():
    """Creative insights across the catalog."""
    return _insights_page(None)


@bp.get("/titles/<title_id>/insights")
def title_insights(title_id: str):
    """Creative insights for one title."""
    return _insights_page(title_id)
