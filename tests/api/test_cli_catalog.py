"""The catalog commands of `artbandit`, run through the real entry point."""
from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from api.cli import build_parser, main
from artwork.records import LoggedDecision, Reward
from artwork.store import Store
from tests.conftest import log_decisions


@pytest.fixture
def run(data_dir, capsys):
    """Run `artbandit --data-dir DATA ARGS...`; returns (exit code, stdout, stderr)."""

    def go(*args: str):
        code = main(["--data-dir", str(data_dir), *args])
        out, err = capsys.readouterr()
        return code, out, err

    return go


def test_init_title_and_artwork_flow(run, data_dir, tmp_path, jpeg_bytes):
    assert run("init")[0] == 0
    assert (data_dir / "artbandit.db").exists()
    code, out, _ = run("title", "add", "bbb", "--name", "Big Buck Bunny", "--genre", "animation",
                       "--genre", "comedy", "--json")
    assert code == 0 and json.loads(out)[0]["genres"] == ["animation", "comedy"]
    code, out, _ = run("title", "list", "--json")
    assert [t["id"] for t in json.loads(out)] == ["bbb"]
    code, out, _ = run("title", "list")
    assert "Big Buck Bunny" in out and "animation,comedy" in out
    files = []
    for i in range(2):
        f = tmp_path / f"still{i}.jpg"
        f.write_bytes(jpeg_bytes(i))
        files.append(str(f))
    code, out, _ = run("artwork", "add", "bbb", *files, "--json")
    added = json.loads(out)
    assert code == 0 and len(added) == 2
    code, out, _ = run("artwork", "set-status", added[0]["id"], "live", "--json")
    assert json.loads(out)[0]["status"] == "live"
    code, out, _ = run("artwork", "list", "bbb", "--status", "live", "--json")
    assert [a["id"] for a in json.loads(out)] == [added[0]["id"]]
    code, out, _ = run("artwork", "set-default", added[1]["id"])
    assert code == 0 and "True" in out
    code, out, _ = run("artwork", "list", "bbb")
    assert added[0]["id"] in out and added[1]["id"] in out


@pytest.mark.parametrize(
    "args, message",
    [
        (("title", "add", "../x", "--name", "N"), "title id '../x' is not valid"),
        (("artwork", "list", "nope"), "no title 'nope'; `artbandit title list` shows the titles"),
        (("artwork", "set-status", "missing", "live"),
         "no artwork 'missing'; `artbandit artwork list TITLE` shows a title's artworks"),
        (("artwork", "add", "t1", "/does/not/exist.jpg"), "no such file"),
        (("log", "export", "out.txt"), "name the file .csv or .parquet"),
        (("log", "export", "out.csv", "--reward", "play"), "write it as KIND=NUMBER"),
        (("log", "export", "out.csv", "--reward", "like=1"), "feedback kinds are"),
    ],
)
def test_errors_are_one_line_with_nonzero_exit(run, args, message):
    run("title", "add", "t1", "--name", "One")
    code, out, err = run(*args)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("artbandit: error: ")
    assert message in err


def test_bad_image_via_cli_writes_nothing(run, data_dir, tmp_path, jpeg_bytes):
    run("title", "add", "t1", "--name", "One")
    good, bad = tmp_path / "good.jpg", tmp_path / "bad.jpg"
    good.write_bytes(jpeg_bytes(1))
    bad.write_text("not an image")
    code, _, err = run("artwork", "add", "t1", str(good), str(bad))
    assert code == 2 and "bad.jpg: not a decodable image" in err
    assert Store.open(data_dir).list_artworks("t1") == []


def test_log_export(run, data_dir, tmp_path):
    run("title", "add", "t1", "--name", "One")
    store = Store.open(data_dir)
    log_decisions(store, [LoggedDecision(f"e{i}", 10.0 + i, "u", "t1", {}, ("a", "b"),
                                         (0.5, 0.5), "a", 0.5, "uniform", 0) for i in range(5)])
    store.add_rewards([Reward("e2", 11.0, "play")])
    out = tmp_path / "log.parquet"
    code, text, _ = run("log", "export", str(out), "--window", "5", "--json")
    assert code == 0 and json.loads(text)["rows"] == 5
    assert pq.read_table(out).column("reward").to_pylist() == [0, 0, 1, 0, 0]


def _all_parsers(parser: argparse.ArgumentParser):
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _all_parsers(sub)


def test_every_option_of_every_command_is_described():
    for parser in _all_parsers(build_parser()):
        assert parser.description or parser.prog == "artbandit", parser.prog
        for action in parser._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            assert action.help, f"{parser.prog}: {action.dest} has no help text"


def test_console_script_help_runs():
    result = subprocess.run([sys.executable, "-m", "api.cli", "--help"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0
    for command in ("init", "title", "artwork", "log"):
        assert command in result.stdout
