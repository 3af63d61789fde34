"""Replay simulator: logged feedback, off-policy estimators, synthetic worlds, online simulation and reports."""
from simulator.errors import (ExternalPolicyError, InvalidEstimatorError, InvalidLogError, LogFormatError, WorldError,
                              MissingColumnError, SimulationError, SimulatorError)
from simulator.estimators import (IPS, DirectMethod, DoublyRobust, Estimate, Estimator, Replay, SelfNormalizedIPS,
                                  make_estimator)
from simulator.evaluation import (LearningCurve, PolicyEvaluation, PolicyRun, evaluate_policies, external_pmf,
                                  policy_pmf, replay_learning, run_policy)
from simulator.log_files import read_log, write_log
from simulator.logs import EXPORT_MAPPING, BanditRows, ColumnMapping, LoggedFeedback
from simulator.online import PolicyOutcome, SimulationResult, simulate
from simulator.insights import Finding, InsightCell, Insights, creative_insights
from simulator.replay import replay_log
from simulator.reports import write_evaluation_report, write_simulation_report
from simulator.reward_model import RewardEstimates, RewardModel
from simulator.specs import PolicySpec, parse_policy_spec, parse_policy_specs
from simulator.synthetic import SyntheticLog, context_json, log_from_world, world_catalog
from simulator.world import Impression, World, WorldConfig

__all__ = [
    "BanditRows", "ColumnMapping", "DirectMethod", "DoublyRobust", "EXPORT_MAPPING", "Estimate", "Estimator",
    "ExternalPolicyError", "Finding", "IPS", "InsightCell", "Insights", "Impression", "InvalidEstimatorError", "InvalidLogError", "LearningCurve",
    "LogFormatError", "LoggedFeedback", "MissingColumnError", "PolicyEvaluation", "PolicyOutcome", "PolicyRun",
    "PolicySpec", "Replay", "SelfNormalizedIPS", "SimulationError", "SimulationResult",
    "SimulatorError", "SyntheticLog", "RewardEstimates", "RewardModel", "World", "WorldConfig", "WorldError", "context_json",
    "creative_insights", "replay_log",
    "evaluate_policies", "external_pmf", "log_from_world", "make_estimator", "parse_policy_spec",
    "parse_policy_specs", "policy_pmf", "read_log", "replay_learning", "run_policy", "simulate", "world_catalog",
    "write_evaluation_report", "write_log", "write_simulation_report",
]
