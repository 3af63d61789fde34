"""Eligibility and placement on the serving path: what choosing a title's candidates costs.

A real store with a title of `--artworks` live artworks, half of them restricted (countries,
languages, devices, maturity, a window) and all cropped for the default placements, loaded
through the serving catalog cache; then the per-request work the engine adds is timed: the
audience from the context, and the candidates of the title for it (looked up per audience,
evaluated afresh when the audience is new).

Run:  python bench/eligibility_bench.py [--artworks 12] [--requests 200000]
Prints one line per figure:  name | figure | target | ok/FAIL
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.runtime.catalog_cache import CatalogCache  # noqa: E402
from artwork.crops import Crop  # noqa: E402
from artwork.eligibility import audience_of, eligibility_from  # noqa: E402
from artwork.images import encode_image  # noqa: E402
from artwork.placements import DEFAULT_PLACEMENTS, parse_placements  # noqa: E402
from artwork.store import Store  # noqa: E402
from bench.common import print_rows  # noqa: E402
from tests.conftest import make_image  # noqa: E402

RULES = [{"countries": ["DE", "AT"]}, {"maturity": "adult"}, {"languages": ["de"]},
         {"devices": ["tv"]}, {"ends": time.time() + 86400}, {"countries": ["US"], "maturity": "teen"}]
TARGET_US = 5.0


def _per_call(fn, n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - started) / n * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artworks", type=int, default=12)
    parser.add_argument("--requests", type=int, default=200_000)
    args = parser.parse_args(argv)
    placements = parse_placements(DEFAULT_PLACEMENTS)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(Path(tmp))
        store.add_title("t", "T")
        arts = [store.add_artwork_image("t", encode_image(make_image(i)), status="live")
                for i in range(args.artworks)]
        for i, art in enumerate(arts[::2]):
            store.set_eligibility(art.id, eligibility_from(RULES[i % len(RULES)]))
        # The crops' rows as the vision stage leaves them (their pixels do not matter here).
        store.crops.save([(Crop(a.id, p.name, (0, 0, 16, 9), 0.5), b"%d" % i)
                          for i, a in enumerate(arts) for p in placements])
        entry = CatalogCache(store, ttl=3600).entry("t")
        features = {"device": "tv", "country": "DE", "language": "de-AT", "maturity": "teen",
                    "hour": 21.0, "placement": "boxart"}
        audience = audience_of(features)
        now = time.time()
        chosen = entry.candidates(audience, now)[0]
        audience_us = _per_call(lambda: audience_of(features), args.requests)
        cached_us = _per_call(lambda: entry.candidates(audience, now), args.requests)
        fresh_us = _per_call(lambda: entry._answers.clear() or entry.candidates(audience, now),
                             args.requests // 10)
        store.close_all()
    total = audience_us + cached_us
    print_rows([
        ("audience from the context", f"{audience_us:.2f} us", "reference", "-"),
        (f"candidates of a title ({len(chosen)} of {args.artworks} eligible), known audience",
         f"{cached_us:.2f} us", "reference", "-"),
        ("candidates of a title, new audience (rules evaluated)", f"{fresh_us:.2f} us",
         "reference", "-"),
        ("eligibility + placement per title served", f"{total:.2f} us", f"<= {TARGET_US:g} us",
         "ok" if total <= TARGET_US else "FAIL"),
    ])
    return 0


if __name__ == "__main__":
    sys.exit(main())
