"""Live performance of a title's artworks: decisions, feedback and take rate with its interval."""
from __future__ import annotations

from typing import Any

from artwork.store import Store
from simulator.intervals import wilson_interval


def rate_interval(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float, float]:
    """Take rate with its Wilson score interval (which stays inside [0, 1]); zeros without trials."""
    if trials == 0:
        return 0.0, 0.0, 0.0
    rate = successes / trials
    return (rate, *wilson_interval(rate, trials, confidence))


def title_stats(store: Store, title_id: str) -> dict[str, Any]:
    """Impressions, clicks, plays and take rate per artwork and per policy for one title."""
    rows = store.artwork_stats(title_id)
    by_artwork: dict[str, dict] = {}
    by_policy: dict[str, dict] = {}
    for row in rows:
        for key, table in ((row["artwork_id"], by_artwork), (row["policy"], by_policy)):
            agg = table.setdefault(key, {"decisions": 0, "impressions": 0, "clicks": 0, "plays": 0})
            for k in agg:
                agg[k] += row[k]
    total = sum(a["decisions"] for a in by_artwork.values())

    def finish(key_name: str, table: dict) -> list[dict]:
        out = []
        for key, agg in sorted(table.items()):
            rate, low, high = rate_interval(agg["plays"], agg["decisions"])
            out.append({key_name: key, **agg, "take_rate": rate, "take_rate_low": low,
                        "take_rate_high": high,
                        "share": agg["decisions"] / total if total else 0.0})
        return out

    return {"title_id": title_id, "decisions": total,
            "artworks": finish("artwork_id", by_artwork),
            "policies": finish("policy", by_policy)}
