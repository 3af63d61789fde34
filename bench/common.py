"""What every benchmark shares: the table it prints."""
from __future__ import annotations

from typing import Sequence


def print_rows(rows: Sequence[Sequence[str]]) -> None:
    """Print `name | figure | target | ok/FAIL` rows, aligned."""
    widths = [max(len(str(r[i])) for r in rows) for i in range(4)]
    for row in rows:
        print(" | ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip(), flush=True)
