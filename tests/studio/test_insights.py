"""Creative insights on decision logs drawn from worlds whose answer is known, and their control of
false discoveries across many comparisons."""
from __future__ import annotations

import json

import numpy as np
import pytest

from artwork.records import Artwork
from artwork.reward_mapping import RewardMapping
from simulator.errors import InvalidEstimatorError
from simulator.insights import artwork_attributes, context_segments, creative_insights
from simulator.intervals import wilson_interval
from simulator.logs import LoggedFeedback
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


# -- many comparisons: false-discovery control -------------------------------------------

DEVICE_RATES = {"tv": 0.12, "mobile": 0.06, "web": 0.08}  # take rates differ by device, not by artwork
COUNTRIES = ("US", "DE", "FR", "BR")
AFFINITIES = ("drama", "comedy", None)
TAGS = ("outdoor", "group", "night", "text")


def _random_artworks(rng: np.random.Generator, n: int = 6) -> list[Artwork]:
    arts = []
    for i in range(n):
        faces = int(rng.integers(0, 3))
        quality = {"face_count": float(faces), "face_share": float(rng.uniform(0.06, 0.2)) if faces else 0.0,
                   "brightness": float(rng.uniform(0.2, 0.8)), "colourfulness": float(rng.uniform(10, 80))}
        arts.append(Artwork(f"a{i}", "T", f"p{i}", "upload", 10, 10, quality=quality,
                            tags=tuple(t for t in TAGS if rng.random() < 0.4)))
    return arts


def _synthetic_log(rng: np.random.Generator, arts: list[Artwork], n: int, lift=None) -> LoggedFeedback:
    """A log whose logging policy prefers different artworks on each device, with a 3% floor.

    Without `lift` no artwork is better than another for anyone; `lift(device, artwork, rate)`
    plants an effect.
    """
    k, floor, devices = len(arts), 0.03, list(DEVICE_RATES)
    weights = np.exp(rng.normal(0.0, 1.0, (len(devices), k)))
    pmf_of = floor + weights / weights.sum(axis=1, keepdims=True) * (1 - k * floor)  # per device
    device = rng.integers(len(devices), size=n)
    country, affinity = rng.integers(len(COUNTRIES), size=n), rng.integers(len(AFFINITIES), size=n)
    pmf = pmf_of[device]
    action = (pmf.cumsum(axis=1) < rng.random(n)[:, None]).sum(axis=1).clip(max=k - 1)
    rate = np.array([[DEVICE_RATES[d] if lift is None else lift(d, art, DEVICE_RATES[d]) for art in arts]
                     for d in devices])
    reward = (rng.random(n) < rate[device, action]).astype(float)
    contexts = np.array([json.dumps({"features": {"device": devices[d], "country": COUNTRIES[c]},
                                     "genre_affinity": {AFFINITIES[a]: 1.0} if AFFINITIES[a] else {}})
                         for d, c, a in zip(device, country, affinity)], dtype=object)
    return LoggedFeedback(action=action, reward=reward, pscore=pmf[np.arange(n), action],
                          candidates=np.tile(np.arange(k), (n, 1)), action_names=tuple(a.id for a in arts),
                          pmf=pmf, context=contexts)


def test_no_true_effect_gives_no_finding_in_at_least_90_percent_of_repetitions():
    with_findings, uncorrected, comparisons = 0, 0, []
    for seed in range(40):
        rng = np.random.default_rng(seed)
        arts = _random_artworks(rng)
        insights = creative_insights(_synthetic_log(rng, arts, 5000), {a.id: a for a in arts})
        assert insights.fdr == 0.05
        comparisons.append(insights.n_comparisons)
        with_findings += bool(insights.findings())
        uncorrected += any(c.tested and c.p_value < 0.05 for c in insights.cells.values())
    assert with_findings <= 4, f"{with_findings} of 40 null logs reported a finding"
    # Dozens of comparisons each: tested one by one at 5%, nearly every log would "find" something.
    assert min(comparisons) >= 30
    assert uncorrected >= 30, uncorrected


def test_a_planted_effect_is_found():
    close_up = {"face_count": 1.0, "face_share": 0.15, "brightness": 0.5, "colourfulness": 50.0}
    no_face = {"face_count": 0.0, "face_share": 0.0, "brightness": 0.5, "colourfulness": 50.0}

    def lift(device, art, rate):  # close-ups are played 2.5 times as often, on TVs only
        return rate * 2.5 if device == "tv" and art.quality["face_share"] >= 0.04 else rate

    for seed in range(8):
        rng = np.random.default_rng(100 + seed)
        arts = _random_artworks(rng)
        arts[:2] = [Artwork("a0", "T", "p0", "upload", 10, 10, quality=close_up),
                    Artwork("a1", "T", "p1", "upload", 10, 10, quality=no_face)]
        insights = creative_insights(_synthetic_log(rng, arts, 5000, lift), {a.id: a for a in arts})
        tv = insights.cell("device: tv", "close-up")
        assert tv.verdict == "wins" and tv.q_value <= 0.05, (seed, tv)
        assert insights.cell("device: mobile", "close-up").verdict != "wins"


def test_intervals_stay_inside_zero_and_one_at_rare_plays(store):
    store.add_title("R", "Rare plays", [])
    a = add_artwork(store, "R", 5, quality=CLOSE_UP)
    b = add_artwork(store, "R", 6, quality=WIDE)
    world = World(("tv",), {("tv", a.id): 0.006, ("tv", b.id): 0.004}, {a.id: 0.5, b.id: 0.5})
    log_traffic(store, "R", world, 1200, np.random.default_rng(4))
    feedback = load_store_log(store, window=60.0, reward_of=RewardMapping())
    insights = creative_insights(feedback, {x.id: x for x in (a, b)})
    cell = insights.cell("everyone", "close-up")
    for side in (cell.with_attribute, cell.without_attribute):
        assert side.ci_method == "wilson"
        # Wilson's interval at the effective sample size: inside [0, 1], and above 0 once a play was seen.
        assert 0.0 < side.ci_low < side.value < side.ci_high < 0.03
        assert (side.ci_low, side.ci_high) == pytest.approx(wilson_interval(side.value, side.ess))
    assert cell.verdict == "no clear difference"


def test_the_comparisons_and_the_rate_are_stated(title_log):
    feedback, artworks = title_log
    insights = creative_insights(feedback, artworks, fdr=0.1)
    tested = [c for c in insights.cells.values() if c.tested]
    # Attributes that always come together on the two artworks are one comparison per segment.
    assert insights.n_comparisons == len({c.comparison for c in tested}) == len(dict(insights.segments))
    assert all(c.fdr == 0.1 and c.q_value >= c.p_value for c in tested)
    with pytest.raises(InvalidEstimatorError, match="fdr"):
        creative_insights(feedback, artworks, fdr=1.5)
