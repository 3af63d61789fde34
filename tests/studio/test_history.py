"""Each artwork's history in the gallery: who uploaded, approved or made it the default, when and from where."""
from __future__ import annotations

import re
from html import unescape

from artwork.audit import Actor, acting
from tests.studio.conftest import add_artwork


def _history(page: str, artwork_id: str) -> str:
    card = page[page.index(f'id="art-{artwork_id}"'):]
    block = re.search(r'<details class="history".*?</details>', card, re.S).group(0)
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", block)))


def test_the_gallery_shows_who_changed_each_artwork(studio, studio_app):
    store = studio_app.extensions["artbandit"].store
    store.add_title("t1", "One")
    with acting(Actor("cli:ops", "command line on host-1")):
        art = add_artwork(store, "t1", 1, status="candidate")
    other = add_artwork(store, "t1", 2, status="candidate")
    r = studio.post(f"/studio/artworks/{art.id}/status", data={"csrf": studio.csrf, "status": "live"})
    assert r.status_code == 302
    studio.post(f"/studio/artworks/{art.id}/default", data={"csrf": studio.csrf})
    page = studio.get("/studio/titles/t1").text
    history = _history(page, art.id)
    assert "uploaded as still-1.jpg — cli:ops (command line on host-1)" in history
    assert "candidate → live — editor (127.0.0.1 via studio)" in history
    assert "made the title's default — editor" in history
    assert history.index("uploaded") < history.index("candidate → live")
    assert "uploaded as still-2.jpg — system" in _history(page, other.id)
