"""Serving from snapshots: cold start, hot reload, and many threads deciding during reloads."""
from __future__ import annotations

import math
import threading
import time

import numpy as np

from artwork.reward_mapping import RewardMapping
from bandit import Learner, ServingModel, SnapshotStore, VWPolicy, VWSettings
from bandit import serving as serving_module


def _factory():
    return VWPolicy(VWSettings(), floor=0.01, seed=3)


def test_cold_start_then_reload_when_a_newer_snapshot_appears(tmp_path, small_world, play):
    store = SnapshotStore(tmp_path, "vw")
    serving = ServingModel(store, _factory)
    imp = next(small_world.impressions(1, seed=1))
    assert serving.model_version == 0
    assert serving.decide(imp.context, imp.actions).model_version == 0
    assert serving.reload() is False

    learner_policy = _factory()
    play(learner_policy, small_world, 200, seed=2)
    store.write(learner_policy, learned=200)
    assert serving.reload() is True and serving.model_version == 1
    assert serving.reload() is False
    assert serving.policy.pmf(imp.context, imp.actions) == learner_policy.pmf(imp.context, imp.actions)
    assert serving.decide(imp.context, imp.actions).model_version == 1


def test_serving_process_starts_from_the_newest_snapshot(tmp_path, small_world, play):
    store = SnapshotStore(tmp_path, "vw")
    policy = _factory()
    play(policy, small_world, 50, seed=2)
    store.write(policy)
    store.write(policy)
    assert ServingModel(store, _factory).model_version == 2


def test_many_threads_decide_while_the_learner_publishes_and_serving_reloads(tmp_path, small_world):
    store = SnapshotStore(tmp_path, "vw", keep=2)
    serving = ServingModel(store, _factory)
    serving.watch(interval=0.005)
    impressions = list(small_world.impressions(200, seed=5))
    stop = threading.Event()
    errors: list[BaseException] = []
    seen: list[list[int]] = [[] for _ in range(8)]

    def serve(k: int) -> None:
        try:
            i = k
            while not stop.is_set():
                imp = impressions[i % len(impressions)]
                d = serving.decide(imp.context, imp.actions)
                assert math.isclose(sum(d.pmf), 1.0, abs_tol=1e-9) and min(d.pmf) >= 0.01 - 1e-12
                seen[k].append(d.model_version)
                i += 7
                time.sleep(0.0005)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=serve, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    learner = Learner(_factory(), store, snapshot_every=20)
    rng, reward_of = np.random.default_rng(9), RewardMapping()
    for imp in small_world.impressions(200, seed=6):
        d = learner.policy.decide(imp.context, imp.actions)
        learner.learn((imp.context, imp.actions, d, reward_of(small_world.feedback(imp, d.chosen, rng))))
        serving.reload()
    final = store.newest_version()
    for _ in range(200):
        if serving.model_version == final:
            break
        time.sleep(0.01)
    stop.set()
    for t in threads:
        t.join()
    serving.stop()

    assert not errors, errors
    assert final == 10 and serving.model_version == final
    for versions in seen:
        assert versions and versions == sorted(versions)  # a thread never goes back to an older model
    assert max(max(v) for v in seen) >= 5


def test_with_no_usable_snapshot_the_untrained_policy_serves_and_says_why(tmp_path, small_world):
    store = SnapshotStore(tmp_path, "vw")
    store.write(_factory())
    path = store.path_of(1)
    path.write_bytes(path.read_bytes()[:-10] + b"0123456789")  # same length, other bytes
    serving = ServingModel(store, _factory)
    assert serving.model_version == 0 and "could be loaded" in serving.unusable
    imp = next(small_world.impressions(1, seed=1))
    assert serving.decide(imp.context, imp.actions).model_version == 0
    store.write(_factory())  # the learner publishes a sound one: served, and the note goes
    assert serving.reload() is True and serving.model_version == 2 and serving.unusable is None


def test_replaced_policies_are_released_once_no_request_can_hold_them(tmp_path, small_world, play,
                                                                      monkeypatch):
    store = SnapshotStore(tmp_path, "vw")
    serving = ServingModel(store, _factory)
    learner_policy = _factory()
    imp = next(small_world.impressions(1, seed=1))
    replaced = []
    for round_ in range(3):
        play(learner_policy, small_world, 30, seed=round_)
        store.write(learner_policy)
        replaced.append(serving.policy)
        serving.policy.decide(imp.context, imp.actions)  # it keeps parsed examples
        assert serving.reload() is True
        if round_ == 0:
            # just replaced: a request may still be deciding with it
            assert replaced[0]._workspace is not None
            monkeypatch.setattr(serving_module, "RETIRE_AFTER", 0.0)
    # each reload released the policies replaced before it
    assert replaced[0]._workspace is None and replaced[1]._workspace is None
    assert replaced[2]._workspace is not None
    serving.stop()
    assert replaced[2]._workspace is None
    assert serving.decide(imp.context, imp.actions).model_version == 3  # the serving one still works
