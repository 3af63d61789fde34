"""The learner: online updates, periodic snapshots, and resuming after being killed."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import bandit
from bandit import InvalidRecordError, Learner, LearningItem, SnapshotStore, UniformPolicy, VWPolicy

# A learner process: replays a fixed, seeded stream of logged decisions and their rewards.
LEARNER_SCRIPT = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    from artwork.reward_mapping import RewardMapping
    from bandit import Learner, LearningItem, SnapshotStore, UniformPolicy, VWPolicy
    from simulator.world import World, WorldConfig

    snap_dir, total, pause = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    world = World(WorldConfig(n_users=40, n_titles=4, artworks_per_title=4, seed=2))
    logger, rng, reward_of = UniformPolicy(seed=5), np.random.default_rng(6), RewardMapping()
    items = []
    for i, imp in enumerate(world.impressions(total, seed=7)):
        d = logger.decide(imp.context, imp.actions, event_id=f"ev{i}")
        items.append(LearningItem(imp.context, imp.actions, d, reward_of(world.feedback(imp, d.chosen, rng))))
    learner = Learner(VWPolicy(), SnapshotStore(snap_dir, "vw", keep=3), snapshot_every=50)
    print("resumed at", learner.learned, flush=True)

    def slowly(items):
        for item in items:
            time.sleep(pause)
            yield item

    stats = learner.run(slowly(learner.remaining(items)))
    print("done", stats.total_learned, flush=True)
    """
)


def _run_learner(script: Path, snap_dir: Path, total: int, pause: float) -> subprocess.Popen:
    root = Path(bandit.__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=str(root))
    return subprocess.Popen(
        [sys.executable, str(script), str(snap_dir), str(total), str(pause)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def test_killed_learner_resumes_from_its_last_snapshot(tmp_path, small_world):
    script = tmp_path / "learner.py"
    script.write_text(LEARNER_SCRIPT)
    total = 600
    killed_dir, reference_dir = tmp_path / "killed", tmp_path / "reference"
    store = SnapshotStore(killed_dir, "vw", keep=3)

    proc = _run_learner(script, killed_dir, total, pause=0.004)
    deadline = time.monotonic() + 120
    while store.newest_version() < 4:
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline, "learner wrote no snapshots"
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    at_kill = store.read()
    assert 4 <= at_kill.version and at_kill.learned == 50 * at_kill.version < total

    proc = _run_learner(script, killed_dir, total, pause=0.0)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert f"resumed at {at_kill.learned}" in out and f"done {total}" in out
    assert store.read().learned == total and store.newest_version() > at_kill.version

    proc = _run_learner(script, reference_dir, total, pause=0.0)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err

    resumed, reference = VWPolicy(), VWPolicy()
    store.load_into(resumed)
    SnapshotStore(reference_dir, "vw").load_into(reference)
    assert resumed.model_version == reference.model_version
    for imp in small_world.impressions(40, seed=3):
        assert resumed.pmf(imp.context, imp.actions) == pytest.approx(reference.pmf(imp.context, imp.actions), abs=1e-6)


def test_learner_snapshots_every_n_items_and_at_the_end(tmp_path, small_world):
    logger = UniformPolicy(seed=1)
    items = []
    for imp in small_world.impressions(130, seed=2):
        d = logger.decide(imp.context, imp.actions)
        items.append(LearningItem(imp.context, imp.actions, d, 1.0 if d.chosen == 0 else 0.0))
    store = SnapshotStore(tmp_path, "vw", keep=10)
    learner = Learner(VWPolicy(), store, snapshot_every=50)
    stats = learner.run(items)
    assert (stats.learned, stats.total_learned, stats.snapshots, stats.model_version) == (130, 130, 3, 3)
    assert [store.read(v).learned for v in store.versions()] == [50, 100, 130]
    assert store.read().last_event_id == items[-1].decision.event_id

    again = Learner(VWPolicy(), store, snapshot_every=50)
    assert again.learned == 130 and again.resumed_from.version == 3
    assert list(again.remaining(items)) == []
    fresh = Learner(VWPolicy(), store, resume=False)
    assert fresh.learned == 0 and fresh.policy.model_version == 0


def test_learner_takes_plain_tuples_and_refuses_other_things(small_world):
    imp = next(small_world.impressions(1, seed=4))
    policy = VWPolicy()
    learner = Learner(policy)
    d = policy.decide(imp.context, imp.actions)
    learner.learn((imp.context, imp.actions, d, 1.0))
    learner.learn((imp.context, imp.actions, d, 0.0, True))  # with whether the user engaged
    assert learner.learned == 2
    for bad in ((imp.context, d), (imp.context, imp.actions, d, 0.0, True, "more")):
        with pytest.raises(InvalidRecordError, match="not \\(context, actions, decision, reward\\[, engaged\\]\\)"):
            learner.learn(bad)


def test_a_learner_resumes_from_the_newest_sound_snapshot(tmp_path, caplog):
    store = SnapshotStore(tmp_path, "vw")
    policy = VWPolicy()
    store.write(policy, learned=10, last_event_id="e10")
    store.write(policy, learned=20, last_event_id="e20")
    data = bytearray(store.path_of(2).read_bytes())
    data[-60:-20] = b"\xab" * 40  # model bytes damaged, length kept
    store.path_of(2).write_bytes(bytes(data))
    learner = Learner(VWPolicy(), store)
    assert (learner.learned, learner.last_event_id, learner.policy.model_version) == (10, "e10", 1)
    assert store.quarantined() == [2]
