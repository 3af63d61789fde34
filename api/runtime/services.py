"""What one serving process holds: configuration, store, catalog cache, engine, learner, jobs, metrics."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from artwork.store import Store
from bandit.new_art import FairExposure
from bandit.policy import Policy
from bandit.serving import ServingModel
from bandit.snapshots import SnapshotStore
from bandit.specs import parse_policy_spec

from api.config import Config
from api.errors import ConfigError
from api.runtime.catalog_cache import CatalogCache
from api.runtime.engine import Engine
from api.runtime.health import scraped_figures
from api.runtime.jobs import JOBS_FOLDER, JobQueue
from api.runtime.learning import LearnLoop
from api.runtime.metrics import Metrics
from api.runtime.new_art import NewArtTracker
from api.runtime.policies import Lineup, Member
from api.runtime.replays import ReplayRunner
from api.runtime.stable import StableChoices
from api.runtime.stores import open_store, snapshot_shelf

log = logging.getLogger(__name__)

MODELS_FOLDER = "models"


@dataclass(frozen=True)
class Launch:
    """What the command that starts the serving processes found and set up before they started."""

    # What the database's integrity check found at start (None: not checked yet).
    database_problems: tuple[str, ...] | None = None
    # The folder where the workers share their metrics (None: this process counts alone).
    metrics_dir: Path | None = None
    # Whether a process beside the workers (the ingest worker) ingests their decision
    # journals; else each ingests its own in the background.
    journals_watched: bool = False


def build_policy(config: Config, spec_text: str | None = None, name: str | None = None) -> Policy:
    """The configured serving policy (or the one `spec_text` names), with at least the configured floors."""
    text = config.policy if spec_text is None else spec_text
    spec = parse_policy_spec(text)
    if spec.param("model") is not None:
        raise ConfigError(
            f"policy {text!r} loads a model file, which is for offline evaluation (replay); "
            "a served policy learns and loads its models from its own snapshots")
    floor = spec.param("floor")
    if floor is None:
        spec = spec.with_params(floor=config.floor)
    elif floor < config.floor:
        raise ConfigError(
            f"policy {text!r} sets floor={floor}, below the configured floor "
            f"{config.floor}; every live candidate must keep at least the configured floor"
        )
    if spec.param("exploration") == "igw":
        # A policy whose floor adapts to traffic falls at most to the configured floor_min.
        floor_min = spec.param("floor_min")
        if floor_min is None:
            spec = spec.with_params(floor_min=config.floor_min, floor_ramp=config.floor_ramp)
        elif floor_min < config.floor_min:
            raise ConfigError(
                f"policy {text!r} sets floor_min={floor_min}, below the configured "
                f"floor_min {config.floor_min}")
    # Without a configured seed, each process samples from fresh entropy, so workers'
    # choices are not correlated.
    seed = config.seed if config.seed is not None else int(np.random.SeedSequence().entropy % 2**31)
    policy = spec.build(seed=seed, name=name)
    policy.exposure = fair_exposure(config)
    return policy


def fair_exposure(config: Config) -> FairExposure:
    """The minimum share new artworks get, as configured."""
    return FairExposure(config.new_art_share, config.new_art_impressions, config.new_art_window)


def check_database(store: Store) -> tuple[str, ...]:
    """What SQLite's integrity check finds wrong with the store's database, logged once."""
    problems = tuple(store.db.problems())
    if problems:
        log.error("the database %s failed its integrity check: %s; serving what can be "
                  "served, /readyz says not ready; restore it from a backup",
                  store.db_path, "; ".join(problems[:3]))
    return problems


@dataclass
class Services:
    """The long-lived parts of a serving process."""

    config: Config
    store: Store
    catalog: CatalogCache
    engine: Engine
    jobs: JobQueue
    replays: ReplayRunner
    metrics: Metrics
    learner: LearnLoop | None
    reloader: ServingModel | None
    database_problems: tuple[str, ...] = ()
    # The named policies: the champion (whose part is `learner` or `reloader` at start) and
    # the challengers in shadow.
    lineup: Lineup | None = None

    @property
    def models_folder(self) -> Path:
        """Where the model snapshots and the learner's report are."""
        return self.config.data_dir / MODELS_FOLDER

    @classmethod
    def start(cls, config: Config, launch: Launch | None = None) -> "Services":
        """Open the store, load the newest usable model and start learning or reloading."""
        launch = launch or Launch()
        store = open_store(config)
        if launch.journals_watched:
            store.leave_ingest_to_watcher()
        problems = launch.database_problems
        if problems is None:
            problems = check_database(store)
        catalog = CatalogCache(store, ttl=config.catalog_ttl, embed_dim=config.embed_dim)
        learner = reloader = None
        new_art = (NewArtTracker(store, fair_exposure(config))
                   if config.new_art_share > 0 else None)
        if config.learn:
            # One process serves and learns: each policy's learner holds the object that serves.
            def part(member: Member) -> LearnLoop:
                loop = learner_for(config, store, member)
                loop.start()
                return loop
        else:
            # A worker only serves: it reloads each policy's newest snapshot when one appears.
            def part(member: Member) -> ServingModel:
                reloader = ServingModel(
                    SnapshotStore(config.data_dir / MODELS_FOLDER, member.name,
                                  keep=config.snapshot_keep, shelf=snapshot_shelf(store)),
                    lambda: build_policy(config, member.spec, member.name),
                )
                reloader.watch(config.reload_interval)
                return reloader
        lineup = Lineup(store, config.policy, part)
        lineup.watch(config.reload_interval)
        first = lineup.part(lineup.champion_name)
        learner, reloader = (first, None) if config.learn else (None, first)
        stable = StableChoices(store, config.stable_for) if config.stable_for > 0 else None
        engine = Engine(store, catalog, lineup.champion, learning=config.learn, new_art=new_art,
                        shadows=lineup.shadows, serving=lineup.serving, stable=stable)
        jobs = JobQueue(config.data_dir / JOBS_FOLDER, max_upload_bytes=config.max_upload_bytes,
                        max_video_bytes=config.max_video_bytes,
                        max_image_pixels=config.max_image_pixels)
        replays = ReplayRunner.for_config(store, config)
        services: Services | None = None
        metrics = Metrics(launch.metrics_dir, scraped=lambda: scraped_figures(services))
        services = cls(config, store, catalog, engine, jobs, replays, metrics, learner, reloader,
                       tuple(problems), lineup)
        return services

    def close(self) -> None:
        """Stop background threads and close the store."""
        parts = (self.lineup,) if self.lineup is not None else (self.learner, self.reloader)
        for part in parts:
            if part is not None:
                part.stop()
        self.replays.close()
        self.store.close_all()


def learner_for(config: Config, store: Store | None = None,
                member: Member | None = None) -> LearnLoop:
    """The learning loop of the configured policy (or of `member`), resumed from its newest snapshot."""
    policy = (build_policy(config) if member is None
              else build_policy(config, member.spec, member.name))
    return LearnLoop(
        store or open_store(config), policy, config.data_dir / MODELS_FOLDER,
        window=config.reward_window, reward_of=config.reward_mapping, embed_dim=config.embed_dim,
        interval=config.learn_interval, snapshot_every=config.snapshot_every,
        keep=config.snapshot_keep,
    )
