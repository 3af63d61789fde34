"""What one serving process holds: configuration, store, catalog cache, engine, learner, jobs, metrics."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from artwork.store import Store
from bandit.policy import Policy
from bandit.serving import ServingModel
from bandit.snapshots import SnapshotStore
from bandit.specs import parse_policy_spec

from api.config import Config
from api.errors import ConfigError
from api.runtime.catalog_cache import CatalogCache
from api.runtime.engine import Engine
from api.runtime.jobs import JobRunner
from api.runtime.learning import LearnLoop
from api.runtime.metrics import Metrics
from api.runtime.replays import ReplayRunner


MODELS_FOLDER = "models"
JOBS_FOLDER = "jobs"


def build_policy(config: Config) -> Policy:
    """The serving policy named by the configuration, with at least the configured floor."""
    spec = parse_policy_spec(config.policy)
    floor = spec.param("floor")
    if floor is None:
        spec = spec.with_params(floor=config.floor)
    elif floor < config.floor:
        raise ConfigError(
            f"policy {config.policy!r} sets floor={floor}, below the configured floor "
            f"{config.floor}; every live candidate must keep at least the configured floor"
        )
    # Without a configured seed, each process samples from fresh entropy, so workers'
    # choices are not correlated.
    seed = config.seed if config.seed is not None else int(np.random.SeedSequence().entropy % 2**31)
    return spec.build(seed=seed)


def open_store(config: Config) -> Store:
    """The store in the configured data directory, with the configured image limits."""
    return Store.open(config.data_dir, max_image_bytes=config.max_upload_bytes,
                      max_image_pixels=config.max_image_pixels)


@dataclass
class Services:
    """The long-lived parts of a serving process."""

    config: Config
    store: Store
    catalog: CatalogCache
    engine: Engine
    jobs: JobRunner
    replays: ReplayRunner
    metrics: Metrics
    learner: LearnLoop | None
    reloader: ServingModel | None

    @classmethod
    def start(cls, config: Config) -> "Services":
        """Open the store, load the newest model and start learning or reloading."""
        store = open_store(config)
        catalog = CatalogCache(store, ttl=config.catalog_ttl, embed_dim=config.embed_dim)
        metrics = Metrics()
        learner = reloader = None
        if config.learn:
            # One process serves and learns: both use the same policy object.
            learner = learner_for(config, store, on_learned=metrics.learned.inc)
            learner.start()
            policy = learner.policy
            engine = Engine(store, catalog, lambda: policy, learning=True)
        else:
            # A worker only serves: it reloads the learner's newest snapshot when one appears.
            probe = build_policy(config)
            reloader = ServingModel(
                SnapshotStore(config.data_dir / MODELS_FOLDER, probe.name, keep=config.snapshot_keep),
                lambda: build_policy(config),
            )
            reloader.watch(config.reload_interval)
            engine = Engine(store, catalog, lambda: reloader.policy, learning=False)
        jobs = JobRunner(store, config.data_dir / JOBS_FOLDER, max_upload_bytes=config.max_upload_bytes,
                         max_video_bytes=config.max_video_bytes, on_change=catalog.invalidate)
        replays = ReplayRunner.for_config(store, config)
        return cls(config, store, catalog, engine, jobs, replays, metrics, learner, reloader)

    def close(self) -> None:
        """Stop background threads and close the store."""
        for part in (self.learner, self.reloader):
            if part is not None:
                part.stop()
        self.jobs.close()
        self.replays.close()
        self.store.close_all()


def learner_for(config: Config, store: Store | None = None, on_learned=None) -> LearnLoop:
    """The learning loop for this configuration, resumed from its newest snapshot."""
    return LearnLoop(
        store or Store.open(config.data_dir), build_policy(config), config.data_dir / MODELS_FOLDER,
        window=config.reward_window, reward_of=config.reward_mapping, embed_dim=config.embed_dim,
        interval=config.learn_interval, snapshot_every=config.snapshot_every,
        keep=config.snapshot_keep, on_learned=on_learned,
    )
