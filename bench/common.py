"""What every benchmark shares: the table it prints, and rows comparing two set-ups."""
from __future__ import annotations

import statistics
from typing import Sequence


def print_rows(rows: Sequence[Sequence[str]]) -> None:
    """Print `name | figure | target | ok/FAIL` rows, aligned."""
    widths = [max(len(str(r[i])) for r in rows) for i in range(4)]
    for row in rows:
        print(" | ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip(), flush=True)


def compared_rows(what: str, unit: str, base: tuple[str, list[float]], other: tuple[str, list[float]],
                  at_least: float) -> list[tuple[str, str, str, str]]:
    """Rows for a figure measured in alternating rounds on two set-ups: medians, and other / base."""
    (base_name, base_rates), (other_name, other_rates) = base, other
    ratios = sorted(o / b for o, b in zip(other_rates, base_rates))
    ratio = statistics.median(ratios)
    return [
        (f"{what} {base_name} (median)", f"{statistics.median(base_rates):,.0f} {unit}",
         "reference", "-"),
        (f"{what} {other_name} (median)", f"{statistics.median(other_rates):,.0f} {unit}", "", "-"),
        (f"{what} {other_name} / {base_name} (median of {len(ratios)} rounds)",
         f"{ratio:.2f} ({ratios[0]:.2f}-{ratios[-1]:.2f})", f">= {at_least:.2f}",
         "ok" if ratio >= at_least else "FAIL"),
    ]
