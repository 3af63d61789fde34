"""Finding one's way in a large catalog: titles searched a page at a time, the gallery filtered and
sorted, artworks approved or retired in bulk, and what a replay counts (Flask's test client)."""
from __future__ import annotations

import re
from html import unescape

import numpy as np
import pytest

from tests.studio.conftest import World, add_artwork, log_traffic


def _store(app):
    return app.extensions["artbandit"].store


def _ids_in_order(page: str) -> list[str]:
    return re.findall(r'<li class="artwork status-\w+" id="art-([0-9a-f]+)"', page)


# -- titles --------------------------------------------------------------------------------


@pytest.fixture
def two_thousand_titles(studio_app):
    store = _store(studio_app)
    for i in range(2000):
        store.add_title(f"title-{i:04d}", f"Film {i:04d}", ["drama"] if i % 2 else ["comedy"])
    add_artwork(store, "title-0000", 1, status="live")
    add_artwork(store, "title-0000", 2, status="candidate")
    return store


def test_two_thousand_titles_come_a_page_at_a_time(studio, two_thousand_titles):
    r = studio.get("/studio/")
    page = unescape(r.text)
    assert r.status_code == 200 and len(r.data) < 60_000  # one page, not every title
    rows = re.findall(r'<th scope="row"><a href="/studio/titles/(title-\d+)"', page)
    assert rows == [f"title-{i:04d}" for i in range(50)]
    assert "Titles 1–50 of 2,000." in page and "Page 1 of 40" in page
    first = page[page.index('href="/studio/titles/title-0000"'):]
    assert re.search(r'<td class="num">1</td>\s*<td class="num">1</td>\s*<td class="num">0</td>', first)
    assert 'rel="next" href="/studio/?page=2"' in page and 'rel="prev"' not in page
    last = unescape(studio.get("/studio/?page=40").text)
    assert "Titles 1,951–2,000 of 2,000." in last and 'rel="next"' not in last
    assert 'rel="prev" href="/studio/?page=39"' in last
    past = unescape(studio.get("/studio/?page=41").text)
    assert "past the last page (40)" in past and 'href="/studio/?page=40"' in past


def test_search_by_id_or_name_in_any_case(studio, two_thousand_titles):
    page = unescape(studio.get("/studio/?q=FILM 019").text)
    rows = re.findall(r'<th scope="row"><a href="/studio/titles/(title-\d+)"', page)
    assert rows == [f"title-{i:04d}" for i in range(190, 200)]
    assert "Titles 1–10 of 10 matching “FILM 019”." in page and 'value="FILM 019"' in page
    assert re.findall(r'href="/studio/titles/(title-\d+)"', unescape(studio.get("/studio/?q=title-1234").text))[:1] \
        == ["title-1234"]
    two_thousand_titles.add_title("odd_one", "100% Wolf", [])
    page = unescape(studio.get("/studio/?q=100%").text)  # % and _ are literal, not wildcards
    assert "Titles 1–1 of 1" in page and "100% Wolf" in page
    assert "Titles 1–1 of 1" in unescape(studio.get("/studio/?q=d_o").text)
    assert "No title's id or name contains “nothing-like-it”" in unescape(studio.get("/studio/?q=nothing-like-it").text)
    page = unescape(studio.get("/studio/?q=film&page=2").text)
    assert 'rel="next" href="/studio/?q=film&amp;page=3"' in studio.get("/studio/?q=film&page=2").text
    assert "Titles 51–100 of 2,000 matching “film”." in page


@pytest.mark.parametrize("page, message", [("0", "pages are numbered from 1"), ("two", "is not a valid int")])
def test_bad_page_numbers_are_400(studio, page, message):
    r = studio.get(f"/studio/?page={page}")
    assert r.status_code == 400 and message in unescape(r.text)


# -- gallery: filter, sort, bulk -----------------------------------------------------------


@pytest.fixture
def gallery_title(studio_app):
    """Four artworks: two live (one played far more), a candidate and a retired one."""
    store = _store(studio_app)
    store.add_title("t1", "One", ["drama"])
    arts = {
        "good": add_artwork(store, "t1", 1, quality={"score": 0.9}, tags=["face", "night"], status="live"),
        "weak": add_artwork(store, "t1", 2, quality={"score": 0.4}, tags=["landscape"], status="live"),
        "new": add_artwork(store, "t1", 3, quality={"score": 0.7}, tags=["face"], status="candidate"),
        "old": add_artwork(store, "t1", 4, quality={"score": 0.5}, tags=["night"], status="retired"),
    }
    world = World(("tv",), {("tv", arts["good"].id): 0.4, ("tv", arts["weak"].id): 0.05},
                  {arts["good"].id: 0.3, arts["weak"].id: 0.7})
    log_traffic(store, "t1", world, 400, np.random.default_rng(2))
    return arts


def test_the_gallery_sorts_by_quality_take_rate_and_share(studio, gallery_title):
    a = {k: v.id for k, v in gallery_title.items()}
    assert _ids_in_order(studio.get("/studio/titles/t1?sort=quality").text) == [a["good"], a["new"], a["old"], a["weak"]]
    assert _ids_in_order(studio.get("/studio/titles/t1?sort=take_rate").text)[:2] == [a["good"], a["weak"]]
    assert _ids_in_order(studio.get("/studio/titles/t1?sort=share").text)[:2] == [a["weak"], a["good"]]
    default = _ids_in_order(studio.get("/studio/titles/t1").text)
    assert set(default[:2]) == {a["good"], a["weak"]} and default[2:] == [a["new"], a["old"]]
    page = studio.get("/studio/titles/t1?sort=quality").text
    assert '<option value="quality" selected>' in page


def test_the_gallery_filters_by_status_tag_and_quality(studio, gallery_title):
    a = {k: v.id for k, v in gallery_title.items()}
    assert _ids_in_order(studio.get("/studio/titles/t1?status=live&sort=quality").text) == [a["good"], a["weak"]]
    assert _ids_in_order(studio.get("/studio/titles/t1?tag=face&sort=quality").text) == [a["good"], a["new"]]
    page = studio.get("/studio/titles/t1?tag=night&min_score=0.6").text
    assert _ids_in_order(page) == [a["good"]] and "(1 of 4 shown)" in page
    assert '<option value="night" selected>' in page and 'value="0.6"' in page
    none = studio.get("/studio/titles/t1?status=retired&tag=face").text
    assert _ids_in_order(none) == [] and 'id="none-shown"' in none


@pytest.mark.parametrize("query, message", [
    ("sort=colour", "sort 'colour' is not one of status, quality, take_rate, share, newest"),
    ("status=gone", "status 'gone' is not one of"),
    ("min_score=2", "must be a number from 0 to 1"),
    ("min_score=high", "must be a number from 0 to 1"),
])
def test_bad_gallery_filters_say_what_is_allowed(studio, gallery_title, query, message):
    r = studio.get(f"/studio/titles/t1?{query}")
    assert r.status_code == 400 and message in unescape(r.text)


def test_approve_and_retire_in_bulk(studio, studio_app):
    store = _store(studio_app)
    store.add_title("t1", "One")
    arts = [add_artwork(store, "t1", i, status="candidate") for i in range(3)]
    page = studio.get("/studio/titles/t1").text
    for art in arts:  # each card's box belongs to the bulk form
        assert f'name="artwork" value="{art.id}" form="bulk"' in page
    assert 'id="bulk">' in page and 'action="/studio/titles/t1/status"' in page
    r = studio.post("/studio/titles/t1/status", data={"csrf": studio.csrf, "status": "live",
                                                     "artwork": [arts[0].id, arts[2].id]})
    assert r.status_code == 302 and r.headers["Location"] == "/studio/titles/t1"
    assert [store.get_artwork(a.id).status for a in arts] == ["live", "candidate", "live"]
    assert f"Approved 2 artworks: {arts[0].id[:12]}, {arts[2].id[:12]}." in unescape(studio.get("/studio/titles/t1").text)
    served = studio_app.test_client().get("/artwork?user=u&title=t1").get_json()
    assert served["artwork_id"] in {arts[0].id, arts[2].id}  # the serving catalog saw the change
    studio.post("/studio/titles/t1/status", data={"csrf": studio.csrf, "status": "retired",
                                                 "artwork": [a.id for a in arts]})
    assert {store.get_artwork(a.id).status for a in arts} == {"retired"}


def test_bulk_changes_are_all_or_nothing(studio, studio_app):
    store = _store(studio_app)
    store.add_title("t1", "One")
    store.add_title("t2", "Two")
    mine = [add_artwork(store, "t1", i, status="candidate") for i in range(2)]
    theirs = add_artwork(store, "t2", 9)
    r = studio.post("/studio/titles/t1/status", data={"csrf": studio.csrf, "status": "live",
                                                     "artwork": [mine[0].id, theirs.id]})
    assert r.status_code == 400 and "is not one of title 't1'" in unescape(r.text)
    r = studio.post("/studio/titles/t1/status", data={"csrf": studio.csrf, "status": "live",
                                                     "artwork": [mine[0].id, "f" * 20]})
    assert r.status_code == 404
    assert {store.get_artwork(a.id).status for a in mine} == {"candidate"}
    r = studio.post("/studio/titles/t1/status", data={"csrf": studio.csrf, "status": "live"})
    assert r.status_code == 400 and "Select one or more artworks" in unescape(r.text)
    r = studio.post("/studio/titles/t1/status", data={"status": "live", "artwork": [mine[0].id]})
    assert r.status_code == 403 and store.get_artwork(mine[0].id).status == "candidate"


@pytest.mark.parametrize("studio_app", [{"floor": 0.3}], indirect=True)  # at most 3 live per title
def test_bulk_approval_keeps_the_live_limit(studio, studio_app):
    store = _store(studio_app)
    store.add_title("t1", "One")
    live = add_artwork(store, "t1", 0, status="live")
    arts = [add_artwork(store, "t1", i, status="candidate") for i in range(1, 4)]
    r = studio.post("/studio/titles/t1/status", data={"csrf": studio.csrf, "status": "live",
                                                     "artwork": [a.id for a in arts]})
    assert r.status_code == 409
    assert "3 more cannot be approved: approve at most 2 or retire some first" in unescape(r.text)
    assert {store.get_artwork(a.id).status for a in arts} == {"candidate"}
    ok = studio.post("/studio/titles/t1/status", data={"csrf": studio.csrf, "status": "live",
                                                      "artwork": [live.id, arts[0].id, arts[1].id]})
    assert ok.status_code == 302 and len(store.list_artworks("t1", "live")) == 3


# -- reports -------------------------------------------------------------------------------


def test_the_reports_page_counts_decisions_and_those_a_replay_uses(studio, studio_app):
    store = _store(studio_app)
    store.add_title("t1", "One")
    a, b = add_artwork(store, "t1", 1), add_artwork(store, "t1", 2)
    world = World(("tv",), {("tv", a.id): 0.3, ("tv", b.id): 0.1}, {a.id: 0.5, b.id: 0.5})
    log_traffic(store, "t1", world, 120, np.random.default_rng(5))  # long closed
    log_traffic(store, "t1", world, 30, np.random.default_rng(6), age=-3600.0)  # windows still open
    page = unescape(studio.get("/studio/reports/").text)
    assert 'data-field="closed">120<' in page and 'data-field="decisions">150<' in page
    assert "the other 30 are younger than the 0.3-second reward window" in page
