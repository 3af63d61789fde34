"""Errors raised by the simulator: logs, estimators, policy specs and simulations."""


class SimulatorError(Exception):
    """Base for simulator errors."""


class InvalidLogError(SimulatorError, ValueError):
    """A logged-feedback file or array whose values cannot be evaluated (the message names column and row)."""


class MissingColumnError(InvalidLogError, LookupError):
    """A column the reader needs that the log does not have."""


class LogFormatError(InvalidLogError):
    """A log file that cannot be opened in the format asked for (unknown suffix, not CSV/Parquet)."""


class InvalidEstimatorError(SimulatorError, ValueError):
    """Estimator settings or inputs that cannot work (clip <= 0, confidence outside (0, 1), pmf of wrong shape)."""


class PolicySpecError(SimulatorError, ValueError):
    """A policy spec string that does not name a known policy or has bad parameters."""


class ExternalPolicyError(SimulatorError, ValueError):
    """An external per-row action-probability file that does not fit the log."""


class SimulationError(SimulatorError, ValueError):
    """Simulation settings that cannot work (no policies, rounds <= 0, duplicate names)."""
