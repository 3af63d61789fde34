"""The creatives' studio pages: titles (searched, a page at a time), each title's gallery with
scores and live performance (filtered, sorted, approved one by one or in bulk), uploads and
their jobs. Server-rendered, behind sign-in. Insights and who-wins are in studio/insights.py."""
from __future__ import annotations

import math
import time

from flask import Blueprint, current_app, flash, jsonify, redirect, render_template, request, url_for

from artwork.records import ARTWORK_STATUSES

from api.errors import InvalidRequestError
from api.runtime.jobs import job_view
from api.runtime.stats import title_stats
from api.studio import analyses, auth
from api.studio.gallery import SORTS, GalleryView, artworks_by_id, gallery
from api.web.current import services
from api.web.errors import public
from api.web.requests import form_value, optional, uploaded_files

bp = Blueprint("studio", __name__, url_prefix="/studio", template_folder="templates",
               static_folder="static")
TITLES_PER_PAGE = 50
_VERBS = {"live": "Approved", "retired": "Retired", "candidate": "Moved back to candidates:"}


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


@bp.app_template_filter("pvalue")
def _pvalue(value) -> str:
    """A p- or q-value with its relation: "= 0.012", or "< 0.0001" for the tiny ones."""
    if not isinstance(value, float) or value != value:
        return "= —"
    return "< 0.0001" if value < 1e-4 else f"= {value:.2g}"


@bp.app_template_filter("when")
def _when(value: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(value))


# -- titles ------------------------------------------------------------------------------


@bp.get("/")
def titles():
    """The titles page: a page of titles (searched by id or name) with their artworks by status."""
    query = request.args.get("q", "").strip()
    number = optional(request.args, "page", int, 1)
    if number < 1:
        raise InvalidRequestError(f"page {number} does not exist; pages are numbered from 1")
    page = services().store.search_titles(query, offset=(number - 1) * TITLES_PER_PAGE,
                                          limit=TITLES_PER_PAGE)
    pages = max(1, math.ceil(page.total / TITLES_PER_PAGE))
    return render_template("titles.html", page=page, query=query, number=number, pages=pages)


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
    view = GalleryView.parse(request.args)
    items = gallery(svc.store.list_artworks(title_id), title_stats(svc.store, title_id))
    tags = sorted({t for i in items for t in i.artwork.tags})
    winners = current_app.extensions[analyses.KEY].winners(svc, title_id)
    return render_template("gallery.html", title=title, items=view.apply(items), total=len(items),
                           view=view, sorts=SORTS, statuses=ARTWORK_STATUSES, tags=tags,
                           winners=winners, results=results,
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


def _job_artwork_ids(job: dict) -> list[str]:
    result = job.get("result") or {}
    found = [c["artwork_id"] for c in result.get("candidates", ())]
    found += [f["artwork_id"] for f in result.get("files", ()) if f.get("artwork_id")]
    return found


@bp.get("/jobs/<job_id>")
def job_page(job_id: str):
    """An ingest job's progress; once done, the artworks it stored, to approve at once."""
    svc = services()
    job = job_view(svc.jobs.get(job_id))
    ids = _job_artwork_ids(job)
    found = artworks_by_id(svc.store, ids)
    return render_template("job.html", job=job, artworks=[found[i] for i in ids if i in found])


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
    flash(f"{_VERBS[status]} artwork {art.id[:12]}.")
    return redirect(url_for("studio.title_page", title_id=art.title_id) + f"#art-{art.id}")


@bp.post("/titles/<title_id>/status")
def set_statuses(title_id: str):
    """Approve, retire or move back several of a title's artworks at once: all of them, or none."""
    status = form_value("status") or ""
    if status not in ARTWORK_STATUSES:
        raise InvalidRequestError(f"Status must be one of {', '.join(ARTWORK_STATUSES)}.")
    ids = request.form.getlist("artwork")
    if not ids:
        raise InvalidRequestError("Select one or more artworks first (the boxes on their cards).")
    svc = services()
    svc.store.get_title(title_id)
    arts = svc.store.set_statuses(ids, status, max_live=svc.config.max_live, title_id=title_id)
    svc.catalog.invalidate(title_id)
    what = f"{len(arts)} artwork{'s' if len(arts) != 1 else ''}"
    done = {"live": f"Approved {what}", "retired": f"Retired {what}",
            "candidate": f"Moved {what} back to the candidates"}[status]
    flash(f"{done}: {', '.join(a.id[:12] for a in arts)}.")
    return redirect(url_for("studio.title_page", title_id=title_id))


@bp.post("/artworks/<artwork_id>/default")
def set_default(artwork_id: str):
    """Make an artwork its title's default."""
    svc = services()
    art = svc.store.set_default(artwork_id, True)
    svc.catalog.invalidate(art.title_id)
    flash(f"Artwork {art.id[:12]} is now the default of {art.title_id}.")
    return redirect(url_for("studio.title_page", title_id=art.title_id) + f"#art-{art.id}")
