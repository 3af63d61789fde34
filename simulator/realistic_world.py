"""Realistic worlds: what a streaming service's artwork traffic looks like, with exact truths.

Plays are rare (a take rate of a few percent), most titles get little traffic (Zipf), users
fall into latent taste clusters seen only through device, country, hour and, for users with
a history, noisy genre affinities. The vision stage's features reflect an artwork's hidden
traits only noisily, and some mislead: clickbait artworks draw clicks and few plays and look
the part (bright, with text); a sharpness score says nothing about what plays. Halfway
through a run new artworks are uploaded to some titles (some better than what the title has,
some worse), and some titles have an artwork that wears out as the run goes on.

Every probability is exact: for any impression at any step, the world knows the play
probability of every live artwork, so a policy's take rate, the oracle's and the best static
artwork's are measured without noise. `SUITE` names the worlds the bandit benchmark runs.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Mapping

import numpy as np

from bandit.types import Action, Context
from simulator.errors import WorldError
from simulator.world import (COUNTRIES, DAY_HOURS, DEVICES, GENRES, NIGHT_HOURS, TRAITS, Impression,
                             WorldBase)


@dataclass(frozen=True)
class RealisticConfig:
    """The shape of a realistic world; every knob a real service turns differently."""

    n_users: int = 5_000
    n_titles: int = 25
    min_artworks: int = 4
    max_artworks: int = 8
    clusters: int = 8
    common_taste: float = 0.35  # spread of what everyone likes (e.g. faces), learnable from features
    cluster_taste: float = 1.6  # spread of the clusters' tastes around it
    individual_taste: float = 0.3  # spread of a user's own taste around the cluster's
    context_signal: float = 0.85  # how strongly device/country/hour reveal the cluster
    cold_users: float = 0.3  # share of users with no history (no genre affinities)
    affinity_noise: float = 0.3
    zipf: float = 1.05  # title popularity ~ 1 / rank^zipf
    click_rate: float = 0.12  # typical P(click) of a title's artwork
    play_after_click: float = 0.35  # typical P(play | click)
    appeal: float = 0.25  # spread of an artwork's appeal that no feature shows
    clickbait: float = 0.15  # share of artworks that are clickbait
    feature_noise: float = 0.2  # noise on the traits the vision stage reports
    uploads: float = 0.25  # share of titles that get new artworks halfway through
    upload_at: float = 0.5  # when, as a share of the run
    wear_out: float = 0.1  # share of titles with an artwork that wears out
    wear: float = 0.8  # appeal lost by the end of the run
    judgement: float = 0.4  # error of the creatives who pick each title's default artwork
    embedding_dim: int = 8
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("n_users", "n_titles", "clusters", "embedding_dim"):
            if int(getattr(self, name)) < 1:
                raise WorldError(f"{name} must be at least 1, got {getattr(self, name)!r}")
        if not 2 <= self.min_artworks <= self.max_artworks:
            raise WorldError("artworks per title: need 2 <= min_artworks <= max_artworks")
        for name in ("context_signal", "cold_users", "clickbait", "uploads", "upload_at", "wear_out"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise WorldError(f"{name} must be in [0, 1], got {getattr(self, name)!r}")
        for name in ("click_rate", "play_after_click"):
            if not 0.0 < getattr(self, name) < 1.0:
                raise WorldError(f"{name} must be in (0, 1), got {getattr(self, name)!r}")


# The worlds of the benchmark suite: each turns what makes real traffic hard a different way.
SUITE: Mapping[str, RealisticConfig] = {
    "typical": RealisticConfig(),
    "rare-plays": RealisticConfig(click_rate=0.06, play_after_click=0.3),
    "long-tail": RealisticConfig(n_titles=100, zipf=1.2, uploads=0.15),
    "misleading-vision": RealisticConfig(feature_noise=0.45, clickbait=0.3),
    "cold-and-fresh": RealisticConfig(cold_users=0.6, context_signal=0.4, uploads=0.5,
                                      wear_out=0.3),
}


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _logit(p: float) -> float:
    return float(np.log(p / (1.0 - p)))


class RealisticWorld(WorldBase):
    """Users in taste clusters, Zipf titles, artworks with hidden traits; exact take probabilities."""

    USER_DIGITS = 6
    TITLE_DIGITS = 4

    def __init__(self, config: RealisticConfig | None = None, n_steps: int = 100_000) -> None:
        """Draw a world from the config's seed for a run of `n_steps` impressions."""
        self.config = cfg = config or RealisticConfig()
        if n_steps < 1:
            raise WorldError(f"n_steps must be at least 1, got {n_steps!r}")
        self.n_steps = n_steps
        rng = np.random.default_rng([cfg.seed, 17])
        k = len(TRAITS)
        self._draw_users(rng, k)
        self._draw_titles(rng)
        self._draw_artworks(rng, k)

    # ----- drawing the world ---------------------------------------------------------------
    def _draw_users(self, rng: np.random.Generator, k: int) -> None:
        cfg = self.config
        c = cfg.clusters
        self.common_taste = rng.normal(0.0, cfg.common_taste, size=k)
        self.cluster_taste = self.common_taste + rng.normal(0.0, cfg.cluster_taste, size=(c, k))
        # Each cluster leans to some devices, countries and hours; `context_signal` says how much.
        lean = cfg.context_signal

        def leaning(n: int) -> np.ndarray:
            favourite = rng.dirichlet(np.full(n, 0.3), size=c)
            return lean * favourite + (1.0 - lean) * np.full((c, n), 1.0 / n)

        self.cluster_device = leaning(len(DEVICES))
        self.cluster_country = leaning(len(COUNTRIES))
        self.cluster_night = lean * rng.beta(0.7, 0.7, size=c) + (1.0 - lean) * 0.25
        self.device_taste = rng.normal(0.0, 0.3, size=(len(DEVICES), k))
        self.night_taste = rng.normal(0.0, 0.3, size=k)
        n = cfg.n_users
        self.user_cluster = rng.integers(c, size=n)
        self.user_taste = (self.cluster_taste[self.user_cluster]
                           + rng.normal(0.0, cfg.individual_taste, size=(n, k)))
        self.user_country = np.array([rng.choice(len(COUNTRIES), p=self.cluster_country[g])
                                      for g in self.user_cluster])
        self.user_device = np.array([rng.choice(len(DEVICES), p=self.cluster_device[g])
                                     for g in self.user_cluster])
        # Genre affinities: what the user played, a noisy view of the taste; none for cold users.
        mixing = rng.normal(size=(len(GENRES), k)) / np.sqrt(k)
        raw = self.user_taste @ mixing.T + rng.normal(0.0, cfg.affinity_noise, size=(n, len(GENRES)))
        shares = np.exp(raw)
        self.user_affinity = np.round(shares / shares.sum(axis=1, keepdims=True), 3)
        self.user_cold = rng.random(n) < cfg.cold_users

    def _draw_titles(self, rng: np.random.Generator) -> None:
        cfg = self.config
        m = cfg.n_titles
        popularity = 1.0 / np.arange(1, m + 1) ** cfg.zipf
        self.title_popularity = popularity / popularity.sum()  # title 0 is the most popular
        self.title_genres = [tuple(sorted(rng.choice(len(GENRES), size=rng.integers(1, 3),
                                                     replace=False))) for _ in range(m)]
        self.title_click = _logit(cfg.click_rate) + rng.normal(0.0, 0.4, size=m)
        self.title_play = _logit(cfg.play_after_click) + rng.normal(0.0, 0.3, size=m)

    def _draw_artworks(self, rng: np.random.Generator, k: int) -> None:
        cfg = self.config
        m = cfg.n_titles
        base = rng.integers(cfg.min_artworks, cfg.max_artworks + 1, size=m)
        uploads = np.where(rng.random(m) < cfg.uploads, rng.integers(1, 3, size=m), 0)
        self.n_base, self.n_artworks = base, base + uploads
        width = int(self.n_artworks.max())
        self.traits = np.zeros((m, width, k))
        for t in range(m):
            for a in range(self.n_artworks[t]):
                self.traits[t, a] = rng.uniform(0.0, 0.25, size=k)
                for trait in rng.choice(k, size=rng.integers(1, 3), replace=False):
                    self.traits[t, a, trait] = rng.uniform(0.55, 1.0)
        self.appeal = rng.normal(0.0, cfg.appeal, size=(m, width))
        new = np.arange(width)[None, :] >= base[:, None]
        # Uploads are made to do better, and mostly do; some are worse than what is live.
        self.appeal[new] = rng.normal(0.25, cfg.appeal, size=int(new.sum()))
        self.is_new = new & (np.arange(width)[None, :] < self.n_artworks[:, None])
        live = np.arange(width)[None, :] < self.n_artworks[:, None]
        self.clickbait = live & (rng.random((m, width)) < cfg.clickbait)
        bright, text = TRAITS.index("bright"), TRAITS.index("text")
        self.traits[self.clickbait, bright] = np.maximum(self.traits[self.clickbait, bright], 0.7)
        self.traits[self.clickbait, text] = np.maximum(self.traits[self.clickbait, text], 0.6)
        # One artwork of some titles wears out: the one with the most appeal among the first ones.
        self.wearing = np.full(m, -1)
        for t in np.flatnonzero(rng.random(m) < cfg.wear_out):
            self.wearing[t] = int(np.argmax(self.appeal[t, : base[t]]))
        # The creatives' default: what they judge best for everyone, with a judge's error.
        everyone = self.traits @ self.common_taste + self.appeal
        judged = everyone + rng.normal(0.0, cfg.judgement, size=everyone.shape)
        self.default_artwork = np.array([int(np.argmax(judged[t, : base[t]])) for t in range(m)])
        # What the vision stage reports: noisy traits, a quality score that half reflects the
        # hidden appeal, and an embedding: a noisy projection of the traits.
        seen = np.clip(self.traits + rng.normal(0.0, cfg.feature_noise, size=self.traits.shape), 0, 1)
        sharpness = np.clip(0.5 + 0.5 * self.appeal + rng.normal(0.0, 0.2, size=(m, width)), 0, 1)
        projection = rng.normal(size=(k, cfg.embedding_dim)) / np.sqrt(k)
        embedding = seen @ projection + rng.normal(0.0, 0.1, size=(m, width, cfg.embedding_dim))
        embedding /= np.linalg.norm(embedding, axis=-1, keepdims=True) + 1e-12
        self.actions: list[tuple[Action, ...]] = []
        for t in range(m):
            row = []
            for a in range(self.n_artworks[t]):
                features = {name: round(float(v), 3) for name, v in zip(TRAITS, seen[t, a])}
                features["sharpness"] = round(float(sharpness[t, a]), 3)
                row.append(Action(
                    id=self.artwork_id(t, a), features=features,
                    tags=tuple(name for name, v in zip(TRAITS, seen[t, a]) if v >= 0.5),
                    embedding=tuple(round(float(v), 4) for v in embedding[t, a]),
                    is_default=bool(a == self.default_artwork[t])))
            self.actions.append(tuple(row))

    # ----- traffic -------------------------------------------------------------------------
    def live(self, title: int, step: int) -> int:
        """How many of the title's artworks are live at `step` (uploads go live halfway)."""
        uploaded = step >= self.config.upload_at * self.n_steps
        return int(self.n_artworks[title] if uploaded else self.n_base[title])

    def impression(self, rng: np.random.Generator, step: int) -> Impression:
        """Draw the impression at `step`: a user, a title by popularity, the device and the hour."""
        user = int(rng.integers(self.config.n_users))
        title = int(rng.choice(self.config.n_titles, p=self.title_popularity))
        cluster = self.user_cluster[user]
        device = (int(self.user_device[user]) if rng.random() < 0.7
                  else int(rng.choice(len(DEVICES), p=self.cluster_device[cluster])))
        night = rng.random() < self.cluster_night[cluster]
        hours = NIGHT_HOURS if night else DAY_HOURS
        hour = int(hours[rng.integers(len(hours))])
        context = Context(
            user_id=self.user_id(user), title_id=self.title_id(title),
            features={"device": DEVICES[device], "country": COUNTRIES[self.user_country[user]],
                      "hour": hour},
            genre_affinity=({} if self.user_cold[user]
                            else {g: float(v) for g, v in zip(GENRES, self.user_affinity[user])}),
            title_genres=tuple(GENRES[g] for g in self.title_genres[title]),
        )
        return Impression(user, title, device, hour, context,
                          self.actions[title][: self.live(title, step)], step)

    # ----- ground truth --------------------------------------------------------------------
    def click_and_play(self, imp: Impression) -> tuple[np.ndarray, np.ndarray]:
        """Per live artwork of the impression: P(click) and P(play | click)."""
        t, n = imp.title, len(imp.actions)
        taste = (self.user_taste[imp.user] + self.device_taste[imp.device]
                 + float(imp.hour in NIGHT_HOURS) * self.night_taste)
        match = self.traits[t, :n] @ taste
        appeal = self.appeal[t, :n].copy()
        if 0 <= self.wearing[t] < n:
            appeal[self.wearing[t]] -= self.config.wear * imp.step / self.n_steps
        bait = self.clickbait[t, :n]
        click = _sigmoid(self.title_click[t] + 0.6 * match + appeal + 1.2 * bait)
        play = _sigmoid(self.title_play[t] + 0.6 * match + 0.5 * appeal - 1.6 * bait)
        return click, play

    def new_artworks(self, imp: Impression) -> np.ndarray:
        """Per live artwork of the impression: whether it was uploaded during the run."""
        return self.is_new[imp.title, : len(imp.actions)]


def suite_world(name: str, seed: int, n_steps: int) -> RealisticWorld:
    """The suite's world `name`, drawn with `seed`, for a run of `n_steps` impressions."""
    if name not in SUITE:
        raise WorldError(f"no world {name!r} in the suite; worlds: {', '.join(SUITE)}")
    return RealisticWorld(replace(SUITE[name], seed=seed), n_steps=n_steps)
