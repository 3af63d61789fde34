"""Errors raised by the simulator: logs, estimators, policy specs and simulations."""


class SimulatorError(Exception):
    """Base for simulator errors."""


class InvalidLogError(SimulatorError, ValueError):
    """A logged-feedback file or array whose values cannot be evaluated (the message names column and row)."""


class MissingColumnError(InvalidLogError, LookupError):
    """A column the reader needs that the log does not have; `role` says what it was to hold."""

    def __init__(self, message: str, *, role: str) -> None:
        super().__init__(message)
        self.role = role


class LogFormatError(InvalidLogError):
    """A log file that cannot be opened in the format asked for (unknown suffix, not CSV/Parquet)."""


class InvalidEstimatorError(SimulatorError, ValueError):
    """Estimator settings or inputs that cannot work (clip <= 0, confidence outside (0, 1), pmf of wrong shape)."""


class ExternalPolicyError(SimulatorError, ValueError):
    """An external per-row action-probability file that does not fit the log."""


class SimulationError(SimulatorError, ValueError):
    """Simulation settings that cannot work (no policies, rounds <= 0, duplicate names)."""


class WorldError(SimulatorError, ValueError):
    """World settings that cannot make a world."""


class NoEvidenceError(SimulatorError):
    """Nothing logged yet to evaluate a policy on (no decision carries its pmf)."""


class ClusterError(SimulatorError, RuntimeError):
    """A Dask scheduler that cannot be reached, or a cluster that does not start."""
