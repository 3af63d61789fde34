"""What one app holds: configuration, store, catalog cache, engine, learner, jobs, metrics."""
from __future__ import annotations

import dataclasses
import logging

import numpy as np
from dataclasses import dataclass

from typing import Sequence

from flask import current_app
from werkzeug.datastructures import FileStorage

from artwork.errors import CatalogError
from artwork.records import Artwork
from artwork.store import Store
from bandit.policy import Policy
from bandit.serving import ServingModel
from bandit.snapshots import SnapshotStore
from simulator.specs import parse_policy_spec
from vision.errors import VisionError

from api.catalog import Catalog
from api.config import Config, ConfigError
from api.engine import Engine
from api.errors import ApiError, TooLarge, status_for
from api.jobs import JobRunner
from api.learning import LearnLoop
from api.metrics import Metrics

log = logging.getLogger(__name__)


def build_policy(config: Config) -> Policy:
    """The serving policy named by the configuration, with at least the configured floor."""
    spec = parse_policy_spec(config.policy)
    if spec.kind in ("file", "logged"):
        raise ConfigError(f"policy {config.policy!r} cannot serve; use e.g. vw:squarecb")
    floor = dict(spec.params).get("floor")
    if floor is None:
        spec = dataclasses.replace(spec, params=spec.params + (("floor", config.floor),))
    elif floor < config.floor:
        raise ConfigError(
            f"policy {config.policy!r} sets floor={floor}, below the configured floor "
            f"{config.floor}; every live candidate must keep at least the configured floor"
        )
    # Without a configured seed, each process samples from fresh entropy, so workers'
    # choices are not correlated.
    seed = config.seed if config.seed is not None else int(np.random.SeedSequence().entropy % 2**31)
    return spec.build(seed=seed)


@dataclass(frozen=True)
class UploadResult:
    """What happened to one uploaded file."""

    file: str
    artwork: Artwork | None = None
    error: str | None = None
    status: int = 201


@dataclass
class Services:
    """The long-lived parts of a serving process."""

    config: Config
    store: Store
    catalog: Catalog
    engine: Engine
    jobs: JobRunner
    metrics: Metrics
    learner: LearnLoop | None
    reloader: ServingModel | None

    @classmethod
    def start(cls, config: Config) -> "Services":
        """Open the store, load the newest model and start learning or reloading."""
        store = Store.open(config.data_dir, max_image_bytes=config.max_upload_bytes,
                           max_image_pixels=config.max_image_pixels)
        catalog = Catalog(store, ttl=config.catalog_ttl, embed_dim=config.embed_dim)
        metrics = Metrics()
        learner = reloader = None
        if config.learn:
            # One process serves and learns: both use the same policy object.
            learner = learner_for(config, store, catalog, on_learned=metrics.learned.inc)
            learner.start()
            policy = learner.policy
            engine = Engine(store, catalog, lambda: policy, learning=True)
        else:
            # A worker only serves: it reloads the learner's newest snapshot when one appears.
            probe = build_policy(config)
            reloader = ServingModel(
                SnapshotStore(config.data_dir / "models", probe.name, keep=config.snapshot_keep),
                lambda: build_policy(config),
            )
            reloader.watch(config.reload_interval)
            engine = Engine(store, catalog, lambda: reloader.policy, learning=False)
        jobs = JobRunner(store, config.data_dir / "jobs", max_video_bytes=config.max_video_bytes,
                         on_change=catalog.invalidate)
        return cls(config, store, catalog, engine, jobs, metrics, learner, reloader)

    def ingest_uploads(self, title_id: str, files: Sequence[FileStorage]) -> list[UploadResult]:
        """Store each uploaded still on its own; one result per file, stored or refused."""
        results = []
        limit = self.config.max_upload_bytes
        for upload in files:
            name = upload.filename or "upload"
            data = upload.read(limit + 1)
            try:
                if len(data) > limit:
                    raise TooLarge(f"{name}: over the {limit}-byte upload limit")
                results.append(UploadResult(name, self.jobs.ingest_still(title_id, data, name)))
            except (ApiError, CatalogError, VisionError) as exc:
                status = status_for(exc)
                if status >= 500:
                    raise
                results.append(UploadResult(name, error=str(exc), status=status))
        self.catalog.invalidate(title_id)
        return results

    def close(self) -> None:
        """Stop background threads and close the store."""
        for part in (self.learner, self.reloader):
            if part is not None:
                part.stop()
        self.jobs.close()
        self.store.close_all()


def learner_for(config: Config, store: Store | None = None, catalog: Catalog | None = None,
                on_learned=None) -> LearnLoop:
    """The learning loop for this configuration, resumed from its newest snapshot."""
    store = store or Store.open(config.data_dir)
    catalog = catalog or Catalog(store, ttl=config.catalog_ttl, embed_dim=config.embed_dim)
    return LearnLoop(
        store, catalog, build_policy(config), config.data_dir / "models",
        window=config.reward_window, reward_of=config.reward_mapping,
        interval=config.learn_interval, snapshot_every=config.snapshot_every,
        keep=config.snapshot_keep, on_learned=on_learned,
    )


def services() -> Services:
    """The services of the app handling the current request."""
    return current_app.extensions["artbandit"]
