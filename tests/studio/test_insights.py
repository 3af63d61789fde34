"""Creative insights on real decision logs drawn from worlds whose answer is known."""
from __future__ import annotations

import numpy as np
import pytest

from artwork.records import Artwork
from artwork.reward_mapping import RewardMapping
from simulator.errors import InvalidEstimatorError
from simulator.insights import artwork_attributes, context_segments, creative_insights
from simulator.store_log import load_store_log

from tests.studio.conftest import World, add_artwork, log_traffic

CLOSE_UP = {"face_count": 1.0, "face_share": 0.12, "brightness": 0.5, "colourfulness": 60.0, "score": 0.8}
WIDE = {"face_count": 0.0, "face_share": 0.0, "brightness": 0.2, "colourfulness": 10.0, "score": 0.6}


@pytest.fixture
def title_log(store):
    """One title, a close-up and a wide artwork; TV viewers play close-ups far more, phones do not care.

    The logging policy shows the wide artwork 80% of the time, so raw take rates would be skewed
    by what was shown; the estimates must still recover each side's true take rate.
    """
    store.add_title("T", "Title", ["drama"])
    close = add_artwork(store, "T", 1, quality=CLOSE_UP, tags=["close-up face"])
    wide = add_artwork(store, "T", 2, quality=WIDE, tags=["landscape"])
    world = World(
        devices=("tv", "mobile"),
        take={("tv", close.id): 0.30, ("tv", wide.id): 0.08,
              ("mobile", close.id): 0.15, ("mobile", wide.id): 0.15},
        logging_weight={close.id: 0.2, wide.id: 0.8},
    )
    log_traffic(store, "T", world, 4000, np.random.default_rng(7),
                affinity=lambda d: {"drama": 0.7, "comedy": 0.3} if d == "tv" else {})
    feedback = load_store_log(store, window=60.0, reward_of=RewardMapping())
    return feedback, {a.id: a for a in (close, wide)}


def test_close_up_wins_on_tv_and_not_on_phones(title_log):
    feedback, artworks = title_log
    insights = creative_insights(feedback, artworks, title_id="T")
    tv = insights.cell("device: tv", "close-up")
    assert tv.verdict == "wins"
    assert tv.with_attribute.ci_low <= 0.30 <= tv.with_attribute.ci_high
    assert tv.without_attribute.ci_low <= 0.08 <= tv.without_attribute.ci_high
    assert tv.lift == pytest.approx(0.22, abs=0.06)
    mobile = insights.cell("device: mobile", "close-up")
    assert mobile.verdict == "no clear difference"
    assert abs(mobile.lift) < 0.06
    # The same users by their genre affinity: TV viewers are the drama fans.
    assert insights.cell("affinity: drama", "close-up").verdict == "wins"
    assert ("device: tv", "close-up") in {(c.segment, c.attribute) for c in insights.findings()}


def test_attributes_that_always_come_together_are_one_finding(title_log):
    feedback, artworks = title_log
    insights = creative_insights(feedback, artworks, title_id="T")
    tv = [f for f in insights.grouped_findings() if f.segment == "device: tv"]
    # Two artworks only: everything the close-up has, the wide one lacks, so the log cannot separate them.
    assert len(tv) == 1
    assert set(tv[0].winners) == {"faces", "close-up", "mid brightness", "vivid colour", "tag: close-up face"}
    assert set(tv[0].losers) == {"dark", "tag: landscape"}
    assert tv[0].cell.verdict == "wins" and tv[0].cell.lift > 0
    assert len(insights.findings()) > len(insights.grouped_findings())


def test_estimates_correct_for_what_the_logging_policy_showed(title_log):
    feedback, artworks = title_log
    insights = creative_insights(feedback, artworks)
    cell = insights.cell("everyone", "close-up")
    # Truth with half the users on each device: close-up 0.225, wide 0.115.
    assert cell.with_attribute.ci_low <= 0.225 <= cell.with_attribute.ci_high
    assert cell.without_attribute.ci_low <= 0.115 <= cell.without_attribute.ci_high
    # The logged (mostly wide) traffic has a take rate far below what close-ups earn.
    assert insights.mean_reward < 0.16
    # Dark/muted artwork is the other side of the same comparison, so it loses.
    assert insights.cell("device: tv", "dark").verdict == "loses"


def test_small_segments_are_marked_too_little_data(store):
    store.add_title("S", "Small", [])
    a = add_artwork(store, "S", 3, quality=CLOSE_UP)
    b = add_artwork(store, "S", 4, quality=WIDE)
    world = World(("tv",), {("tv", a.id): 0.5, ("tv", b.id): 0.1}, {a.id: 0.5, b.id: 0.5})
    log_traffic(store, "S", world, 40, np.random.default_rng(1))
    feedback = load_store_log(store, window=60.0, reward_of=RewardMapping())
    insights = creative_insights(feedback, {x.id: x for x in (a, b)}, min_matches=30)
    cell = insights.cell("everyone", "close-up")
    assert cell.n_rounds == 40
    assert not cell.enough and cell.verdict == "too little data"
    assert insights.findings() == []
    # Every row is a TV in the US with no history: those segments would only repeat "everyone".
    assert [name for name, _ in insights.segments] == ["everyone"]


def test_a_title_filter_keeps_only_its_decisions(title_log, store):
    feedback, artworks = title_log
    store.add_title("U", "Other", [])
    insights = creative_insights(feedback, artworks, title_id="U")
    assert insights.n_rounds == 0 and insights.cells == {}
    whole = creative_insights(feedback, artworks, title_id="T")
    assert whole.n_rounds == feedback.n_rounds == 4000
    assert dict(whole.segments)["everyone"] == 4000


def test_artworks_without_measures_are_on_neither_side(title_log):
    feedback, artworks = title_log
    insights = creative_insights(feedback, {})
    assert insights.attributes == () and insights.cells == {}


def test_attributes_and_segments():
    art = Artwork("a", "T", "p", "upload", 10, 10, quality=CLOSE_UP, tags=("action",))
    assert artwork_attributes(art) == ("faces", "close-up", "mid brightness", "vivid colour", "tag: action")
    assert artwork_attributes(Artwork("b", "T", "p", "upload", 10, 10)) == ()
    ctx = {"features": {"device": "tv", "country": "DE"}, "genre_affinity": {"comedy": 0.2, "drama": 0.8}}
    assert context_segments(ctx) == ("everyone", "device: tv", "country: DE", "affinity: drama")
    assert context_segments({}) == ("everyone", "affinity: none yet")


def test_bad_settings_are_refused(title_log):
    feedback, artworks = title_log
    with pytest.raises(InvalidEstimatorError, match="min_matches"):
        creative_insights(feedback, artworks, min_matches=0)
