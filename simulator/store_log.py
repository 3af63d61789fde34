"""The store's decision log as logged feedback, in memory: the rows `artbandit log export` writes."""
from __future__ import annotations

from artwork.export import PARQUET, log_schema, record_batches
from artwork.join import RewardFn
from artwork.store import Store

from simulator.log_files import read_batches
from simulator.logs import LoggedFeedback


def load_store_log(store: Store, *, window: float, reward_of: RewardFn,
                   now: float | None = None) -> LoggedFeedback | None:
    """Every decision whose reward window has closed, with its reward; None when there is none.

    The same rows, through the same readers, as an export of the store read back with
    `read_log`, so the studio evaluates exactly what an analyst's export would hold.
    """
    batches = [b for b in record_batches(store.learning_pairs(window, reward_of, now=now), PARQUET)
               if b.num_rows]
    if not batches:
        return None
    return read_batches(batches, log_schema(PARQUET), source="the decision log")
