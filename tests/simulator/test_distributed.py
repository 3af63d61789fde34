"""A partitioned export of a real store, evaluated as map-reduce on a local Dask cluster, gives
exactly the single-process estimates; the export appends only new decisions."""
from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from api.cli import main
from artwork.partitions import MANIFEST, export_partitions, read_manifest
from artwork.records import LoggedDecision, Reward
from artwork.reward_mapping import RewardMapping
from bandit.snapshots import SnapshotStore
from bandit.types import Action, Context
from simulator.distributed import evaluate_partitioned
from simulator.errors import InvalidEstimatorError, InvalidLogError
from simulator.estimators import make_estimator
from simulator.evaluation import evaluate_policies
from simulator.log_files import read_log
from simulator.logs import ColumnMapping
from simulator.reward_model import RewardModel
from simulator.specs import parse_policy_spec, parse_policy_specs
from tests.conftest import log_decisions

DAY = 86_400.0
START = 1_767_225_600.0  # 2026-01-01T00:00:00Z
ARTS = ("a1", "a2", "a3", "a4")
WINDOW = 60.0


def log_day(store, day: int, count: int, seed: int, first: int = 0) -> list[str]:
    """Log `count` decisions spread over one day, rewards drawn per artwork; returns their event ids."""
    rng = np.random.default_rng(seed)
    decisions, rewards = [], []
    for i in range(first, first + count):
        pmf = np.array([0.55, 0.25, 0.15, 0.05])
        chosen = int(rng.choice(4, p=pmf))
        t = START + day * DAY + i * (DAY / 2 / max(count + first, 1))
        event = f"d{day}-{i:04d}"
        context = {"features": {"device": ["tv", "web"][i % 2]}, "genre_affinity": {}, "title_genres": []}
        decisions.append(LoggedDecision(event, t, f"u{i % 7}", "t1", context, ARTS, tuple(pmf),
                                        ARTS[chosen], float(pmf[chosen]), "vw", 1))
        if rng.random() < (0.1, 0.2, 0.4, 0.6)[chosen]:
            rewards.append(Reward(event, t + 5, "play"))
        if rng.random() < 0.5:
            rewards.append(Reward(event, t + 1, "click", 0.5))
    log_decisions(store, decisions)
    store.add_rewards(rewards)
    return [d.event_id for d in decisions]


@pytest.fixture
def partitioned(store, tmp_path):
    """A store's decisions over three days, exported (twice, incrementally) as date partitions."""
    first = log_day(store, 0, 150, 1) + log_day(store, 1, 150, 2)
    out = tmp_path / "log"
    done = export_partitions(store, out, window=WINDOW, reward_of=RewardMapping(), now=START + 2 * DAY)
    assert done.rows == 300 and done.export == 1
    assert done.files == ("date=2026-01-01/part-00001.parquet", "date=2026-01-02/part-00001.parquet")
    later = log_day(store, 2, 120, 3)
    return out, first, later


def event_ids(directory) -> list[str]:
    return ds.dataset(directory, format="parquet", partitioning="hive").to_table(
        columns=["event_id"]).column("event_id").to_pylist()


def test_second_export_appends_only_new_decisions(store, partitioned):
    out, first, later = partitioned
    assert sorted(event_ids(out)) == sorted(first)
    done = export_partitions(store, out, window=WINDOW, reward_of=RewardMapping(), now=START + 3 * DAY)
    assert done.rows == len(later) and done.files == ("date=2026-01-03/part-00002.parquet",)
    ids = event_ids(out)
    assert sorted(ids) == sorted(first + later) and len(ids) == len(set(ids))
    manifest = read_manifest(out)
    assert [e["rows"] for e in manifest["exports"]] == [300, 120]
    assert manifest["exports"][1]["after"] == manifest["exports"][0]["cursor"]
    # nothing new: nothing written; the next day's decisions are appended once
    assert export_partitions(store, out, window=WINDOW, reward_of=RewardMapping(), now=START + 3 * DAY).rows == 0
    more = log_day(store, 3, 10, 4)
    again = export_partitions(store, out, window=WINDOW, reward_of=RewardMapping(), now=START + 5 * DAY)
    assert again.rows == 10 and again.files == ("date=2026-01-04/part-00003.parquet",)
    assert sorted(event_ids(out)) == sorted(first + later + more)


def test_partitions_keep_raw_feedback_and_a_parquet_timestamp(store, partitioned):
    out, _, _ = partitioned
    table = pq.read_table(out / "date=2026-01-02" / "part-00001.parquet")
    assert str(table.schema.field("timestamp").type) == "timestamp[us, tz=UTC]"
    rows = table.to_pylist()
    for row in rows:
        assert row["timestamp"].date().isoformat() == "2026-01-02"
        assert row["reward"] == (1.0 if row["play"] else 0.0)  # the mapping: a play is 1
        assert row["click_value"] == (0.5 if row["click"] else None)
    assert any(r["click"] and not r["play"] for r in rows) and any(r["play"] for r in rows)
    # the Hive partition key reads back as a column
    whole = ds.dataset(out, format="parquet", partitioning="hive").to_table()
    assert set(whole.column("date").to_pylist()) == {"2026-01-01", "2026-01-02"}


def test_export_refuses_other_settings_and_leaves_nothing_half_written(store, partitioned, tmp_path):
    out, _, _ = partitioned
    with pytest.raises(ValueError, match="used window 60.0, this one 30.0"):
        export_partitions(store, out, window=30.0, reward_of=RewardMapping(), now=START + 3 * DAY)
    # an export killed mid-way (here: a failing reward mapping) leaves no file and no manifest change
    before, files = read_manifest(out), sorted(p for p in out.rglob("*") if p.is_file())

    def broken(kinds):
        raise RuntimeError("killed")

    broken.weights, broken.use_values = RewardMapping().weights, False
    with pytest.raises(RuntimeError):
        export_partitions(store, out, window=WINDOW, reward_of=broken, now=START + 3 * DAY)
    assert read_manifest(out) == before
    assert sorted(p for p in out.rglob("*") if p.is_file()) == files


def test_cli_partitioned_export_prints_what_it_appended(data_dir, tmp_path, capsys):
    from artwork.store import Store

    store = Store.open(data_dir)
    log_day(store, 0, 40, 5)
    store.close()
    out = tmp_path / "parts"
    argv = ["--data-dir", str(data_dir), "log", "export", str(out), "--partition-by", "date", "--json"]
    assert main(argv) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["rows"] == 40 and first["files"] == ["date=2026-01-01/part-00001.parquet"]
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["rows"] == 0
    assert (out / MANIFEST).exists()


def probability_file(path, directory) -> str:
    """A file: policy keyed by event id that prefers a4 (the best artwork) on every row."""
    ids = event_ids(directory)
    with open(path, "w") as f:
        f.write("event_id,action,probability\n")
        for e in ids:
            for art, p in zip(ARTS, (0.1, 0.1, 0.2, 0.6)):
                f.write(f"{e},{art},{p}\n")
    return f"file:{path}"


def vw_snapshot(tmp_path) -> str:
    """A VW policy's snapshot file, learned on a few decisions over the log's artworks."""
    policy = parse_policy_spec("vw:igw").build(0)
    actions = tuple(Action(a, features={"x": float(i)}) for i, a in enumerate(ARTS))
    for i in range(200):
        context = Context(f"u{i % 7}", "t1", features={"device": ["tv", "web"][i % 2]})
        decision = policy.decide(context, actions)
        policy.learn(context, actions, decision, float(decision.chosen == i % 2 * 3))
    return str(SnapshotStore(tmp_path / "models", policy.name).write(policy).path)


def test_dask_matches_single_process_on_two_worker_threads(store, partitioned, tmp_path):
    out, _, _ = partitioned
    export_partitions(store, out, window=WINDOW, reward_of=RewardMapping(), now=START + 3 * DAY)
    specs = parse_policy_specs(["uniform", "default:0.1", probability_file(tmp_path / "p.csv", out), "logged",
                                f"vw:igw,model={vw_snapshot(tmp_path)}"])
    assert not specs[-1].learns  # a model loaded from a snapshot is evaluated as it stands
    estimators = [make_estimator(n) for n in ("ips", "snips")]
    run = evaluate_partitioned(out, specs, estimators, workers=2, processes=False)
    assert run.n_rounds == 420 and len(run.partitions) == 3 and run.workers == 2
    single = evaluate_policies(read_log(out), specs, estimators)
    for dist, one in zip(run.evaluations, single):
        for a, b in zip(dist.estimates, one.estimates):
            assert (a.estimator, a.n_rounds, a.n_matched) == (b.estimator, b.n_rounds, b.n_matched)
            assert a.value == pytest.approx(b.value, abs=1e-9)
            assert (a.ci_low, a.ci_high) == pytest.approx((b.ci_low, b.ci_high), abs=1e-9)
            assert a.ess == pytest.approx(b.ess, rel=1e-9) and a.warnings == b.warnings


DR_FAMILY = ("dr", "sndr", "switch-dr", "dros")


def test_dask_doubly_robust_family_from_a_reward_model_fitted_on_a_sample(store, partitioned, tmp_path):
    out, _, _ = partitioned
    export_partitions(store, out, window=WINDOW, reward_of=RewardMapping(), now=START + 3 * DAY)
    specs = parse_policy_specs(["uniform", "default:0.1", "logged"])
    estimators = [make_estimator(n) for n in ("ips",) + DR_FAMILY]
    log = read_log(out)
    single = evaluate_policies(log, specs, estimators, estimated_rewards=RewardModel().fit(log))
    # A sample as large as the log: every row is predicted by the cross-fit on it, as in one process.
    whole = evaluate_partitioned(out, specs, estimators, workers=2, processes=False)
    # About a third of the rows: the others are predicted by the model fitted on them.
    sampled = evaluate_partitioned(out, specs, estimators, workers=2, processes=False, model_sample=140)
    for one, everything, some in zip(single, whole.evaluations, sampled.evaluations):
        for a, b, c in zip(one.estimates, everything.estimates, some.estimates):
            assert a.estimator == b.estimator == c.estimator and a.n_rounds == b.n_rounds == c.n_rounds == 420
            assert b.value == pytest.approx(a.value, abs=1e-9)
            assert (b.ci_low, b.ci_high) == pytest.approx((a.ci_low, a.ci_high), abs=1e-9)
            # Another reward model: the same quantity, estimated within the estimate's own noise.
            assert abs(c.value - a.value) < (a.ci_high - a.ci_low) / 2
            assert c.ci_low <= c.value <= c.ci_high


@pytest.mark.slow
def test_cli_dask_engine_on_two_worker_processes_matches_local(store, partitioned, tmp_path, capsys):
    out, _, _ = partitioned
    export_partitions(store, out, window=WINDOW, reward_of=RewardMapping(), now=START + 3 * DAY)
    policies = ["uniform", "default:0.1", probability_file(tmp_path / "p.csv", out)]
    flags = [x for p in policies for x in ("--policy", p)] + ["--estimators", "ips,snips", "--json"]
    reports = {}
    for engine in ("local", "dask"):
        extra = ["--engine", "dask", "--workers", "2"] if engine == "dask" else []
        assert main(["replay", str(out), *flags, *extra, "--out", str(tmp_path / engine)]) == 0
        reports[engine] = json.loads(capsys.readouterr().out)
    meta = reports["dask"]["meta"]
    assert meta["engine"] == "dask" and meta["workers"] == 2 and meta["partitions"] == 3
    assert 0 < meta["peak_worker_memory_mib"] < 1024
    local = {(r["policy"], r["estimator"]): r for r in reports["local"]["estimates"]}
    assert len(local) == 6
    for row in reports["dask"]["estimates"]:
        want = local[(row["policy"], row["estimator"])]
        for key in ("value", "ci_low", "ci_high"):
            assert row[key] == pytest.approx(want[key], abs=1e-9)


@pytest.mark.parametrize("policy,estimators,why", [
    ("egreedy:0.1", "ips", "sequential"),
    ("uniform", "ips,dm", "bootstraps the whole log"),
    ("uniform", "replay", "not a sum over rows"),
])
def test_dask_engine_refuses_what_does_not_distribute(partitioned, tmp_path, capsys, policy, estimators, why):
    out, _, _ = partitioned
    code = main(["replay", str(out), "--engine", "dask", "--policy", policy, "--estimators", estimators,
                 "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code != 0 and why in err and "--engine local" in err and len(err.strip().splitlines()) == 1
    with pytest.raises(InvalidEstimatorError, match=why):
        evaluate_partitioned(out, parse_policy_specs([policy]),
                             [make_estimator(n) for n in estimators.split(",")])


def test_a_bad_partition_is_named_in_one_line(store, partitioned, tmp_path, capsys):
    out, _, _ = partitioned
    bad = out / "date=2026-01-02" / "part-00001.parquet"
    table = pq.read_table(bad)
    probability = table.column("probability").to_pylist()
    probability[3] = 0.0
    pq.write_table(table.set_column(table.schema.get_field_index("probability"), "probability",
                                    pa.array(probability)), bad)
    with pytest.raises(InvalidLogError, match=r"part-00001.parquet: column 'probability', row 4"):
        evaluate_partitioned(out, parse_policy_specs(["uniform"]), [make_estimator("ips")], processes=False)


def test_foreign_partitions_without_candidates_see_the_whole_logs_actions(tmp_path):
    # one day never chose "c": "all actions seen" and the support are the whole log's, as in one process
    rng = np.random.default_rng(7)
    for day, arms in (("2026-01-01", "abc"), ("2026-01-02", "ab")):
        folder = tmp_path / "log" / f"date={day}"
        folder.mkdir(parents=True)
        arm = [arms[i] for i in rng.integers(0, len(arms), 200)]
        reward = (rng.random(200) < 0.3).astype(float)
        with open(folder / "part.csv", "w") as f:
            f.write("arm,r,p,device\n" + "".join(f"{a},{r},{1 / len(arms)},{['tv', 'web'][i % 2]}\n"
                                                 for i, (a, r) in enumerate(zip(arm, reward))))
    mapping = ColumnMapping(action="arm", reward="r", propensity="p", candidates=None, context=("device",))
    specs = parse_policy_specs(["uniform", "default"])
    estimators = [make_estimator("ips"), make_estimator("snips")]
    run = evaluate_partitioned(tmp_path / "log", specs, estimators, mapping=mapping, processes=False)
    single = evaluate_policies(read_log(tmp_path / "log", mapping), specs, estimators)
    for dist, one in zip(run.evaluations, single):
        for a, b in zip(dist.estimates, one.estimates):
            assert (a.value, a.ci_low, a.ci_high) == pytest.approx((b.value, b.ci_low, b.ci_high), abs=1e-9)
            assert a.warnings == b.warnings


def test_next_export_finishes_a_committed_one_and_drops_an_uncommitted_one(store, partitioned):
    out, first, later = partitioned
    # killed after the manifest committed export 1, before its second file was renamed into place
    final = out / "date=2026-01-02" / "part-00001.parquet"
    final.rename(final.with_name(".part-00001.parquet.tmp"))
    # and an earlier export killed before its commit left a temporary file behind
    stray = out / "date=2026-01-03" / ".part-00002.parquet.tmp"
    stray.parent.mkdir()
    stray.write_bytes(b"half")
    assert len(read_log(out).event_id) == 150  # readers skip hidden files
    done = export_partitions(store, out, window=WINDOW, reward_of=RewardMapping(), now=START + 3 * DAY)
    assert done.rows == len(later) and final.exists() and not stray.exists()
    ids = event_ids(out)
    assert sorted(ids) == sorted(first + later) and len(ids) == len(set(ids))
