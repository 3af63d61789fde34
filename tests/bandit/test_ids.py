"""Event ids: unique, hex, and a forked child's own."""
from __future__ import annotations

import os

from bandit.ids import new_event_id


def test_event_ids_are_unique_hex():
    ids = {new_event_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)


def test_a_forked_child_draws_event_ids_of_its_own():
    new_event_id()  # the parent's pool now holds bytes a child would inherit
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.write(write, ",".join(new_event_id() for _ in range(50)).encode())
        os._exit(0)
    os.close(write)
    parent = {new_event_id() for _ in range(50)}
    with os.fdopen(read) as f:
        child = set(f.read().split(","))
    os.waitpid(pid, 0)
    assert len(child) == 50 and not parent & child
    # the random parts differ too, not only the milliseconds
    assert not {i[13:] for i in parent} & {i[13:] for i in child}
