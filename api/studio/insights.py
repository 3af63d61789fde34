"""The analysts' view of what wins: creative insights (which visual attributes win for whom, at a
stated false-discovery rate) and, per title, which artworks win in each segment and why each
gets the traffic it gets. The numbers come from simulator/insights.py and simulator/winners.py;
these views only render them."""
from __future__ import annotations

from flask import current_app, render_template

from api.studio import analyses
from api.studio.gallery import artworks_by_id
from api.studio.pages import bp
from api.web.current import services


def _insights_page(title_id: str | None):
    svc = services()
    title = svc.store.get_title(title_id) if title_id else None
    insights = current_app.extensions[analyses.KEY].insights(svc, title_id)
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


@bp.get("/titles/<title_id>/winners")
def title_winners(title_id: str):
    """Who wins for whom: a title's artworks per segment, and where each one's traffic came from."""
    svc = services()
    title = svc.store.get_title(title_id)
    winners = current_app.extensions[analyses.KEY].winners(svc, title_id)
    ids = [] if winners is None else list(dict.fromkeys(
        a.artwork_id for s in winners.segments for a in s.artworks))
    return render_template("winners.html", title=title, winners=winners,
                           artworks=artworks_by_id(svc.store, ids), window=svc.config.reward_window)
