"""Reading logs: partition directories and globs, one-line errors for bad files, column-wise
contexts, position as part of the context, and row-keyed probabilities that follow their rows."""
from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from api.cli import main
from simulator.errors import InvalidLogError, LogFormatError
from simulator.log_files import read_log
from simulator.logs import BanditRows, ColumnMapping

FOREIGN = ColumnMapping(action="arm", reward="r", propensity="p", candidates=None)


def write_csv(path, text: str):
    path.write_text(text)
    return path


def replay_json(capsys, *argv) -> tuple[int, dict | None, str]:
    code = main(["replay", *map(str, argv), "--json"])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if code == 0 else None), err


def test_header_only_csv_is_one_line_error(tmp_path, capsys):
    path = write_csv(tmp_path / "empty.csv", "arm,r,p\n")
    with pytest.raises(InvalidLogError, match="has no rows"):
        read_log(path, FOREIGN)
    code, _, err = replay_json(capsys, path, "--action-col", "arm", "--reward-col", "r", "--propensity-col", "p",
                               "--policy", "uniform", "--out", tmp_path / "o")
    assert code != 0 and "Traceback" not in err
    assert err.strip().splitlines() == ["artbandit: error: empty.csv: has no rows (a header and nothing else?); "
                                        "nothing to evaluate"]


def test_binary_file_error_shows_no_raw_bytes(tmp_path, capsys):
    path = tmp_path / "log.csv"
    path.write_bytes(bytes(np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8)))
    with pytest.raises(LogFormatError, match="is not CSV text"):
        read_log(path, FOREIGN)
    code, _, err = replay_json(capsys, path, "--action-col", "arm", "--policy", "uniform", "--out", tmp_path / "o")
    assert code != 0 and len(err.strip().splitlines()) == 1
    assert all(" " <= c <= "~" for c in err.strip())


def test_context_columns_are_encoded_as_json_objects(tmp_path):
    table = pa.table({"arm": ["a", "b", "a"], "r": [1.0, 0.0, 1.0], "p": [0.5, 0.5, 0.5],
                      "device": ['t"v', None, "web\\x"], "hour": [20.5, float("nan"), 7.25],
                      "age": [30, 41, None], "member": [True, False, True]})
    pq.write_table(table, tmp_path / "f.parquet")
    log = read_log(tmp_path / "f.parquet", ColumnMapping(action="arm", reward="r", propensity="p",
                                                         candidates=None, context=("hour", "device", "age", "member")))
    expected = [{"device": 't"v', "hour": 20.5, "age": 30, "member": True},
                {"age": 41, "member": False},
                {"device": "web\\x", "hour": 7.25, "member": True}]
    for row, features in enumerate(expected):
        assert log.context[row] == json.dumps({"features": features}, sort_keys=True)
        assert log.bandit_context(row).features == features


def write_partition(directory, date: str, rows: list[tuple[str, float, float]], name="part-0.parquet"):
    folder = directory / f"date={date}"
    folder.mkdir(parents=True, exist_ok=True)
    arm, r, p = zip(*rows)
    pq.write_table(pa.table({"arm": list(arm), "r": list(r), "p": list(p)}), folder / name)


def test_directory_and_glob_read_every_visible_partition(tmp_path):
    root = tmp_path / "log"
    write_partition(root, "2026-01-01", [("a", 1.0, 0.5), ("b", 0.0, 0.5)])
    write_partition(root, "2026-01-02", [("b", 1.0, 0.5)])
    write_partition(root, "2026-01-02", [("a", 9.0, 0.5)], name=".part-1.parquet.tmp")  # half-written: skipped
    (root / "_artbandit_export.json").write_text("{}")
    log = read_log(root, FOREIGN)
    assert log.reward.tolist() == [1.0, 0.0, 1.0] and log.row_number.tolist() == [1, 2, 3]
    dated = read_log(root, ColumnMapping(action="arm", reward="r", propensity="p", candidates=None,
                                         context=("date",)))
    assert dated.bandit_context(2).features == {"date": "2026-01-02"}
    one_day = read_log(str(root / "date=2026-01-02" / "*.parquet"), FOREIGN)
    assert one_day.reward.tolist() == [1.0]
    with pytest.raises(LogFormatError, match="matches no file"):
        read_log(str(root / "date=2027-*" / "*.parquet"), FOREIGN)
    (tmp_path / "empty").mkdir()
    with pytest.raises(LogFormatError, match="holds no .parquet or .csv files"):
        read_log(tmp_path / "empty", FOREIGN)


def test_row_keyed_probabilities_stay_with_their_rows_when_sorted_by_time(tmp_path, capsys):
    # rows in the file are in reverse time order; the policy file names rows of the file
    log = write_csv(tmp_path / "log.csv", "arm,r,p,t\na,1,0.5,3\nb,0,0.5,2\nb,0,0.5,1\n")
    probs = write_csv(tmp_path / "probs.csv", "row,action,probability\n1,a,1\n2,a,1\n3,b,1\n")
    code, report, _ = replay_json(capsys, log, "--action-col", "arm", "--reward-col", "r", "--propensity-col", "p",
                                  "--time-col", "t", "--policy", f"file:{probs}", "--estimators", "ips",
                                  "--out", tmp_path / "o")
    assert code == 0
    # w r = 2 on the first file row only: IPS = 2 / 3, whatever order the rows are replayed in
    assert report["estimates"][0]["value"] == pytest.approx(2 / 3, abs=1e-12)
    sorted_log = read_log(log, ColumnMapping(action="arm", reward="r", propensity="p", candidates=None, time="t"))
    assert sorted_log.row_number.tolist() == [3, 2, 1]


def test_position_is_part_of_the_context_a_policy_sees(tmp_path):
    table = pa.table({"arm": ["a", "b", "a", "b"], "r": [1.0, 0.0, 0.0, 1.0], "p": [0.5] * 4,
                      "slot": [1, 2, 1, 2], "device": ["tv"] * 4})
    pq.write_table(table, tmp_path / "f.parquet")
    mapping = ColumnMapping(action="arm", reward="r", propensity="p", candidates=None, context=("device",),
                            position="slot")
    log = read_log(tmp_path / "f.parquet", mapping)
    rows = BanditRows(log)
    distinct, first = rows.distinct()
    assert distinct.tolist() == [0, 1] and first.tolist() == [0, 1, 0, 1]  # one context per slot
    assert rows.context(1).features == {"device": "tv", "position": 2}
    no_slot = BanditRows(read_log(tmp_path / "f.parquet", ColumnMapping(
        action="arm", reward="r", propensity="p", candidates=None, context=("device",))))
    assert no_slot.distinct()[0].tolist() == [0]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("blank", ["", None])
def test_an_empty_action_is_named_by_its_row(tmp_path, fmt, blank):
    arms = ["a", "b", "a", blank, "b"]
    if fmt == "csv":
        rows = "".join(f"{'' if a is None else a},1,0.5\n" for a in arms)
        path = write_csv(tmp_path / "log.csv", "arm,r,p\n" + rows)
    else:  # read back as a dictionary column
        path = tmp_path / "log.parquet"
        pq.write_table(pa.table({"arm": arms, "r": [1.0] * 5, "p": [0.5] * 5}), path)
    with pytest.raises(InvalidLogError, match=r"column 'arm', row 4: is empty; expected an artwork id"):
        read_log(path, FOREIGN)
    with pytest.raises(InvalidLogError, match=r"row 8: is empty"):  # a later chunk's row, numbered in the log
        read_log(path, FOREIGN, first_row=5)


def test_rows_without_candidates_are_one_clear_error(tmp_path):
    path = tmp_path / "log.parquet"
    pq.write_table(pa.table({"arm": ["a", "b"], "r": [1.0, 0.0], "p": [0.5, 0.5],
                             "cands": pa.array([[], []], pa.list_(pa.string()))}), path)
    mapping = ColumnMapping(action="arm", reward="r", propensity="p", candidates="cands")
    with pytest.raises(InvalidLogError, match=r"row 1: action 'a' is not among the candidates \[\]"):
        read_log(path, mapping)


def test_the_logged_action_is_found_in_lists_that_repeat_and_in_lists_that_do_not(tmp_path, monkeypatch):
    import simulator.log_files as log_files

    rng = np.random.default_rng(4)
    arms = [f"a{i}" for i in range(6)]
    lists = [list(rng.permutation(arms)[: rng.integers(2, 6)]) for _ in range(300)]
    lists[7] = ["a1", "a2", "a1"]  # listed twice: its first column is the one
    chosen = [int(rng.integers(0, len(c))) for c in lists]
    chosen[7] = 2
    path = tmp_path / "log.parquet"
    pq.write_table(pa.table({"arm": [c[k] for c, k in zip(lists, chosen)], "r": [1.0] * 300, "p": [0.5] * 300,
                             "cands": lists}), path)
    mapping = ColumnMapping(action="arm", reward="r", propensity="p", candidates="cands")
    with pytest.raises(InvalidLogError, match="row 8: artwork 'a1' is listed twice"):
        read_log(path, mapping)
    lists[7], chosen[7] = ["a1", "a2", "a3"], 0
    pq.write_table(pa.table({"arm": [c[k] for c, k in zip(lists, chosen)], "r": [1.0] * 300, "p": [0.5] * 300,
                             "cands": lists}), path)
    by_table = read_log(path, mapping)
    monkeypatch.setattr(log_files, "_POSITION_TABLE_ENTRIES", 0)  # row by row instead
    by_rows = read_log(path, mapping)
    assert by_table.action.tolist() == by_rows.action.tolist() == chosen
