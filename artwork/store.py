"""The store: a data directory's database and images, and the parts composed on them.

`Store.open(data_dir)` opens the database (artwork/database.py: the data directory's SQLite
file; or with `database_url`, a PostgreSQL database several hosts share, artwork/postgres.py)
and builds the parts on it:
`catalog` (titles, artworks), `decision_log` (journal and decisions), `reward_log`,
`action_log` (action descriptions as logged), `reward_join` (decisions with their rewards),
`read_models` (affinities, stats), `policies` (the named policies) and `experiments`. The
methods here delegate to them, so callers can hold one object.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Mapping, Sequence

from artwork.accounts import Accounts
from artwork.actions import ActionLog
from artwork.audit import AuditEntry, AuditLog
from artwork.catalog import Catalog, TitlePage
from artwork.database import Database
from artwork.eligibility import Eligibility
from artwork.crops import CropStore
from artwork.erasure import Erasure, Erasures
from artwork.decisions import DecisionLog
from artwork.image_table import DatabaseImages
from artwork.images import DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS, ImageFolder
from artwork.join import RewardFn, RewardJoin
from artwork.journal import JOURNAL_DIR
from artwork.experiments import ExperimentLog
from artwork.policies import PolicyRegistry
from artwork.read_models import ReadModels
from artwork.records import Artwork, LearningPair, LoggedDecision, Reward, Title
from artwork.rewards import RewardLog

if TYPE_CHECKING:
    from artwork.postgres import PostgresDatabase

__all__ = ["DB_NAME", "RewardFn", "Store"]

DB_NAME = "artbandit.db"


class Store:
    """The catalog and the event logs of one data directory: a database plus a folder of images.

    Safe to share between threads (each thread gets its own connection) and between
    processes (the database's write lock).
    """

    def __init__(self, data_dir: Path, db: Database | PostgresDatabase, **image_limits: int) -> None:
        """Compose the parts on an open database (`Store.open` is the usual way in)."""
        self.data_dir = Path(data_dir)
        self.db = db
        self.db_path = db.path
        # On a database other hosts share, images are kept in it (this host's folder caches them).
        images = DatabaseImages(db, self.data_dir) if db.SHARED else ImageFolder(self.data_dir)
        self.catalog = Catalog(db, images, **image_limits)
        self.images = self.catalog.images
        self.max_image_bytes = self.catalog.max_image_bytes
        self.max_image_pixels = self.catalog.max_image_pixels
        self.decision_log = DecisionLog(db, self.data_dir / JOURNAL_DIR)
        self.reward_log = RewardLog(db, self.decision_log)
        self.action_log = ActionLog(db)
        self.reward_join = RewardJoin(db, self.decision_log)
        self.read_models = ReadModels(db, self.catalog, self.decision_log)
        self.accounts = Accounts(db)
        self.audit = AuditLog(db)
        self.erasures = Erasures(db, self.decision_log)
        self.crops = CropStore(db, self.images)
        self.policies = PolicyRegistry(db)
        self.experiments = ExperimentLog(db)

    @classmethod
    def open(
        cls,
        data_dir: Path | str,
        *,
        max_image_bytes: int = DEFAULT_MAX_BYTES,
        max_image_pixels: int = DEFAULT_MAX_PIXELS,
        busy_timeout_ms: int = 30_000,
        database_url: str | None = None,
    ) -> "Store":
        """Open (creating if needed) the store in `data_dir` and bring its schema up to date.

        With `database_url` (postgresql://...) the database is that PostgreSQL database,
        shared with other hosts; without, it is the SQLite file in `data_dir`.
        """
        data_dir = Path(data_dir)
        if database_url:
            from artwork.postgres import PostgresDatabase  # psycopg only when it is used

            db = PostgresDatabase.open(database_url)
        else:
            db = Database.open(data_dir / DB_NAME, busy_timeout_ms=busy_timeout_ms)
        return cls(data_dir, db, max_image_bytes=max_image_bytes,
                   max_image_pixels=max_image_pixels)

    def close(self) -> None:
        """Close this thread's connection."""
        self.db.close()

    def close_all(self) -> None:
        """At shutdown (threads stopped): ingest this process's journal, close every connection."""
        self.decision_log.retire()
        self.db.close_all()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- catalog -----------------------------------------------------------------------

    def add_title(self, id: str, name: str, genres: Sequence[str] = ()) -> Title:
        """Add a title; raises AlreadyExistsError if the id is taken."""
        title = self.catalog.add_title(id, name, genres)
        self.audit.record([("title", id, None, {"name": name, "genres": list(title.genres)})])
        return title

    def get_title(self, id: str) -> Title:
        """The title with this id; raises NotFoundError."""
        return self.catalog.get_title(id)

    def count_titles(self) -> int:
        """How many titles the catalog holds."""
        return self.catalog.count_titles()

    def list_titles(self) -> list[Title]:
        """Every title, by id."""
        return self.catalog.list_titles()

    def search_titles(self, query: str = "", *, offset: int = 0, limit: int = 50) -> TitlePage:
        """A page of the titles whose id or name contains `query` (see Catalog.search_titles)."""
        return self.catalog.search_titles(query, offset=offset, limit=limit)

    def add_artwork_image(self, title_id: str, data: bytes, **fields: Any) -> Artwork:
        """Validate an image and store it with its row (see Catalog.add_artwork_image)."""
        return self.add_artworks([{"title_id": title_id, "data": data, **fields}])[0]

    def add_artworks(self, items: Iterable[Mapping[str, Any]]) -> list[Artwork]:
        """Store several images in one transaction (see Catalog.add_artworks)."""
        items = list(items)
        arts = self.catalog.add_artworks(items)
        self.audit.record([("upload", a.title_id, a.id, _provenance(a, item))
                           for a, item in zip(arts, items)])
        return arts

    def get_artwork(self, id: str) -> Artwork:
        """The artwork with this id; raises NotFoundError."""
        return self.catalog.get_artwork(id)

    def list_artworks(self, title_id: str, status: str | None = None) -> list[Artwork]:
        """A title's artworks (optionally of one status), oldest first."""
        return self.catalog.list_artworks(title_id, status)

    def set_status(self, artwork_id: str, status: str, max_live: int | None = None) -> Artwork:
        """Move an artwork to candidate, live or retired (at most `max_live` live per title)."""
        return self.set_statuses([artwork_id], status, max_live=max_live)[0]

    def set_statuses(self, artwork_ids: Sequence[str], status: str, *, max_live: int | None = None,
                     title_id: str | None = None) -> list[Artwork]:
        """Move several artworks to one status, all or none (see Catalog.set_statuses)."""
        before = {i: self.catalog.get_artwork(i).status for i in dict.fromkeys(artwork_ids)}
        arts = self.catalog.set_statuses(artwork_ids, status, max_live=max_live, title_id=title_id)
        self.audit.record([("status", a.title_id, a.id, {"from": before[a.id], "to": a.status})
                           for a in arts if before[a.id] != a.status])
        return arts

    def set_default(self, artwork_id: str, is_default: bool = True) -> Artwork:
        """Make an artwork its title's default (clearing any other default)."""
        was = self.catalog.get_artwork(artwork_id).is_default
        art = self.catalog.set_default(artwork_id, is_default)
        if was != art.is_default:
            self.audit.record([("default", art.title_id, art.id, {"default": art.is_default})])
        return art

    def set_eligibility(self, artwork_id: str, rules: Eligibility) -> Artwork:
        """Replace an artwork's eligibility rules (see artwork/eligibility.py), audited."""
        was = self.catalog.get_artwork(artwork_id).eligibility
        art = self.catalog.set_eligibility(artwork_id, rules)
        if was != art.eligibility:
            self.audit.record([("eligibility", art.title_id, art.id,
                                {"from": was.as_dict(), "to": art.eligibility.as_dict()})])
        return art

    def delete_artwork(self, artwork_id: str) -> Artwork:
        """Delete an artwork for good: its row and image file (see Catalog.delete_artwork), audited."""
        self.catalog.get_artwork(artwork_id)
        self.crops.delete_for(artwork_id)
        art = self.catalog.delete_artwork(artwork_id)
        self.audit.record([("delete", art.title_id, art.id,
                            {"status": art.status, "default": art.is_default})])
        return art

    def forget_user(self, user_id: str) -> Erasure:
        """Erase a user's decisions, rewards and plays (see artwork/erasure.py)."""
        return self.erasures.forget_user(user_id)

    def audit_for(self, artwork_id: str) -> list[AuditEntry]:
        """The recorded changes of one artwork (upload, status, default), oldest first."""
        return self.audit.for_artwork(artwork_id)

    def image_path(self, artwork: Artwork) -> Path:
        """Absolute path of an artwork's image file."""
        return self.catalog.image_path(artwork)

    # -- decisions, actions and rewards ------------------------------------------------

    def journal_decisions(self, decisions: Sequence[LoggedDecision]) -> None:
        """Log decisions through this process's journal (see DecisionLog.journal_decisions)."""
        self.decision_log.journal_decisions(decisions)

    def leave_ingest_to_watcher(self) -> None:
        """Ingest this process's journal only when reading: another process watches the journals."""
        self.decision_log.ingester.leave_to_watcher()

    def watch_journals(self) -> None:
        """Ingest every process's decision journal as it grows, on a thread of this process."""
        self.decision_log.ingester.watch()

    def ingest_journal(self) -> int:
        """Move journaled decisions into the decision log; returns how many were added."""
        return self.decision_log.ingest_journal()

    def journal_backlog(self) -> int:
        """Bytes of decision journal not yet ingested into the decision log (all processes)."""
        return self.decision_log.journal_backlog()

    def get_decision(self, event_id: str) -> LoggedDecision:
        """The logged decision with this event id; raises NotFoundError."""
        return self.decision_log.get_decision(event_id)

    def latest_decisions_for_user(self, user_id: str, title_ids: Sequence[str],
                                  since: float) -> dict[str, LoggedDecision]:
        """The user's latest ingested decision per title since `since` (see DecisionLog.latest_for_user)."""
        return self.decision_log.latest_for_user(user_id, title_ids, since)

    def decisions(self, since: float | None = None,
                  until: float | None = None) -> Iterator[LoggedDecision]:
        """Logged decisions in time order, read page by page."""
        return self.decision_log.decisions(since, until)

    def count_decisions(self, until: float | None = None) -> int:
        """How many decisions are logged (with `until`: logged at or before that time)."""
        return self.decision_log.count_decisions(until)

    def first_decision_time(self, after: tuple[float, str] | None, until: float) -> float | None:
        """Time of the first decision after `after` (time, event id), up to `until`."""
        return self.decision_log.first_time_after(after, until)

    def record_actions(self, items: Iterable[tuple[str, str, str]]) -> int:
        """Record (key, artwork_id, description) triples once each; returns how many were new."""
        return self.action_log.record_actions(items)

    def action_descriptions(self, keys: Iterable[str]) -> dict[str, str]:
        """The recorded description of each of these keys (key -> description)."""
        return self.action_log.action_descriptions(keys)

    def add_rewards(self, rewards: Sequence[Reward]) -> list[bool]:
        """Record a batch of feedback in one transaction; whether each one was new."""
        return self.reward_log.add_rewards(rewards)

    def learning_pairs(self, window: float, reward_of: RewardFn, *, now: float | None = None,
                       after: tuple[float, str] | None = None,
                       since: float | None = None) -> Iterator[LearningPair]:
        """Decisions whose reward window has closed, with their rewards (see artwork/join.py)."""
        return self.reward_join.learning_pairs(window, reward_of, now=now, after=after,
                                               since=since)

    # -- read models -------------------------------------------------------------------

    def genre_affinity(self, user_id: str, limit: int = 200) -> dict[str, float]:
        """Share of each genre among the titles this user played recently (our own log)."""
        return self.read_models.genre_affinity(user_id, limit)

    def players_since(self, after: int, limit: int = 10_000) -> list[tuple[int, str]]:
        """(position, user id) of the plays recorded after position `after`, oldest first."""
        return self.read_models.players_since(after, limit)

    def artwork_stats(self, title_id: str) -> list[dict[str, Any]]:
        """Impressions, clicks and plays per (artwork, policy) for one title."""
        return self.read_models.artwork_stats(title_id)

    def shown_since(self, title_id: str, since: float) -> dict[str, int]:
        """How many ingested decisions of a title chose each artwork at or after `since`."""
        return self.read_models.shown_since(title_id, since)

    def first_served(self, title_id: str) -> float | None:
        """When an ingested decision was first logged for a title (None: never)."""
        return self.read_models.first_served(title_id)


def _provenance(art: Artwork, item: Mapping[str, Any]) -> dict[str, Any]:
    """Where an artwork came from: an uploaded file, or a frame of a video (its time and shot)."""
    out: dict[str, Any] = {"source": art.source, "file": item.get("name", "upload")}
    if art.source == "video":
        out.update(frame_time=art.frame_time, shot=art.shot)
    return out
