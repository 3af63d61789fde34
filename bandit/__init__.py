"""Contextual bandit: choose each user's artwork with Vowpal Wabbit, explore, and learn from feedback."""
from bandit.baselines import DefaultArtworkPolicy, EpsilonGreedyPolicy, ThompsonPolicy, UniformPolicy
from bandit.errors import (
    BanditError,
    InvalidCandidatesError,
    InvalidFeatureError,
    InvalidPolicyError,
    InvalidRecordError,
    InvalidRewardError,
    SnapshotError,
)
from bandit.exploration import DEFAULT_FLOOR, apply_floor, check_candidates, sample_index
from bandit.ids import new_event_id
from bandit.features import FeatureSpace, escape
from bandit.learner import Learner, LearnerStats, LearningItem
from bandit.policy import Policy
from bandit.serving import ServingModel
from bandit.snapshots import Snapshot, SnapshotStore
from bandit.types import Action, Context, Decision
from bandit.vw_policy import CB_TYPES, EXPLORATIONS, VWPolicy, VWSettings

__all__ = [
    "Action",
    "BanditError",
    "CB_TYPES",
    "Context",
    "DEFAULT_FLOOR",
    "Decision",
    "DefaultArtworkPolicy",
    "EXPLORATIONS",
    "EpsilonGreedyPolicy",
    "FeatureSpace",
    "InvalidCandidatesError",
    "InvalidFeatureError",
    "InvalidPolicyError",
    "InvalidRecordError",
    "InvalidRewardError",
    "Learner",
    "LearnerStats",
    "LearningItem",
    "Policy",
    "ServingModel",
    "Snapshot",
    "SnapshotError",
    "SnapshotStore",
    "ThompsonPolicy",
    "UniformPolicy",
    "VWPolicy",
    "VWSettings",
    "apply_floor",
    "check_candidates",
    "escape",
    "new_event_id",
    "sample_index",
]
