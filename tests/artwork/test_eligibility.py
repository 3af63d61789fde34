"""Eligibility rules: parsing at the boundary, what they admit, and how the catalog keeps them."""
from __future__ import annotations

import pytest

from artwork.eligibility import (
    UNRESTRICTED,
    audience_of,
    eligibility_from,
    eligibility_from_text,
    eligibility_text,
)
from artwork.errors import InvalidRecordError


def _admits(rules: dict, now: float = 100.0, **features) -> bool:
    return eligibility_from(rules).admits(audience_of(features), now)


def test_no_rules_admit_everyone():
    assert eligibility_from(None) is UNRESTRICTED and eligibility_from({}) is UNRESTRICTED
    assert _admits({}) and _admits({}, country="US", maturity="kids")


def test_countries_languages_devices_need_a_stated_matching_value():
    assert _admits({"countries": ["de"]}, country="DE") and _admits({"countries": ["DE"]}, country="de")
    assert not _admits({"countries": ["DE"]}, country="US")
    assert not _admits({"countries": ["DE"]})  # no country stated
    assert _admits({"languages": ["de"]}, language="de-AT")  # the primary language counts
    assert _admits({"languages": ["pt-br"]}, language="pt-BR")
    assert not _admits({"languages": ["pt-br"]}, language="pt")
    assert not _admits({"devices": ["tv"]}, device="mobile")
    assert _admits({"devices": ["tv"], "countries": ["DE"]}, device="TV", country="DE")
    assert not _admits({"devices": ["tv"], "countries": ["DE"]}, device="tv", country="FR")


def test_maturity_is_a_ceiling():
    assert _admits({"maturity": "kids"}) and _admits({"maturity": "kids"}, maturity="kids")
    assert not _admits({"maturity": "adult"}, maturity="kids")
    assert not _admits({"maturity": "adult"}, maturity="teen")
    assert not _admits({"maturity": "teen"})  # a profile that does not say gets nothing rated
    assert _admits({"maturity": "teen"}, maturity="adult")


def test_window_starts_inclusive_ends_exclusive():
    rules = {"starts": 10.0, "ends": 20.0}
    assert [_admits(rules, t) for t in (9.99, 10.0, 19.99, 20.0)] == [False, True, True, False]
    assert eligibility_from(rules).instants == (10.0, 20.0)
    assert eligibility_from({"starts": "1970-01-01T00:01:00+00:00"}).starts == 60.0


@pytest.mark.parametrize("rules", [
    {"countries": ["DEU"]}, {"countries": "DE"}, {"languages": ["de_AT"]}, {"devices": [""]},
    {"maturity": "R"}, {"starts": "2026-01-01"}, {"ends": float("nan")}, {"ends": True},
    {"starts": 5, "ends": 5}, {"colour": 1}, ["DE"], {"countries": [1]},
])
def test_bad_rules_are_refused(rules):
    with pytest.raises(InvalidRecordError):
        eligibility_from(rules)


def test_text_round_trip():
    rules = eligibility_from({"countries": ["AT", "DE"], "maturity": "teen", "ends": 5})
    assert eligibility_text(UNRESTRICTED) is None and eligibility_from_text(None) is UNRESTRICTED
    assert eligibility_from_text(eligibility_text(rules)) == rules


def test_catalog_keeps_rules_with_the_artwork(store, jpeg_bytes):
    store.add_title("t", "T")
    art = store.add_artwork_image("t", jpeg_bytes(1))
    assert art.eligibility is UNRESTRICTED
    rules = eligibility_from({"countries": ["DE"], "devices": ["tv"]})
    assert store.set_eligibility(art.id, rules).eligibility == rules
    assert store.list_artworks("t")[0].eligibility == rules
    store.set_eligibility(art.id, rules)  # unchanged: not audited again
    assert [e.detail for e in store.audit_for(art.id) if e.action == "eligibility"] == [
        {"from": {}, "to": {"countries": ["DE"], "devices": ["tv"]}}]
