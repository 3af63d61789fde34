"""What a caller may pass as context: the query names that are not context, and each parameter's rule."""
from __future__ import annotations

from typing import Callable, Mapping

from artwork.catalog import CONTROL_CHARACTERS
from artwork.eligibility import MATURITY_LEVELS

from api.errors import InvalidRequestError

# Query parameters of GET /artwork that are not context features.
RESERVED = frozenset({"user", "title"})
MAX_VALUE_LENGTH = 64


def _hour(value: str) -> float:
    try:
        hour = int(value)
    except ValueError:
        hour = -1
    if not 0 <= hour <= 23:
        raise InvalidRequestError("parameter `hour` must be the local hour, an integer from 0 to 23")
    return float(hour)


def _maturity(value: str) -> str:
    if value not in MATURITY_LEVELS:
        raise InvalidRequestError(f"parameter `maturity` must be the profile's maturity ceiling, "
                                  f"one of {', '.join(MATURITY_LEVELS)}")
    return value


# Parameters with a rule of their own; any other allowed one is a word passed as it is.
RULES: Mapping[str, Callable[[str], str | float]] = {"hour": _hour, "maturity": _maturity}


def context_features(params: Mapping[str, list[str]], allowed: tuple[str, ...]) -> dict[str, str | float]:
    """The context parameters the configuration allows (no personal data can slip in)."""
    features: dict[str, str | float] = {}
    for key, values in params.items():
        if key in RESERVED:
            continue
        if key not in allowed:
            raise InvalidRequestError(
                f"unknown context parameter {key!r}; accepted: {', '.join(allowed)} "
                "(the `context_params` setting)"
            )
        if len(values) != 1:
            raise InvalidRequestError(f"context parameter `{key}` given {len(values)} times; give it once")
        value = values[0]
        if not value or len(value) > MAX_VALUE_LENGTH or CONTROL_CHARACTERS.search(value):
            raise InvalidRequestError(
                f"context parameter `{key}` must be 1 to {MAX_VALUE_LENGTH} characters, "
                "without control characters")
        rule = RULES.get(key)
        features[key] = value if rule is None else rule(value)
    return features
