"""Snapshot files: versions, atomic writes, pruning, damaged files and mismatched policies."""
from __future__ import annotations

import pytest

from bandit import (
    InvalidPolicyError,
    SnapshotError,
    SnapshotStore,
    ThompsonPolicy,
    UniformPolicy,
    VWPolicy,
    VWSettings,
)


def test_versions_count_up_and_only_the_last_n_are_kept(tmp_path, small_world, play):
    policy = VWPolicy()
    store = SnapshotStore(tmp_path / "snaps", "vw", keep=3)
    assert store.versions() == [] and store.newest_version() == 0
    for i in range(5):
        play(policy, small_world, 20, seed=i)
        snap = store.write(policy, learned=20 * (i + 1), last_event_id=f"ev{i}")
        assert snap.version == policy.model_version == i + 1
    assert store.versions() == [3, 4, 5]
    assert sorted(p.name for p in (tmp_path / "snaps").iterdir()) == [
        "vw-00000003.snapshot",
        "vw-00000004.snapshot",
        "vw-00000005.snapshot",
    ]  # no temporary files left behind
    newest = store.read()
    assert (newest.version, newest.learned, newest.last_event_id, newest.kind) == (5, 100, "ev4", "vw")


def test_damaged_newest_falls_back_to_the_previous(tmp_path, caplog):
    store = SnapshotStore(tmp_path, "thompson")
    policy = ThompsonPolicy()
    store.write(policy)
    store.write(policy)
    data = store.path_of(2).read_bytes()
    store.path_of(2).write_bytes(data[:-3])
    assert store.read().version == 1
    assert "damaged snapshot" in caplog.text
    with pytest.raises(SnapshotError, match="damaged snapshot"):
        store.read(2)
    store.path_of(1).write_bytes(b"hello")
    with pytest.raises(SnapshotError, match="no readable snapshot"):
        store.read()


def test_no_snapshot_yet(tmp_path):
    with pytest.raises(SnapshotError, match="no snapshots of 'vw'"):
        SnapshotStore(tmp_path, "vw").read()


def test_snapshot_of_another_kind_or_settings_is_refused(tmp_path):
    SnapshotStore(tmp_path, "uniform").write(UniformPolicy())
    store = SnapshotStore(tmp_path, "uniform")
    with pytest.raises(SnapshotError, match="written by a 'uniform' policy, cannot load into a 'thompson'"):
        store.load_into(ThompsonPolicy(name="uniform"))
    SnapshotStore(tmp_path, "vw").write(VWPolicy(VWSettings(learning_rate=0.5)))
    with pytest.raises(SnapshotError, match="build the policy with the learner's settings"):
        SnapshotStore(tmp_path, "vw").load_into(VWPolicy(VWSettings(learning_rate=0.7)))


def test_vw_state_that_is_not_a_model_is_refused(tmp_path):
    policy = VWPolicy()
    with pytest.raises(SnapshotError, match="could not read the model"):
        policy.restore(b"not a model")


def test_store_settings_are_checked(tmp_path):
    with pytest.raises(InvalidPolicyError, match="keep"):
        SnapshotStore(tmp_path, "vw", keep=0)
    with pytest.raises(InvalidPolicyError, match="cannot name snapshot files"):
        SnapshotStore(tmp_path, "../vw")
    with pytest.raises(SnapshotError, match="cannot write into the snapshots of 'other'"):
        SnapshotStore(tmp_path, "other").write(UniformPolicy())


def _damage_model_bytes(path, size=4096):
    """Overwrite model bytes in the middle of a snapshot, keeping its length and header."""
    data = bytearray(path.read_bytes())
    data[-size - 8:-8] = b"\xab" * size
    path.write_bytes(bytes(data))


def test_model_bytes_damaged_under_an_intact_header_are_caught_by_the_checksum(tmp_path):
    store = SnapshotStore(tmp_path, "vw")
    store.write(VWPolicy())
    _damage_model_bytes(store.path_of(1), 64)
    with pytest.raises(SnapshotError, match="checksum does not match"):
        store.read(1)


def test_the_newest_sound_snapshot_is_loaded_and_damaged_ones_quarantined(tmp_path, caplog):
    store = SnapshotStore(tmp_path, "vw")
    policy = VWPolicy()
    for _ in range(3):
        store.write(policy)
    _damage_model_bytes(store.path_of(3), 64)
    loaded, snapshot = store.load_newest(VWPolicy)
    assert snapshot.version == loaded.model_version == 2
    assert store.versions() == [1, 2] and store.quarantined() == [3]
    assert "vw-00000003.snapshot cannot be used" in caplog.text and "quarantine" in caplog.text
    assert store.write(policy).version == 4  # a quarantined number is not reused
    assert store.load_newest(VWPolicy, newer_than=4) is None


def test_a_snapshot_of_other_settings_is_passed_over_not_quarantined(tmp_path):
    SnapshotStore(tmp_path, "vw").write(VWPolicy(VWSettings(learning_rate=0.5)))
    store = SnapshotStore(tmp_path, "vw")
    assert store.load_newest(lambda: VWPolicy(VWSettings(learning_rate=0.7))) is None
    assert store.versions() == [1] and store.quarantined() == []
