"""Accessibility basics checked on the rendered pages and the style sheet: labels, landmarks, contrast."""
from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from tests.studio.conftest import World, add_artwork, log_traffic

CSS = Path(__file__).resolve().parents[2] / "api" / "studio" / "static" / "studio.css"


class _Form(HTMLParser):
    """Collects inputs, labels, images and landmarks of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.inputs: list[dict] = []
        self.label_for: set[str] = set()
        self.images: list[dict] = []
        self.tags: list[str] = []
        self._label_depth = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        if tag == "label":
            self._label_depth += 1
            if a.get("for"):
                self.label_for.add(a["for"])
        elif tag in ("input", "select", "textarea") and a.get("type") != "hidden":
            self.inputs.append({**a, "wrapped": self._label_depth > 0})
        elif tag == "img":
            self.images.append(a)

    def handle_endtag(self, tag):
        if tag == "label":
            self._label_depth -= 1


@pytest.fixture
def pages(studio, studio_app):
    store = studio_app.extensions["artbandit"].store
    store.add_title("t1", "One", ["drama"])
    a = add_artwork(store, "t1", 1, quality={"face_count": 1, "face_share": 0.1, "brightness": 0.5, "score": 0.7})
    b = add_artwork(store, "t1", 2, quality={"face_count": 0, "face_share": 0.0, "brightness": 0.2, "score": 0.5})
    log_traffic(store, "t1", World(("tv",), {("tv", a.id): 0.3, ("tv", b.id): 0.1}, {a.id: 1, b.id: 1}),
                200, np.random.default_rng(0))
    paths = ["/studio/", "/studio/titles/t1", "/studio/titles/t1/insights", "/studio/insights",
             "/studio/reports/", "/studio/experiments"]
    out = {path: studio.get(path) for path in paths}
    out["/studio/login"] = studio_app.test_client().get("/studio/login")
    return out


def test_every_control_has_a_label_and_every_image_a_text(pages):
    for path, response in pages.items():
        assert response.status_code == 200, path
        page = _Form()
        page.feed(response.text)
        for control in page.inputs:
            labelled = control["wrapped"] or control.get("id") in page.label_for or control.get("aria-label")
            assert labelled, f"{path}: control {control} has no label"
        for image in page.images:
            assert image.get("alt"), f"{path}: image {image} has no alt text"
        assert {"main", "header"} <= set(page.tags), f"{path}: landmarks missing"
        assert 'lang="en"' in response.text and 'class="skip"' in response.text


def _luminance(hex_colour: str) -> float:
    rgb = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two #rrggbb colours."""
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_text_colours_meet_wcag_aa():
    css = CSS.read_text()
    var = dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-fA-F]{6})", css))
    pairs = [("ink", "paper"), ("ink", "wash"), ("muted", "paper"), ("muted", "wash"), ("accent", "paper"),
             ("accent-ink", "accent"), ("paper", "ink"), ("ok", "paper"), ("bad", "paper"), ("warn", "warn-bg")]
    for fg, bg in pairs:
        assert contrast(var[fg], var[bg]) >= 4.5, f"{fg} on {bg}: {contrast(var[fg], var[bg]):.2f}"
    for fg, bg in (("#136c2e", "#e4f1e8"), ("#a4161a", "#fbe4e4")):  # insight cells, flash
        assert contrast(fg, bg) >= 4.5


def test_contrast_ratio_is_computed_right():
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
