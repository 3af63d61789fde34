"""Who wins for whom, and why each artwork gets its traffic: the analysis on a logged world whose
answer is known, and the page that shows it."""
from __future__ import annotations

import re
from html import unescape

import numpy as np
import pytest

from artwork.reward_mapping import RewardMapping
from simulator.errors import InvalidEstimatorError
from simulator.store_log import load_store_log
from simulator.winners import who_wins

from tests.studio.conftest import World, add_artwork, log_traffic

CLOSE_UP = {"face_count": 1.0, "face_share": 0.12, "brightness": 0.5, "colourfulness": 60.0, "score": 0.8}
WIDE = {"face_count": 0.0, "face_share": 0.0, "brightness": 0.2, "colourfulness": 10.0, "score": 0.6}


def _world(store, title_id="T", rounds=4000):
    """TV viewers play the close-up far more; on phones both do the same; logging shows the wide one 80%."""
    store.add_title(title_id, "Title", ["drama"])
    close = add_artwork(store, title_id, 1, quality=CLOSE_UP, tags=["close-up face"])
    wide = add_artwork(store, title_id, 2, quality=WIDE, tags=["landscape"])
    world = World(("tv", "mobile"), {("tv", close.id): 0.30, ("tv", wide.id): 0.08,
                                     ("mobile", close.id): 0.15, ("mobile", wide.id): 0.15},
                  {close.id: 0.2, wide.id: 0.8})
    log_traffic(store, title_id, world, rounds, np.random.default_rng(7), countries=("US", "DE"))
    return close, wide


def test_the_winner_per_segment_with_intervals_that_hold_the_truth(store):
    close, wide = _world(store)
    winners = who_wins(load_store_log(store, window=60.0, reward_of=RewardMapping()), "T", confidence=0.99)
    assert winners.n_rounds == 4000
    assert {s.segment for s in winners.segments} == {"everyone", "device: tv", "device: mobile",
                                                     "country: US", "country: DE"}
    tv = winners.segment("device: tv")
    assert tv.leader.artwork_id == close.id and tv.clear
    truth = {close.id: 0.30, wide.id: 0.08}
    for outcome in tv.artworks:
        est = outcome.estimate
        assert est.ci_method == "wilson" and 0.0 <= est.ci_low <= truth[outcome.artwork_id] <= est.ci_high <= 1.0
    mobile = winners.segment("device: mobile")
    assert mobile.leader is not None and not mobile.clear  # 15% against 15%: nobody wins clearly
    everyone = winners.segment("everyone")
    assert everyone.leader.artwork_id == close.id  # (0.30 + 0.15) / 2 against (0.08 + 0.15) / 2


def test_traffic_share_is_split_into_exploration_and_preference(store):
    close, wide = _world(store)
    winners = who_wins(load_store_log(store, window=60.0, reward_of=RewardMapping()), "T")
    # Every decision logged the pmf (0.2, 0.8): 0.2 each is what exploration gives both alike,
    # the wide artwork's other 0.6 is the policy's preference, though it plays less.
    wide_share, close_share = winners.outcome(wide.id), winners.outcome(close.id)
    assert wide_share.exploration == pytest.approx(0.2) and wide_share.preference == pytest.approx(0.6)
    assert close_share.exploration == pytest.approx(0.2) and close_share.preference == pytest.approx(0.0, abs=1e-12)
    assert wide_share.served_share == pytest.approx(0.8, abs=0.03)
    assert wide_share.served + close_share.served == 4000
    assert wide_share.estimate.value < close_share.estimate.value
    assert winners.outcome(wide.id, "device: tv").expected_share == pytest.approx(0.8)


def test_who_wins_of_a_title_without_decisions_and_bad_settings(store):
    _world(store, rounds=25)
    log = load_store_log(store, window=60.0, reward_of=RewardMapping())
    store.add_title("U", "Quiet", [])
    assert who_wins(log, "U").segments == ()
    thin = who_wins(log, "T")
    assert thin.segment("everyone").leader is None  # 25 decisions: neither was shown 30 times
    assert not thin.segment("everyone").clear
    with pytest.raises(InvalidEstimatorError, match="min_matches"):
        who_wins(log, "T", min_matches=0)


def test_the_page_shows_winners_as_thumbnails_and_explains_the_traffic(studio, studio_app):
    store = studio_app.extensions["artbandit"].store
    close, wide = _world(store, "t1", rounds=3000)
    page = unescape(studio.get("/studio/titles/t1/winners").text)
    tv = page[page.index('data-segment="device: tv"'):]
    tv = tv[:tv.index("</section>")]
    assert 'data-field="verdict">clear winner' in tv
    first = re.search(r'<li class="lead" data-artwork-id="([0-9a-f]+)">', tv)
    assert first and first.group(1) == close.id
    assert f'src="/artworks/{close.id}/image"' in tv and f'src="/artworks/{wide.id}/image"' in tv
    assert re.search(r'take rate <strong data-field="take-rate">\d+\.\d%</strong>\s*<span class="muted">\(\d+\.\d%–\d+\.\d%\)', tv)
    assert '<svg class="chart"' in tv and "<desc" in tv
    traffic = page[page.index('id="traffic"'):page.index("</table>", page.index('id="traffic"'))]
    row = traffic[traffic.index(f'data-artwork-id="{wide.id}"'):]
    assert 'data-field="exploration">20.0%' in row and 'data-field="preference">60.0%' in row
    # The gallery card says the same in brief, and links here.
    gallery = unescape(studio.get("/studio/titles/t1").text)
    card = gallery[gallery.index(f'id="art-{wide.id}"'):]
    assert 'data-field="exploration">20.0%' in card and 'data-field="preference">60.0%' in card
    assert 'href="/studio/titles/t1/winners"' in gallery


def test_the_page_without_decisions(studio, studio_app):
    studio_app.extensions["artbandit"].store.add_title("t1", "One")
    assert 'id="no-winners"' in studio.get("/studio/titles/t1/winners").text
    assert studio.get("/studio/titles/nope/winners").status_code == 404
