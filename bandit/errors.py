"""Errors raised by the bandit package."""


class BanditError(Exception):
    """Base for bandit errors."""


class InvalidCandidatesError(BanditError, ValueError):
    """A candidate list that is empty or names an artwork twice."""


class InvalidPolicyError(BanditError, ValueError):
    """Policy settings that cannot work (unknown exploration, a floor above 1/n, ...)."""


class SnapshotError(BanditError):
    """A model snapshot that is missing, unreadable or from another policy."""


class InvalidFeatureError(BanditError, ValueError):
    """A context or action feature that cannot be written as a Vowpal Wabbit feature."""


class InvalidRewardError(BanditError, ValueError):
    """A reward or feedback kind the reward mapping cannot turn into a number."""


class InvalidRecordError(BanditError, ValueError):
    """A plain dict that cannot be rebuilt into a Context, Action or Decision."""


class PolicySpecError(BanditError, ValueError):
    """A policy spec string that does not name a known policy or has bad parameters."""
