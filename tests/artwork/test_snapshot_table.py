"""Model snapshots kept in the database: versioned, checksummed, pruned, quarantined (both backends)."""
from __future__ import annotations

import pytest

from artwork.snapshot_table import SnapshotTable
from bandit import SnapshotError, SnapshotStore, ThompsonPolicy


def _damage(table: SnapshotTable, store: SnapshotStore, version: int) -> None:
    """Flip the last model byte of a stored snapshot, keeping its length and header."""
    name = store.name_of(version)
    data = bytearray(table.read(name))
    data[-1] ^= 0xFF
    table.write(name, bytes(data))


def test_snapshots_in_the_database_count_up_prune_and_load(store, tmp_path):
    table = SnapshotTable(store.db)
    snapshots = SnapshotStore(tmp_path / "unused", "thompson", keep=2, shelf=table)
    policy = ThompsonPolicy()
    assert snapshots.versions() == [] and snapshots.newest_version() == 0
    for i in range(3):
        assert snapshots.write(policy, learned=i, last_event_id=f"e{i}").version == i + 1
    assert snapshots.versions() == [2, 3] and policy.model_version == 3
    assert not (tmp_path / "unused").exists()  # nothing on the local disk
    # Another host, with only the database, loads the newest.
    other = SnapshotStore(tmp_path / "elsewhere", "thompson", shelf=SnapshotTable(store.db))
    loaded, snapshot = other.load_newest(ThompsonPolicy)
    assert (snapshot.version, snapshot.learned, snapshot.last_event_id) == (3, 2, "e2")
    assert loaded.model_version == 3 and snapshot.path is None


def test_a_damaged_snapshot_in_the_database_is_quarantined(store, tmp_path, caplog):
    table = SnapshotTable(store.db)
    snapshots = SnapshotStore(tmp_path, "thompson", shelf=table)
    policy = ThompsonPolicy()
    for _ in range(2):
        snapshots.write(policy)
    _damage(table, snapshots, 2)
    with pytest.raises(SnapshotError, match="checksum does not match"):
        snapshots.read(2)
    _, snapshot = snapshots.load_newest(ThompsonPolicy)
    assert snapshot.version == 1
    assert snapshots.versions() == [1] and snapshots.quarantined() == [2]
    assert "thompson-00000002.snapshot cannot be used" in caplog.text
    assert snapshots.write(policy).version == 3  # a quarantined number is not reused
    assert table.quarantine(snapshots.name_of(2)) is None  # already moved
    with pytest.raises(FileNotFoundError):
        table.read(snapshots.name_of(2))
