"""The outside reference of the bandit benchmark: Bayesian Thompson sampling on the same features.

Written independently of the product's Vowpal Wabbit policy, on the observable features a
policy sees (the context's words and numbers, each artwork's features, tags, embedding and
id, and every context x artwork cross). The model is Bayesian generalized linear regression
of a play with a diagonal Gaussian posterior over the weights, updated online by assumed
density filtering with a probit link, as in Graepel et al., "Web-Scale Bayesian Click-Through
Rate Prediction for Sponsored Search Advertising in Microsoft's Bing Search Engine" (ICML
2010; AdPredictor), and played by Thompson sampling (Chapelle & Li, "An Empirical Evaluation
of Thompson Sampling", NIPS 2011). Its pmf is the share of posterior draws in which each
candidate scores highest, so it keeps the same probability floor as every policy.
"""
from __future__ import annotations

import sys
import zlib
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from scipy.special import log_ndtr

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bandit.policy import Policy  # noqa: E402
from bandit.types import Action, Context, Decision  # noqa: E402

BITS = 20
_MASK = (1 << BITS) - 1
_CROSS = 0x9E3779B1


def _hash(token: str) -> int:
    return zlib.crc32(token.encode()) & _MASK


def _context_tokens(context: Context) -> tuple[np.ndarray, np.ndarray]:
    names, values = ["bias"], [1.0]
    for key, value in context.features.items():
        if key == "hour":
            names.append(f"hours={int(value) // 6}")  # four parts of the day
            values.append(1.0)
        elif isinstance(value, str):
            names.append(f"{key}={value}")
            values.append(1.0)
        else:
            names.append(key)
            values.append(float(value))
    affinity = context.genre_affinity
    if affinity:
        mean = sum(affinity.values()) / len(affinity)
        for genre, value in affinity.items():
            names.append(f"affinity={genre}")
            values.append(float(value) - mean)
    else:
        names.append("no-history")
        values.append(1.0)
    for genre in context.title_genres:
        names.append(f"genre={genre}")
        values.append(1.0)
    return np.array([_hash(n) for n in names], dtype=np.int64), np.array(values)


def _action_tokens(action: Action) -> tuple[np.ndarray, np.ndarray]:
    names = [f"{k}" for k in action.features] + [f"tag={t}" for t in action.tags]
    names += [f"emb{i}" for i in range(len(action.embedding))]
    values = [float(v) for v in action.features.values()] + [1.0] * len(action.tags)
    values += [float(v) for v in action.embedding]
    names.append("default" if action.is_default else "not-default")
    values.append(1.0)
    return np.array([_hash(n) for n in names], dtype=np.int64), np.array(values)


class BayesianThompsonPolicy(Policy):
    """Bayesian probit regression (diagonal Gaussian posterior, ADF updates) with Thompson sampling."""

    kind = "bayesian-thompson"

    def __init__(self, *, prior_variance: float = 0.01, beta: float = 1.0, draws: int = 32,
                 spread: float = 1.0, name: str = "reference-ts", floor: float = 0.01,
                 seed: int | None = 0) -> None:
        super().__init__(name=name, floor=floor, seed=seed)
        self.prior_variance, self.beta, self.draws = float(prior_variance), float(beta), int(draws)
        # Posterior draws are spread by this factor (< 1 explores less than the posterior says,
        # the usual tuning of Thompson sampling with many features).
        self.spread = float(spread)
        self.mean = np.zeros(1 << BITS)
        self.variance = np.full(1 << BITS, self.prior_variance)
        # A play is rare: the score's zero point starts at the probit of a typical take rate.
        self.mean[_hash("bias")] = -1.5
        self._actions: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def settings(self) -> dict[str, Any]:
        """Prior variance, probit noise and posterior draws per decision."""
        return {"prior_variance": self.prior_variance, "beta": self.beta, "draws": self.draws,
                "spread": self.spread}

    def _features(self, context: Context, actions: Sequence[Action]) -> list[tuple[np.ndarray, np.ndarray]]:
        ctx_idx, ctx_val = _context_tokens(context)
        out = []
        for action in actions:
            cached = self._actions.get(action.id)
            if cached is None:
                cached = self._actions[action.id] = _action_tokens(action)
            act_idx, act_val = cached
            identity = _hash(f"artwork={action.id}")
            cross_idx = ((ctx_idx[:, None] * _CROSS) ^ act_idx[None, :]) & _MASK
            idx = np.concatenate([cross_idx.ravel(), act_idx, [identity],
                                  (ctx_idx * _CROSS ^ identity) & _MASK])
            val = np.concatenate([(ctx_val[:, None] * act_val[None, :]).ravel(), act_val, [1.0],
                                  ctx_val])
            out.append((idx, val))
        return out

    def _pmf(self, context: Context, actions: tuple[Action, ...]) -> Sequence[float]:
        feats = self._features(context, actions)
        # Each candidate's score under a posterior draw of the weights is Gaussian: mean . x,
        # variance sum(var * x^2) (the posterior is diagonal), so it is drawn directly.
        centre = np.array([self.mean[idx] @ val for idx, val in feats])
        sd = self.spread * np.sqrt([self.variance[idx] @ (val * val) for idx, val in feats])
        scores = centre + self._rng.standard_normal((self.draws, len(actions))) * sd
        wins = np.bincount(scores.argmax(axis=1), minlength=len(actions))
        return (wins / self.draws).tolist()

    def _learn(self, context: Context, actions: tuple[Action, ...], decision: Decision, reward: float,
               engaged: bool | None) -> None:
        idx, val = self._features(context, (actions[decision.chosen],))[0]
        y = 1.0 if reward > 0 else -1.0
        var = self.variance[idx]
        s2 = self.beta ** 2 + float(var @ (val * val))
        s = np.sqrt(s2)
        t = y * float(self.mean[idx] @ val) / s
        v = np.exp(-0.5 * t * t - 0.5 * np.log(2 * np.pi) - log_ndtr(t))  # pdf(t) / cdf(t)
        w = v * (v + t)
        np.add.at(self.mean, idx, y * val * var / s * v)
        np.add.at(self.variance, idx, -var * (val * val * var / s2 * w))
        self.variance[idx] = np.maximum(self.variance[idx], 1e-6)

    def _state(self) -> bytes:
        return self.mean.tobytes() + self.variance.tobytes()

    def _restore(self, data: bytes) -> None:
        half = len(data) // 2
        self.mean = np.frombuffer(data[:half]).copy()
        self.variance = np.frombuffer(data[half:]).copy()
