"""The simulator's policy specs: the bandit's kinds plus `file:probs.csv` and `logged`."""
from __future__ import annotations

from pathlib import Path

from bandit.specs import KINDS as BANDIT_KINDS
from bandit.specs import PolicySpec, SpecKind
from bandit.specs import parse_policy_spec as _parse
from bandit.specs import parse_policy_specs as _parse_all

__all__ = ["KINDS", "PolicySpec", "parse_policy_spec", "parse_policy_specs", "probability_file"]

KINDS = {
    **BANDIT_KINDS,
    # per-row probabilities from a file, evaluated as they are
    "file": SpecKind(False, "path", {"path": str}, raw=True, contextual=False),
    # the logging policy itself, through the log's own pmf
    "logged": SpecKind(False, contextual=False),
}
_EXAMPLES = ("uniform, default, default:0.05, thompson, egreedy:0.1, vw:squarecb, vw:epsilon=0.05, "
             "file:probs.csv, logged")


def parse_policy_spec(text: str) -> PolicySpec:
    """Parse a spec of any kind the simulator evaluates; raises PolicySpecError."""
    return _parse(text, KINDS, _EXAMPLES)


def parse_policy_specs(texts: list[str] | tuple[str, ...]) -> list[PolicySpec]:
    """Parse several specs; names must be distinct and there must be at least one."""
    return _parse_all(texts, KINDS, _EXAMPLES)


def probability_file(spec: PolicySpec) -> Path:
    """The probability file of a `file:` spec."""
    return Path(spec.param("path"))
