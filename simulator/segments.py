"""User segments of a decision log: everyone, and each device, country and top genre affinity.

A logged context is `{"features": {"device": ..., "country": ...}, "genre_affinity": {...}}`;
it belongs to "everyone", to "device: tv", "country: DE" and "affinity: drama" (its top genre,
or "affinity: none yet" for a user with no plays). Insights and the who-wins view use the same
segments, so their numbers agree.
"""
from __future__ import annotations

from collections import Counter
from typing import Any, Mapping

import numpy as np

from simulator.logs import LoggedFeedback

__all__ = ["EVERYONE", "SEGMENT_DIMENSIONS", "context_segments", "segment_rows", "slim_log"]

SEGMENT_DIMENSIONS = ("device", "country", "affinity")
EVERYONE = "everyone"


def context_segments(context: Mapping[str, Any]) -> tuple[str, ...]:
    """The segments a logged context belongs to: everyone, its device, its country, its top genre affinity."""
    features = context.get("features") or {}
    out = [EVERYONE]
    for key in ("device", "country"):
        value = features.get(key)
        if value not in (None, ""):
            out.append(f"{key}: {value}")
    affinity = context.get("genre_affinity") or {}
    if affinity:
        top = max(sorted(affinity), key=lambda g: affinity[g])
        out.append(f"affinity: {top}")
    else:
        out.append("affinity: none yet")
    return tuple(out)


def segment_rows(log: LoggedFeedback, max_values: int) -> dict[str, np.ndarray]:
    """Each segment's rows (a boolean mask), "everyone" first, then by dimension and size.

    Keeps the `max_values` largest values of each dimension, and drops a value every row
    shares (one country only, nobody with history yet): it would only repeat "everyone".
    """
    # Contexts repeat (device x country x affinity), so each distinct one is parsed once.
    if log.context is None:
        distinct, inverse = [(EVERYONE, "affinity: none yet")], np.zeros(log.n_rounds, dtype=np.int64)
    else:
        _, first, inverse = np.unique(log.context.astype(str), return_index=True, return_inverse=True)
        distinct = [context_segments(log.context_dict(int(r))) for r in first]
    per_key = np.bincount(inverse.ravel(), minlength=len(distinct))
    counts: Counter[str] = Counter()
    for labels, n in zip(distinct, per_key):
        for label in labels:
            counts[label] += int(n)
    keep: set[str] = {EVERYONE}
    for dim in SEGMENT_DIMENSIONS:
        values = sorted((s for s in counts if s.startswith(dim + ": ") and counts[s] < log.n_rounds),
                        key=lambda s: (-counts[s], s))
        keep.update(values[:max_values])
    ordered = [EVERYONE] + sorted((s for s in keep if s != EVERYONE),
                                  key=lambda s: (SEGMENT_DIMENSIONS.index(s.split(":")[0]), -counts[s], s))
    return {s: np.isin(inverse.ravel(), [k for k, labels in enumerate(distinct) if s in labels]) for s in ordered}


def slim_log(log: LoggedFeedback) -> LoggedFeedback:
    """Only what an estimator reads, so the many sub-logs cut per segment are cheap to take."""
    return LoggedFeedback(action=log.action, reward=log.reward, pscore=log.pscore, candidates=log.candidates,
                          action_names=log.action_names, pmf=log.pmf, column_names=log.column_names)
