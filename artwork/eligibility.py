"""Who may be shown an artwork: countries, languages, devices, a maturity rating and a time window.

An artwork without rules is eligible everywhere. A rule on a dimension admits a request only
when the request states a value the rule allows: an artwork limited to `DE` is not shown to a
request that names no country, and an artwork rated above the lowest maturity level is not
shown to a profile that does not state its ceiling. A time window admits requests from its
start (inclusive) to its end (exclusive).
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping, NamedTuple

from artwork.errors import InvalidRecordError

# Maturity levels, lowest first: a profile whose ceiling is `teen` sees artworks rated `kids`
# or `teen`, never `adult`.
MATURITY_LEVELS = ("kids", "teen", "adult")
_RANK = {level: i for i, level in enumerate(MATURITY_LEVELS)}
# The context parameters a request states its audience with.
AUDIENCE_PARAMS = ("country", "language", "device", "maturity")
RULE_FIELDS = ("countries", "languages", "devices", "maturity", "starts", "ends")
MAX_VALUES = 300
COUNTRY = re.compile(r"[A-Z]{2}")
LANGUAGE = re.compile(r"[a-z]{2,3}(-[a-z0-9]{2,8})*")
DEVICE = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")


class Audience(NamedTuple):
    """What a request says about who is watching, normalised once per request.

    A named tuple rather than a dataclass: one is made per request and serves as a cache key,
    and a tuple is the cheapest to build and hash.
    """

    country: str | None = None
    language: str | None = None
    device: str | None = None
    maturity: int | None = None  # rank in MATURITY_LEVELS of the profile's ceiling
    placement: str | None = None  # the shape the artwork is shown in (only those it serves)


# Audiences met so far by their raw context values: a few thousand combinations at most,
# each normalised once rather than on every request.
_AUDIENCES: dict[tuple, Audience] = {}
MAX_AUDIENCES = 10_000


def audience_of(features: Mapping[str, Any]) -> Audience:
    """The audience stated by a request's context features (absent ones stay None)."""
    get = features.get
    key = (get("country"), get("language"), get("device"), get("maturity"), get("placement"))
    audience = _AUDIENCES.get(key)
    if audience is None:
        country, language, device, maturity, placement = key
        audience = Audience(
            country.upper() if isinstance(country, str) else None,
            language.lower() if isinstance(language, str) else None,
            device.lower() if isinstance(device, str) else None,
            _RANK.get(maturity),  # type: ignore[arg-type]
            placement if isinstance(placement, str) else None,
        )
        if len(_AUDIENCES) >= MAX_AUDIENCES:
            _AUDIENCES.clear()
        _AUDIENCES[key] = audience
    return audience


@dataclass(frozen=True)
class Eligibility:
    """An artwork's rules; an empty set or None on a dimension leaves it unrestricted."""

    countries: frozenset[str] = frozenset()
    languages: frozenset[str] = frozenset()
    devices: frozenset[str] = frozenset()
    maturity: str | None = None  # the artwork's rating: the lowest profile ceiling it may reach
    starts: float | None = None
    ends: float | None = None

    @property
    def unrestricted(self) -> bool:
        """True when the rules admit every request."""
        return self == UNRESTRICTED

    def admits(self, audience: Audience, now: float) -> bool:
        """Whether a request with this audience, at time `now`, may be shown the artwork."""
        if self.starts is not None and now < self.starts:
            return False
        if self.ends is not None and now >= self.ends:
            return False
        if self.countries and audience.country not in self.countries:
            return False
        if self.devices and audience.device not in self.devices:
            return False
        if self.languages:
            language = audience.language
            if language is None or (language not in self.languages
                                    and language.split("-", 1)[0] not in self.languages):
                return False
        if self.maturity is not None and self.maturity != MATURITY_LEVELS[0]:
            ceiling = audience.maturity
            if ceiling is None or ceiling < _RANK[self.maturity]:
                return False
        return True

    @property
    def instants(self) -> tuple[float, ...]:
        """The times at which the rules' answer may change (the window's start and end)."""
        return tuple(t for t in (self.starts, self.ends) if t is not None)

    def as_dict(self) -> dict[str, Any]:
        """The rules as JSON-ready values (only the dimensions that are restricted)."""
        out: dict[str, Any] = {}
        for name in ("countries", "languages", "devices"):
            if getattr(self, name):
                out[name] = sorted(getattr(self, name))
        for name in ("maturity", "starts", "ends"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        return out


UNRESTRICTED = Eligibility()


def _codes(value: Any, name: str, pattern: re.Pattern, normalise) -> frozenset[str]:
    if value is None:
        return frozenset()
    if isinstance(value, str) or not isinstance(value, (list, tuple, set, frozenset)):
        raise InvalidRecordError(f"eligibility `{name}` must be a list of codes")
    if len(value) > MAX_VALUES:
        raise InvalidRecordError(f"eligibility `{name}` may list at most {MAX_VALUES} codes")
    out = set()
    for item in value:
        code = normalise(item) if isinstance(item, str) else None
        if code is None or not pattern.fullmatch(code):
            raise InvalidRecordError(f"eligibility `{name}`: {item!r} is not a valid code "
                                     f"(e.g. {_EXAMPLES[name]})")
        out.add(code)
    return frozenset(out)


_EXAMPLES = {"countries": "DE, US", "languages": "de, en, pt-br", "devices": "tv, mobile, web"}


def _instant(value: Any, name: str) -> float | None:
    """Unix seconds from a number or an ISO 8601 date-time with its time zone."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is None:
            raise InvalidRecordError(f"eligibility `{name}` {value!r} is not an ISO 8601 date-time "
                                     "with a time zone (e.g. 2026-12-24T00:00:00+01:00)")
        return moment.timestamp()
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidRecordError(f"eligibility `{name}` must be Unix seconds or an ISO 8601 "
                                 "date-time")
    return float(value)


def eligibility_from(rules: Mapping[str, Any] | None) -> Eligibility:
    """Validated rules from plain values (an API body, a CLI's options, a stored row)."""
    if not rules:
        return UNRESTRICTED
    if not isinstance(rules, Mapping):
        raise InvalidRecordError("eligibility must be an object of rules")
    unknown = sorted(set(rules) - set(RULE_FIELDS))
    if unknown:
        raise InvalidRecordError(f"unknown eligibility rule(s) {unknown}; the rules are "
                                 f"{', '.join(RULE_FIELDS)}")
    maturity = rules.get("maturity")
    if maturity is not None and maturity not in _RANK:
        raise InvalidRecordError(f"eligibility `maturity` {maturity!r} is not one of "
                                 f"{', '.join(MATURITY_LEVELS)}")
    starts, ends = _instant(rules.get("starts"), "starts"), _instant(rules.get("ends"), "ends")
    if starts is not None and ends is not None and ends <= starts:
        raise InvalidRecordError("eligibility window ends before it starts; give `ends` after "
                                 "`starts`")
    return Eligibility(
        countries=_codes(rules.get("countries"), "countries", COUNTRY, str.upper),
        languages=_codes(rules.get("languages"), "languages", LANGUAGE, str.lower),
        devices=_codes(rules.get("devices"), "devices", DEVICE, str.lower),
        maturity=maturity, starts=starts, ends=ends,
    )


def eligibility_text(rules: Eligibility) -> str | None:
    """The rules as the catalog stores them (None when unrestricted)."""
    return None if rules.unrestricted else json.dumps(rules.as_dict(), sort_keys=True)


def eligibility_from_text(text: str | None) -> Eligibility:
    """The rules from their stored text."""
    return UNRESTRICTED if not text else eligibility_from(json.loads(text))
