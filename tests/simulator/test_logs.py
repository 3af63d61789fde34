"""Reading and validating logged feedback: the store's export, foreign logs, malformed files."""
from __future__ import annotations

import csv
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from simulator.errors import InvalidLogError, LogFormatError, MissingColumnError
from simulator.log_files import read_log, write_log
from simulator.logs import ColumnMapping, LoggedFeedback

from tests.simulator.conftest import EXPORT_HEADER, export_row, write_export_csv


def test_reads_store_csv_export_without_mapping(tmp_path, export_rows):
    log = read_log(write_export_csv(tmp_path / "log.csv", export_rows))
    assert log.n_rounds == 6
    assert log.action_names == ("a1", "a2", "a3")
    assert log.action.tolist() == [0, 1, 2, 0, 0, 1]
    np.testing.assert_array_equal(log.pscore, [0.5, 0.3, 0.2, 0.5, 0.5, 0.3])
    np.testing.assert_array_equal(log.pmf, [[0.5, 0.3, 0.2]] * 6)
    assert log.reward.tolist() == [1.0, 0.0, 1.0, 0.0, 1.0, 1.0]
    ctx = log.bandit_context(2)
    assert (ctx.user_id, ctx.title_id, ctx.features["device"], ctx.title_genres) == ("u2", "t1", "tv", ("drama",))
    assert log.event_id.tolist() == [f"e{i}" for i in range(6)]


def test_reads_store_parquet_export_in_chunks(tmp_path, export_rows):
    table = pa.table({
        **{c: [r[c] for r in export_rows] for c in EXPORT_HEADER if c not in ("candidates", "pmf")},
        "candidates": pa.array([json.loads(r["candidates"]) for r in export_rows], pa.list_(pa.string())),
        "pmf": pa.array([json.loads(r["pmf"]) for r in export_rows], pa.list_(pa.float64())),
    })
    pq.write_table(table, tmp_path / "log.parquet", row_group_size=4)
    whole = read_log(write_export_csv(tmp_path / "log.csv", export_rows))
    chunked = read_log(tmp_path / "log.parquet", chunk_rows=2)
    for name in ("action", "reward", "pscore", "candidates", "pmf", "timestamp"):
        np.testing.assert_array_equal(getattr(chunked, name), getattr(whole, name))
    assert chunked.context.tolist() == whole.context.tolist()


def test_variable_candidate_lists_are_padded(tmp_path):
    rows = [export_row(0, ["x", "y"], [0.5, 0.5], "y", 1.0),
            export_row(1, ["z", "x", "w"], [0.2, 0.2, 0.6], "w", 0.0)]
    log = read_log(write_export_csv(tmp_path / "log.csv", rows))
    assert log.candidate_names(0) == ("x", "y") and log.candidate_names(1) == ("z", "x", "w")
    assert log.candidates[0, 2] == -1 and log.pmf[0, 2] == 0.0
    assert log.action.tolist() == [1, 2]


def test_write_log_round_trips_both_formats(tmp_path, world_log):
    log = world_log.log
    for name in ("log.csv", "log.parquet"):
        back = read_log(write_log(log, tmp_path / name))
        np.testing.assert_array_equal(back.pmf, log.pmf)
        np.testing.assert_array_equal(back.reward, log.reward)
        assert [back.candidate_names(i) for i in range(50)] == [log.candidate_names(i) for i in range(50)]
        assert back.bandit_context(7) == log.bandit_context(7)


def _foreign(tmp_path, rows, header):
    path = tmp_path / "foreign.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def test_foreign_csv_with_mapping_glob_context_and_all_actions_seen(tmp_path):
    header = ["ts", "arm", "clicked", "prop", "user_feature_age", "user_feature_device", "other"]
    rows = [[3, "B", 1, 0.5, 30, "tv", "x"], [1, "A", 0, 0.25, 40, "web", "y"], [2, "C", 1, 0.25, 50, "tv", "z"]]
    path = _foreign(tmp_path, rows, header)
    mapping = ColumnMapping(action="arm", reward="clicked", propensity="prop", context=("user_feature_*",),
                            candidates=None, time="ts")
    log = read_log(path, mapping)
    assert log.n_rounds == 3
    assert log.timestamp.tolist() == [1.0, 2.0, 3.0]  # replayed in time order
    assert [log.action_names[i] for i in log.action_id] == ["A", "C", "B"]
    assert log.candidate_names(0) == ("A", "B", "C")  # every action seen, in name order
    assert log.pmf is None and log.pscore.tolist() == [0.25, 0.25, 0.5]
    assert log.bandit_context(0).features == {"user_feature_age": 40, "user_feature_device": "web"}


def test_foreign_parquet_with_candidate_and_position_columns(tmp_path):
    pq.write_table(pa.table({
        "item": ["p", "q"], "y": [0.0, 2.5], "p": [0.5, 0.1], "slate": ["p|q", '["q", "r"]'], "pos": [1, 2],
        "f1": [0.1, 0.2],
    }), tmp_path / "f.parquet")
    mapping = ColumnMapping(action="item", reward="y", propensity="p", candidates="slate", position="pos",
                            context="f1")
    log = read_log(tmp_path / "f.parquet", mapping)
    assert log.candidate_names(1) == ("q", "r") and log.action.tolist() == [0, 0]
    assert log.position.tolist() == [1, 2]
    assert log.bandit_context(1).features == {"f1": 0.2, "position": 2}  # policies see the slot


MALFORMED = [
    # (what to change in row 3 (index 2), expected column, message part)
    ({"probability": 0.0}, "probability", "outside (0, 1]"),
    ({"probability": 1.5, "pmf": json.dumps([0.5, 0.3, 0.2])}, "probability", "outside (0, 1]"),
    ({"pmf": json.dumps([0.5, 0.3, 0.3]), "probability": 0.3}, "pmf", "sums to 1.1"),
    ({"action": "zz"}, "action", "not among the candidates"),
    ({"reward": "nan"}, "reward", "is empty or NaN"),
    ({"reward": "lots"}, "reward", "not a number"),
    ({"candidates": "[not json"}, "candidates", "is not a JSON list"),
    ({"pmf": json.dumps([0.5, 0.5])}, "pmf", "2 entries for 3 candidates"),
    ({"context": "[1, 2]"}, "context", "not a JSON object"),
    ({"probability": 0.4}, "probability", "differs from the pmf"),
    ({"candidates": json.dumps(["a1", "a1", "a3"])}, "candidates", "listed twice"),
]


@pytest.mark.parametrize("change, column, message", MALFORMED)
def test_malformed_export_names_column_and_row(tmp_path, export_rows, change, column, message):
    export_rows[2].update(change)
    path = write_export_csv(tmp_path / "bad.csv", export_rows)
    with pytest.raises(InvalidLogError) as err:
        read_log(path)
    assert f"column {column!r}, row 3" in str(err.value)
    assert message in str(err.value)


def test_missing_column_names_it_and_its_role(tmp_path):
    path = _foreign(tmp_path, [["a", 1, 0.5]], ["arm", "r", "p"])
    with pytest.raises(MissingColumnError, match=r"column 'reward' \(reward\) not found in foreign.csv") as err:
        read_log(path, ColumnMapping(action="arm", propensity="p", candidates=None))
    assert err.value.role == "reward"
    with pytest.raises(MissingColumnError, match="context pattern 'user_\\*' matches no column") as err:
        read_log(path, ColumnMapping(action="arm", reward="r", propensity="p", candidates=None, context="user_*"))
    assert err.value.role == "context"


def test_mapping_needs_a_propensity_or_pmf():
    with pytest.raises(MissingColumnError, match="neither a propensity nor a pmf column") as err:
        ColumnMapping(propensity=None, pmf=None)
    assert err.value.role == "pscore"


def test_unknown_format_and_missing_file(tmp_path):
    (tmp_path / "log.json").write_text("{}")
    with pytest.raises(LogFormatError, match="cannot tell the format from the suffix '.json'"):
        read_log(tmp_path / "log.json")
    with pytest.raises(LogFormatError, match="no such file"):
        read_log(tmp_path / "absent.csv")


def test_array_validation_on_construction():
    ok = dict(action=[0], reward=[1.0], pscore=[0.5], candidates=[[0, 1]], action_names=("a", "b"))
    LoggedFeedback(**ok)
    with pytest.raises(InvalidLogError, match="column 'action', row 1: action is not among the 2 candidates"):
        LoggedFeedback(**{**ok, "action": [2]})
    with pytest.raises(InvalidLogError, match="column 'reward': 2 rows"):
        LoggedFeedback(**{**ok, "reward": [1.0, 0.0]})
