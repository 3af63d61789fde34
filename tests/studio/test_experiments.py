"""The studio's experiments page and its promotions, on an experiment served through the app:
the page's numbers are the runtime's, the plot over time ends at them, and every promotion,
refusal and override is listed with its evidence."""
from __future__ import annotations

import re
import time
from html import unescape

import numpy as np
import pytest

from api.errors import InvalidRequestError
from api.runtime.experiments import experiment_path, experiment_stats, start_experiment, stop_experiment
from api.runtime.policies import configured_champion
from api.runtime.promotion import OVERRIDDEN, REFUSED, promote
from api.studio.charts import path_chart, points_text
from artwork.audit import Actor, acting

from tests.studio.conftest import add_user, signed_in_client

USERS, DECISIONS = 60, 300
WINDOW = 0.3  # the studio app's reward window (tests/api/conftest.py's app_settings)


def _row(html: str, attribute: str, value: str) -> str:
    """The markup of the element carrying attribute=value, up to the end of its row or card."""
    match = re.search(rf'<(tr|div) [^>]*{attribute}="{re.escape(value)}".*?</\1>', html, re.S)
    assert match, f"no element with {attribute}={value!r} on the page"
    return match.group(0)


def _field(markup: str, name: str) -> str:
    """The text of the element with data-field=name, tags stripped and spaces collapsed."""
    match = re.search(rf'data-field="{name}"[^>]*>(.*?)</(td|th|span|p|strong)>', markup, re.S)
    assert match, f"no field {name!r} in {markup[:200]!r}"
    return " ".join(unescape(re.sub(r"<[^>]+>", "", match.group(1))).split())


@pytest.fixture
def experiment(studio_app, jpeg_bytes):
    """An experiment `x`, the champion against a uniform challenger, served through GET /artwork
    to USERS users, plays reported for a third of them; (app, champion name)."""
    svc = studio_app.extensions["artbandit"]
    store = svc.store
    store.add_title("t1", "One", ["drama"])
    store.add_artworks([{"title_id": "t1", "data": jpeg_bytes(i), "status": "live"}
                        for i in range(3)])
    store.policies.add("twin", "uniform")
    champion = configured_champion(svc.config.policy).name
    start_experiment(store, "x", {champion: 50, "twin": 50}, svc.config.policy)
    svc.lineup.refresh()
    client = studio_app.test_client()
    served = set()
    for i in range(DECISIONS):
        user = i % USERS
        body = client.get("/artwork", query_string={"user": f"u{user}", "title": "t1"}).json
        served.add(body["policy"])
        if user % 3 == 0 or (user % 3 == 1 and i % 2 == 0):
            assert client.post("/feedback", json={"events": [
                {"event_id": body["event_id"], "kind": "play"}]}).status_code == 202
    assert served == {champion, "twin"}
    time.sleep(WINDOW + 0.1)  # every decision's reward window has closed
    return studio_app, champion


def test_the_pages_need_sign_in(studio_app):
    client = studio_app.test_client()
    for path in ("/studio/experiments", "/studio/experiments/x"):
        r = client.get(path)
        assert r.status_code == 302 and r.headers["Location"].startswith(f"/studio/login?next={path}")


def test_a_viewer_sees_a_running_experiment_with_the_runtimes_numbers(experiment):
    app, champion = experiment
    svc = app.extensions["artbandit"]
    viewer = signed_in_client(app, add_user(app, "ana", "viewer"))
    listing = viewer.get("/studio/experiments")
    assert listing.status_code == 200 and 'aria-current="page">Experiments<' in listing.text
    row = _row(listing.text, "data-experiment", "x")
    assert _field(row, "state") == "running"
    assert _field(row, "arms") == f"{champion} 50% · twin 50%"
    assert 'id="no-promotions"' in listing.text

    page = viewer.get("/studio/experiments/x")
    assert page.status_code == 200
    stats = experiment_stats(svc.store, "x", window=WINDOW, reward_of=svc.config.reward_mapping)
    assert sum(a["decisions"] for a in stats["arms"]) == DECISIONS
    for arm in stats["arms"]:
        cells = _row(page.text, "data-arm", arm["arm"])
        assert _field(cells, "decisions") == str(arm["decisions"])
        assert _field(cells, "share") == "50%"
        assert _field(cells, "take-rate") == (f"{arm['take_rate']:.1%} ({arm['take_rate_low']:.1%}"
                                              f"–{arm['take_rate_high']:.1%})")
    assert 0 < stats["arms"][0]["take_rate"] < 1  # some decisions played, some not
    difference = stats["differences"][0]
    card = _row(page.text, "data-difference", "twin")
    assert _field(card, "difference") == points_text(difference["difference"])
    assert _field(card, "sequence") == f"{points_text(difference['low'])} to {points_text(difference['high'])}"
    assert _field(card, "users") == str(USERS) == str(difference["users"])
    assert _field(card, "verdict") == ("told apart" if difference["separated"] else "not told apart yet")
    # The plot over time: a band, a line and a zero line, described in words ending at the table's numbers.
    assert '<polygon class="band"' in card and '<polyline class="difference"' in card
    desc = re.search(r"<desc[^>]*>(.*?)</desc>", card, re.S).group(1)
    assert unescape(desc).endswith(f"to {points_text(difference['difference'])} "
                                   f"({points_text(difference['low'])} to "
                                   f"{points_text(difference['high'])}) at the last, whose band "
                                   f"{'excludes' if difference['separated'] else 'includes'} zero.")
    assert 'id="arm-rates"' in page.text  # the take-rate intervals
    assert "style=" not in page.text and "<script>" not in page.text  # the CSP allows neither


def test_the_path_over_time_ends_at_the_stats_and_counts_users_as_they_arrived(experiment):
    app, _ = experiment
    svc = app.extensions["artbandit"]
    store, mapping = svc.store, svc.config.reward_mapping
    stats = experiment_stats(store, "x", window=WINDOW, reward_of=mapping)
    path = experiment_path(store, "x", window=WINDOW, reward_of=mapping, points=12)
    points = path["differences"][0]["points"]
    assert 1 <= len(points) <= 12 and points[-1]["at"] == path["end"]
    last, expected = points[-1], stats["differences"][0]
    assert last["users"] == expected["users"] == USERS
    assert last["difference"] == pytest.approx(expected["difference"], abs=1e-12)
    assert (last["low"], last["high"]) == pytest.approx((expected["low"], expected["high"]), abs=1e-12)
    first_seen: dict[str, float] = {}
    for d in sorted(store.decisions(), key=lambda d: d.timestamp):
        first_seen.setdefault(d.user_id, d.timestamp)
    arrivals = np.sort(list(first_seen.values()))
    for p in points:
        assert p["users"] == int(np.searchsorted(arrivals, p["at"], side="right"))
        assert p["low"] <= p["difference"] <= p["high"]
    with pytest.raises(InvalidRequestError, match="points 1 must be between 2"):
        experiment_path(store, "x", window=WINDOW, reward_of=mapping, points=1)


def test_a_stopped_experiment_shows_its_recorded_result_and_promotions_are_listed(experiment):
    app, champion = experiment
    svc = app.extensions["artbandit"]
    store, spec = svc.store, svc.config.policy
    exp = stop_experiment(store, "x", window=WINDOW, reward_of=svc.config.reward_mapping)
    analyst = signed_in_client(app, add_user(app, "ana", "viewer"))
    page = analyst.get("/studio/experiments/x").text
    assert 'id="state">stopped<' in page and "the result recorded when it stopped" in page
    for arm in exp.result["arms"]:
        assert _field(_row(page, "data-arm", arm["arm"]), "decisions") == str(arm["decisions"])
    assert _field(_row(page, "data-difference", "twin"), "difference") == points_text(
        exp.result["differences"][0]["difference"])
    assert _field(_row(analyst.get("/studio/experiments").text, "data-experiment", "x"),
                  "state") == "stopped"

    # A challenger not shown better by the margin is refused; forced, it is promoted all the same.
    with acting(Actor("cli:ana", "host-1")):
        refused = promote(store, "twin", spec, window=WINDOW, reward_of=svc.config.reward_mapping,
                          margin=1.0)
        forced = promote(store, "twin", spec, window=WINDOW, reward_of=svc.config.reward_mapping,
                         margin=1.0, force=True)
    assert (refused.action, forced.action) == (REFUSED, OVERRIDDEN)
    listing = analyst.get("/studio/experiments").text
    rows = re.findall(r'<tr data-outcome="(\w+)">(.*?)</tr>', listing, re.S)
    assert [outcome for outcome, _ in rows] == ["forced", "refused"]  # the newest first
    for (_, cells), outcome in zip(rows, (forced, refused)):
        ev = outcome.evidence
        assert _field(cells, "who") == "cli:ana (host-1)"
        assert _field(cells, "challenger") == "twin" and _field(cells, "champion") == champion
        assert _field(cells, "difference") == f"{ev.difference:.4f}"
        assert _field(cells, "interval") == f"{ev.ci_low:.4f} to {ev.ci_high:.4f} (95%, snips)"
        assert _field(cells, "margin") == "1.0000"
        assert _field(cells, "decisions") == f"{ev.n_rounds:,}"
    assert _field(rows[0][1], "outcome") == "forced" and _field(rows[1][1], "outcome") == "refused"


def test_an_unknown_experiment_is_a_404_page(studio):
    r = studio.get("/studio/experiments/nope")
    assert r.status_code == 404 and "no experiment named" in unescape(r.text)


def test_the_path_chart_keeps_zero_and_the_last_band_in_view_and_cuts_early_wide_bands():
    points = [(10.0, 0.3, -4.0, 4.6), (20.0, 0.05, -0.2, 0.3), (30.0, 0.04, 0.01, 0.07)]
    chart = path_chart(points, start=0.0, end=30.0, label="b minus a")
    assert chart.left <= chart.last[0] == chart.right  # the last point at the end of the time axis
    ys = [y for y, _ in chart.y_ticks]
    assert min(ys) == chart.top and max(ys) == chart.bottom and chart.top < chart.zero_y < chart.bottom
    labels = [label for _, label in chart.y_ticks]
    assert "0" in labels and all(label == "0" or label.endswith("0 pp") for label in labels)
    band = [tuple(map(float, p.split(","))) for p in chart.band.split()]
    assert len(band) == 6 and min(y for _, y in band) == chart.top  # the first band is cut at the edges
    assert max(y for _, y in band) == chart.bottom
    assert chart.description.endswith("to +4.0 pp (+1.0 pp to +7.0 pp) at the last, whose band excludes zero.")
    assert path_chart([], start=0.0, end=1.0, label="none") is None
