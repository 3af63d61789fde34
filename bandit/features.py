"""Vowpal Wabbit ADF example text: namespaces, escaping and interactions."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from bandit.errors import InvalidFeatureError, InvalidPolicyError
from bandit.types import Action, Context

# Percent-encoding keeps the mapping one-to-one: "%" itself is escaped first.
_ESCAPES = str.maketrans(
    {"%": "%25", " ": "%20", "\t": "%09", "\n": "%0A", "\r": "%0D", "|": "%7C", ":": "%3A"}
)
_SPECIAL = frozenset("% \t\n\r|:")

# Local hour → part of the day.
_DAYPARTS = ("night",) * 6 + ("morning",) * 6 + ("afternoon",) * 6 + ("evening",) * 4 + ("night",) * 2


def escape(token: str) -> str:
    """Make a feature name or value safe for VW text: no space, '|', ':' or line break survives."""
    token = str(token)
    if _SPECIAL.isdisjoint(token):
        return token
    return token.translate(_ESCAPES)


# Feature names and title genres repeat on every line: each is written once and kept.
_MEMO_LIMIT = 100_000
_ESCAPED: dict[str, str] = {}
_GENRE_PARTS: dict[tuple[str, ...], str] = {}


def _memo(cache: dict, key: Any, make: Callable[[], str]) -> str:
    text = cache.get(key)
    if text is None:
        if len(cache) >= _MEMO_LIMIT:
            cache.clear()
        text = cache[key] = make()
    return text


def _escaped(name: str) -> str:
    return _memo(_ESCAPED, name, lambda: escape(name))


def _genre_part(genres: tuple[str, ...]) -> str:
    """The title's genres as features of the shared line (with a leading space), made once per set."""
    return _memo(_GENRE_PARTS, genres, lambda: "".join(f" genre={escape(g)}" for g in genres))


def _finite(name: str, value: object) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidFeatureError(
            f"feature {name!r} has value {value!r}, not a number; pass a number "
            "(words go in context strings or action tags)"
        ) from None
    if not math.isfinite(number):
        raise InvalidFeatureError(f"feature {name!r} is {number}; pass a finite number or leave it out")
    return number


@dataclass(frozen=True)
class FeatureSpace:
    """How a context and its candidate actions become one VW ADF multi-line example.

    Namespaces are named; VW keys interactions on their first letters, so ``"ua"`` crosses
    every user feature with every action feature (how this kind of user likes this kind of
    artwork); ``"ia"`` would add per-user and per-title taste weights (sparse: it needs many
    decisions per user before it helps). The identity namespace alone gives each artwork its
    own bias.
    """

    user_namespace: str = "user"
    action_namespace: str = "action"
    identity_namespace: str = "identity"
    interactions: tuple[str, ...] = ("ua",)

    def __post_init__(self) -> None:
        names = (self.user_namespace, self.action_namespace, self.identity_namespace)
        for name in names:
            if not name or not name.isascii() or not name.isalnum():
                raise InvalidPolicyError(f"namespace {name!r} must be a non-empty ASCII word")
        letters = [n[0] for n in names]
        if len(set(letters)) != len(letters):
            raise InvalidPolicyError(
                f"namespaces {names} share a first letter; VW interactions need distinct ones"
            )
        for pair in self.interactions:
            if not pair or any(ch not in letters for ch in pair):
                raise InvalidPolicyError(
                    f"interaction {pair!r} uses letters outside the namespaces' {''.join(letters)}; "
                    f"use e.g. 'ua' ({self.user_namespace} × {self.action_namespace})"
                )

    def vw_args(self) -> list[str]:
        """The VW command-line arguments that declare the interactions."""
        args: list[str] = []
        for pair in self.interactions:
            args += ["--interactions", pair]
        return args

    def shared_line(self, context: Context, user_part: str | None = None) -> str:
        """The shared (context) line of the example (`user_part` when it is already made)."""
        if user_part is None:
            user_part = self.user_part(context.features, context.genre_affinity)
        return (f"shared |{self.user_namespace} {user_part}"
                f"{_genre_part(context.title_genres)} |{self.identity_namespace} "
                f"user={escape(context.user_id)} title={escape(context.title_id)}")

    def user_part(self, features: Mapping[str, str | float], affinity: Mapping[str, float]) -> str:
        """The user's features of the shared line: what the UI passed and the genre affinities."""
        parts = []
        for name, value in features.items():
            key = _escaped(name)
            if isinstance(value, str):
                parts.append(f"{key}={escape(value)}")
            elif isinstance(value, bool):
                parts.append(f"{key}={'yes' if value else 'no'}")
            elif name == "hour":
                # Grouped so that sparse hours share what is learned.
                parts.append(f"daypart={_DAYPARTS[int(_finite(name, value)) % 24]}")
            else:
                parts.append(f"{key}:{_finite(name, value):.6g}")
        if affinity:
            # Relative to the user's mean: what sets this user apart, not how much they watch.
            values = {genre: _finite(f"affinity {genre}", v) for genre, v in affinity.items()}
            mean = math.fsum(values.values()) / len(values)
            for genre, value in values.items():
                parts.append(f"affinity_{_escaped(genre)}:{value - mean:.6g}")
        return " ".join(parts)

    def action_line(self, action: Action) -> str:
        """One action line (without a label)."""
        parts = [f"|{self.action_namespace}"]
        for name, value in action.features.items():
            parts.append(f"{escape(name)}:{_finite(name, value):.6g}")
        for tag in action.tags:
            parts.append(f"tag={escape(tag)}")
        for i, value in enumerate(action.embedding):
            parts.append(f"emb{i}:{_finite(f'embedding[{i}]', value):.6g}")
        if action.is_default:
            parts.append("default")
        parts.append(f"|{self.identity_namespace} artwork={escape(action.id)}")
        return " ".join(parts)


def label_prefix(cost: float, probability: float) -> str:
    """The CB label written before the chosen action's line: ``0:cost:probability``."""
    return f"0:{cost:.9g}:{probability:.9g} "


def with_label(lines: list[str], chosen: int, reward: float, probability: float) -> list[str]:
    """The example `lines` (shared line first) labelled for learning: the chosen action's cost."""
    labelled = list(lines)
    labelled[chosen + 1] = label_prefix(cost_of(reward), probability) + labelled[chosen + 1]
    return labelled


def cost_of(reward: float) -> float:
    """VW minimizes cost, so the cost of a reward is its negative."""
    return -float(reward)


class ActionLineCache:
    """Remembers each action's line: actions repeat across impressions, contexts do not."""

    def __init__(self, space: FeatureSpace, max_size: int = 200_000) -> None:
        self.space = space
        self.max_size = max_size
        self._lines: dict[str, tuple[Action, str]] = {}

    def lines(self, actions: Sequence[Action]) -> list[str]:
        """Action lines for ``actions``, formatting only those not seen before or changed."""
        out = []
        cache = self._lines
        for action in actions:
            entry = cache.get(action.id)
            if entry is None or (entry[0] is not action and entry[0] != action):
                if len(cache) >= self.max_size:
                    cache.clear()
                entry = (action, self.space.action_line(action))
                cache[action.id] = entry
            out.append(entry[1])
        return out
