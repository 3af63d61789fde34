"""Prometheus metrics of one serving process."""
from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0)


class Metrics:
    """Counters and histograms kept in a registry of their own (one per app)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._children: dict[tuple[int, str], object] = {}
        self.decisions = Counter(
            "artbandit_decisions", "Decisions served and logged", ["policy"],
            registry=self.registry,
        )
        self.feedback = Counter(
            "artbandit_feedback", "Feedback events recorded (repeats excluded)", ["kind"],
            registry=self.registry,
        )
        self.learned = Counter(
            "artbandit_learned", "Decisions learned from after their reward window",
            registry=self.registry,
        )
        self.latency = Histogram(
            "artbandit_request_seconds", "Request latency by endpoint", ["endpoint"],
            buckets=LATENCY_BUCKETS, registry=self.registry,
        )
        self.errors = Counter(
            "artbandit_http_errors", "Responses with a 4xx or 5xx status", ["status"],
            registry=self.registry,
        )
        self.journal_backlog = Gauge(
            "artbandit_journal_backlog_bytes",
            "Decision journal bytes not yet ingested into the decision log",
            registry=self.registry,
        )
        self.model_version = Gauge(
            "artbandit_model_version", "Version of the model serving decisions",
            registry=self.registry,
        )

    def decided(self, policy: str) -> None:
        """Count one decision served by `policy`."""
        self._child(self.decisions, policy).inc()

    def observe(self, endpoint: str, seconds: float | None, status: int) -> None:
        """Record one response: its latency (when timed), and its status when it is an error."""
        if seconds is not None:
            self._child(self.latency, endpoint).observe(seconds)
        if status >= 400:
            self._child(self.errors, str(status)).inc()

    def _child(self, metric, label: str):
        # prometheus_client's labels() takes a lock and validates on every call; the
        # children are looked up here once per label value instead.
        key = (id(metric), label)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(label)
        return child

    def render(self) -> bytes:
        """The metrics in Prometheus text format."""
        return generate_latest(self.registry)
