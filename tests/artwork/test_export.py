"""The exported logged-feedback file reads back as exactly what was logged."""
from __future__ import annotations

import json

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from artwork.errors import InvalidRecordError
from artwork.export import COLUMNS, export_log
from artwork.records import Reward
from artwork.reward_mapping import RewardMapping


@pytest.fixture
def logged(store, make_decision, log_decisions):
    decisions = [make_decision(f"e{i}", 100.0 + i, chosen=i % 3, user=f"u{i % 4}")
                 for i in range(30)]
    log_decisions(store, decisions)
    store.add_rewards([Reward(f"e{i}", 101.0 + i, "play") for i in range(0, 30, 4)])
    store.add_rewards([Reward(f"e{i}", 101.0 + i, "click") for i in range(1, 30, 5)])
    expected = {i: 1.0 if i % 4 == 0 else 0.0 for i in range(30)}
    return decisions, expected


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_export_reads_back_equal(store, tmp_path, logged, fmt):
    decisions, rewards = logged
    out = tmp_path / f"log.{fmt}"
    n = export_log(store, out, window=60, reward_of=RewardMapping(), now=10_000)
    assert n == 30
    table = pacsv.read_csv(out) if fmt == "csv" else pq.read_table(out)
    assert tuple(table.column_names) == COLUMNS
    rows = table.to_pylist()
    for i, (row, d) in enumerate(zip(rows, decisions)):
        cands = json.loads(row["candidates"]) if fmt == "csv" else row["candidates"]
        pmf = json.loads(row["pmf"]) if fmt == "csv" else row["pmf"]
        assert row["event_id"] == d.event_id and row["timestamp"] == d.timestamp
        assert (row["user_id"], row["title_id"]) == (d.user_id, d.title_id)
        assert json.loads(row["context"]) == d.context
        assert tuple(cands) == d.candidates and tuple(pmf) == d.pmf
        assert row["action"] == d.action and row["probability"] == d.probability
        assert row["reward"] == rewards[i]
        assert (row["policy"], row["model_version"]) == (d.policy, d.model_version)


def test_export_refuses_unknown_format_and_leaves_no_file(store, tmp_path, logged):
    with pytest.raises(InvalidRecordError, match="name the file .csv or .parquet"):
        export_log(store, tmp_path / "log.xlsx", window=60, reward_of=RewardMapping())
    assert not (tmp_path / "log.xlsx").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["data"]
