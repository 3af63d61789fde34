"""A synthetic world with known click and play probabilities, for proving that a policy learns.

Users have tastes over visual traits (faces, close-ups, action, dark tones, ...). Each title
has several artworks, each with a trait vector; how much a user's taste matches an artwork
drives the click probability and the play-after-click probability. A "clickbait" artwork per
title draws extra clicks but few plays. What a policy sees is only partly the truth: the
context carries the user's country, device and local hour (whose effects on taste are real)
and genre affinities that are noisy views of the user's individual taste; the rest of the
taste is hidden and can only be learned per user from feedback.

Everything is drawn from one seed, and the ground truth is exact: the take (play) probability
of every artwork for any impression, the oracle choice, and the best non-personalized artwork
per title (the best one for the whole audience of that title).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

from bandit.types import Action, Context
from simulator.errors import WorldError

TRAITS = ("face", "closeup", "action", "romance", "dark", "bright", "text", "group")
GENRES = ("drama", "comedy", "action", "thriller", "romance", "horror", "family", "documentary")
DEVICES = ("tv", "mobile", "tablet", "web")
COUNTRIES = ("US", "BR", "IN", "DE", "JP", "MX")
NIGHT_HOURS = (22, 23, 0, 1, 2, 3, 4, 5)
DAY_HOURS = tuple(h for h in range(24) if h not in NIGHT_HOURS)


@dataclass(frozen=True)
class WorldConfig:
    """Size and shape of a synthetic world."""

    n_users: int = 2000
    n_titles: int = 50
    artworks_per_title: int = 8
    embedding_dim: int = 4
    taste_scale: float = 1.0
    observability: float = 0.8
    clickbait_per_title: int = 1
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("n_users", "n_titles", "artworks_per_title", "embedding_dim"):
            if int(getattr(self, name)) < 1:
                raise WorldError(f"{name} must be at least 1, got {getattr(self, name)!r}")
        if not 0.0 <= self.observability <= 1.0:
            raise WorldError(f"observability must be in [0, 1], got {self.observability!r}")
        if not 0 <= self.clickbait_per_title < self.artworks_per_title:
            raise WorldError(
                f"clickbait_per_title must be in [0, artworks_per_title), got {self.clickbait_per_title!r}"
            )


@dataclass(frozen=True)
class Impression:
    """One (user, title) impression: the truth (indices) and what a policy sees (context, actions)."""

    user: int
    title: int
    device: int
    hour: int
    context: Context
    actions: tuple[Action, ...]
    step: int = 0  # when, in a run of a world whose catalog changes over time


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


class WorldBase:
    """What every synthetic world shares: opaque ids, and feedback drawn from exact probabilities.

    A world says, per live artwork of an impression, P(click) and P(play | click)
    (`click_and_play`); the take (play) probability and the feedback follow from them.
    """

    USER_DIGITS = 5
    TITLE_DIGITS = 3

    @classmethod
    def user_id(cls, user: int) -> str:
        """The opaque id of user number ``user``."""
        return f"u{user:0{cls.USER_DIGITS}d}"

    @classmethod
    def title_id(cls, title: int) -> str:
        """The id of title number ``title``."""
        return f"t{title:0{cls.TITLE_DIGITS}d}"

    @classmethod
    def artwork_id(cls, title: int, artwork: int) -> str:
        """The id of artwork ``artwork`` of title ``title``."""
        return f"{cls.title_id(title)}-a{artwork}"

    def click_and_play(self, impression: Impression) -> tuple[np.ndarray, np.ndarray]:
        """Per artwork of the impression: P(click) and P(play | click)."""
        raise NotImplementedError

    def take_probabilities(self, impression: Impression) -> np.ndarray:
        """Per artwork of the impression: the exact probability of a play (the expected reward)."""
        click, play = self.click_and_play(impression)
        return click * play

    def feedback(self, impression: Impression, artwork: int, rng: np.random.Generator) -> dict[str, None]:
        """Sample the feedback kinds the user sends after seeing ``artwork`` (always two draws)."""
        click, play = self.click_and_play(impression)
        u_click, u_play = rng.random(2)
        kinds: dict[str, None] = {"impression": None}
        if u_click < click[artwork]:
            kinds["click"] = None
            if u_play < play[artwork]:
                kinds["play"] = None
        return kinds


class World(WorldBase):
    """Users, titles and artworks with exact click and play probabilities."""

    def __init__(self, config: WorldConfig | None = None, traits: np.ndarray | None = None) -> None:
        """Draw a world from the config's seed; `traits` (titles × artworks × TRAITS, in [0, 1])
        replaces the drawn artwork traits, e.g. with traits measured on real artworks."""
        self.config = cfg = config or WorldConfig()
        rng = np.random.default_rng(cfg.seed)
        k = len(TRAITS)
        if traits is not None:
            traits = np.asarray(traits, dtype=float)
            expected = (cfg.n_titles, cfg.artworks_per_title, k)
            if traits.shape != expected or not np.all((traits >= 0) & (traits <= 1)):
                raise WorldError(
                    f"traits must have shape {expected} (titles, artworks, {', '.join(TRAITS)}) "
                    f"with values in [0, 1]; got shape {traits.shape}"
                )
        scale = cfg.taste_scale

        # Tastes: a country part and an individual part (what genre affinities half-reveal).
        self.country_taste = rng.normal(0.0, 0.5 * scale, size=(len(COUNTRIES), k))
        self.device_taste = rng.normal(0.0, 0.4 * scale, size=(len(DEVICES), k))
        self.night_taste = rng.normal(0.0, 0.4 * scale, size=k)
        self.user_country = rng.integers(len(COUNTRIES), size=cfg.n_users)
        self.user_device = rng.integers(len(DEVICES), size=cfg.n_users)
        self.user_night = rng.beta(2.0, 5.0, size=cfg.n_users)
        self.user_individual = rng.normal(0.0, scale, size=(cfg.n_users, k))
        self.user_taste = self.country_taste[self.user_country] + self.user_individual

        # Genre affinities: a fixed mixing of the individual taste plus noise, squashed to [0, 1].
        mixing, _ = np.linalg.qr(rng.normal(size=(len(GENRES), k)))
        signal = self.user_individual / scale @ mixing.T
        noise = rng.normal(size=signal.shape)
        raw = np.sqrt(cfg.observability) * signal + np.sqrt(1.0 - cfg.observability) * noise
        self.user_affinity = np.clip(np.round(0.5 + 0.2 * raw, 2), 0.0, 1.0)

        # Titles: genres, base appeal and popularity.
        self.title_genres = [
            tuple(sorted(rng.choice(len(GENRES), size=rng.integers(1, 3), replace=False)))
            for _ in range(cfg.n_titles)
        ]
        self.title_base = rng.normal(-1.0, 0.4, size=cfg.n_titles)
        popularity = 1.0 / np.arange(1, cfg.n_titles + 1) ** 0.6
        self.title_popularity = rng.permutation(popularity / popularity.sum())

        # Artworks: one or two dominant traits each, an appeal nobody can see, clickbait flags.
        n_art = cfg.artworks_per_title
        self.traits = rng.uniform(0.0, 0.2, size=(cfg.n_titles, n_art, k))
        for t in range(cfg.n_titles):
            dominant = rng.permutation(np.resize(rng.permutation(k), n_art))
            for a in range(n_art):
                self.traits[t, a, dominant[a]] = rng.uniform(0.6, 1.0)
                if rng.random() < 0.5:
                    self.traits[t, a, rng.integers(k)] = rng.uniform(0.4, 0.8)
        if traits is not None:
            self.traits = traits.copy()
        self.appeal = rng.normal(0.0, 0.3, size=(cfg.n_titles, n_art))
        self.clickbait = np.zeros((cfg.n_titles, n_art), dtype=bool)
        for t in range(cfg.n_titles):
            self.clickbait[t, rng.choice(n_art, size=cfg.clickbait_per_title, replace=False)] = True
        if traits is None:  # drawn clickbait looks the part: bright, with big text
            bright, text = TRAITS.index("bright"), TRAITS.index("text")
            self.traits[self.clickbait, bright] = np.maximum(self.traits[self.clickbait, bright], 0.7)
            self.traits[self.clickbait, text] = np.maximum(self.traits[self.clickbait, text], 0.6)
        self.default_artwork = rng.integers(n_art, size=cfg.n_titles)

        # What the vision stage would report: traits seen with a little noise, a sharpness
        # score that partly reflects the hidden appeal, and a small embedding of the traits.
        seen = np.clip(self.traits + rng.normal(0.0, 0.05, size=self.traits.shape), 0.0, 1.0)
        sharpness = np.clip(0.5 + 0.5 * self.appeal + rng.normal(0.0, 0.15, size=self.appeal.shape), 0, 1)
        projection = rng.normal(size=(k, cfg.embedding_dim)) / np.sqrt(k)
        embedding = seen @ projection + rng.normal(0.0, 0.05, size=(cfg.n_titles, n_art, cfg.embedding_dim))
        embedding /= np.linalg.norm(embedding, axis=-1, keepdims=True)
        self.actions: list[tuple[Action, ...]] = []
        for t in range(cfg.n_titles):
            row = []
            for a in range(n_art):
                features = {name: round(float(v), 3) for name, v in zip(TRAITS, seen[t, a])}
                features["sharpness"] = round(float(sharpness[t, a]), 3)
                row.append(
                    Action(
                        id=self.artwork_id(t, a),
                        features=features,
                        tags=tuple(name for name, v in zip(TRAITS, seen[t, a]) if v >= 0.5),
                        embedding=tuple(round(float(v), 4) for v in embedding[t, a]),
                        is_default=bool(a == self.default_artwork[t]),
                    )
                )
            self.actions.append(tuple(row))
        self._best_nonpersonalized = self._compute_best_nonpersonalized()

    # ----- traffic -------------------------------------------------------------------------
    def impression(self, rng: np.random.Generator) -> Impression:
        """Draw one impression: a uniform user, a title by popularity, the device and local hour."""
        cfg = self.config
        user = int(rng.integers(cfg.n_users))
        title = int(rng.choice(cfg.n_titles, p=self.title_popularity))
        device = int(self.user_device[user]) if rng.random() < 0.8 else int(rng.integers(len(DEVICES)))
        if rng.random() < self.user_night[user]:
            hour = int(NIGHT_HOURS[rng.integers(len(NIGHT_HOURS))])
        else:
            hour = int(DAY_HOURS[rng.integers(len(DAY_HOURS))])
        return self.make_impression(user, title, device, hour)

    def impressions(self, n: int, seed: int | np.random.Generator) -> Iterator[Impression]:
        """``n`` impressions drawn with ``seed``."""
        rng = np.random.default_rng(seed)
        for _ in range(n):
            yield self.impression(rng)

    def make_impression(self, user: int, title: int, device: int, hour: int) -> Impression:
        """The impression of ``title`` to ``user`` on ``device`` at local ``hour``, with its context."""
        context = Context(
            user_id=self.user_id(user),
            title_id=self.title_id(title),
            features={
                "device": DEVICES[device],
                "country": COUNTRIES[self.user_country[user]],
                "hour": hour,
            },
            genre_affinity={g: float(v) for g, v in zip(GENRES, self.user_affinity[user])},
            title_genres=tuple(GENRES[g] for g in self.title_genres[title]),
        )
        return Impression(user, title, device, hour, context, self.actions[title])

    # ----- ground truth --------------------------------------------------------------------
    def _taste(self, user: np.ndarray, device: np.ndarray, night: np.ndarray) -> np.ndarray:
        return (
            self.user_taste[user]
            + self.device_taste[device]
            + night[..., None] * self.night_taste
        )

    def _probabilities(self, taste: np.ndarray, title: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(click, play-after-click) probabilities for tastes (..., k) against a title's artworks."""
        score = np.einsum("...k,...ak->...a", taste, self.traits[title]) + self.appeal[title]
        bait = self.clickbait[title]
        click = _sigmoid(self.title_base[title][..., None] + score + 1.5 * bait)
        play = _sigmoid(0.5 * score - 0.2) * np.where(bait, 0.25, 1.0)
        return click, play

    def click_and_play(self, impression: Impression) -> tuple[np.ndarray, np.ndarray]:
        """Per artwork of the impression: P(click) and P(play | click)."""
        taste = self._taste(
            np.asarray(impression.user), np.asarray(impression.device), np.asarray(float(impression.hour in NIGHT_HOURS))
        )
        return self._probabilities(taste, np.asarray(impression.title))

    def expected_reward(self, impression: Impression, artwork: int | str) -> float:
        """Exact expected reward (play probability) of showing ``artwork`` (index or id)."""
        if isinstance(artwork, str):
            ids = [a.id for a in impression.actions]
            if artwork not in ids:
                raise WorldError(f"artwork {artwork!r} is not a candidate of title {impression.context.title_id}")
            artwork = ids.index(artwork)
        return float(self.take_probabilities(impression)[artwork])

    def oracle(self, impression: Impression) -> int:
        """The index of the artwork with the highest play probability for this impression."""
        return int(np.argmax(self.take_probabilities(impression)))

    def best_nonpersonalized(self, title: int) -> int:
        """The artwork of ``title`` with the highest play probability over its whole audience."""
        return int(self._best_nonpersonalized[title])

    def _compute_best_nonpersonalized(self) -> np.ndarray:
        # Exact expectation over users (uniform), devices (primary 0.8) and night (user_night).
        n_dev = len(DEVICES)
        p_dev = np.full((self.config.n_users, n_dev), 0.2 / n_dev)
        p_dev[np.arange(self.config.n_users), self.user_device] += 0.8
        best = np.empty(self.config.n_titles, dtype=int)
        users = np.arange(self.config.n_users)
        for t in range(self.config.n_titles):
            total = np.zeros(self.config.artworks_per_title)
            for d in range(n_dev):
                for night, p_night in ((0.0, 1.0 - self.user_night), (1.0, self.user_night)):
                    taste = self._taste(users, np.full_like(users, d), np.full(users.shape, night))
                    click, play = self._probabilities(taste, np.full_like(users, t))
                    total += ((p_dev[:, d] * p_night)[:, None] * click * play).sum(axis=0)
            best[t] = int(np.argmax(total))
        return best
