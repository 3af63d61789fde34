"""Prometheus metrics of the serving processes: one scrape gives the totals of every worker.

Under `artbandit serve` the workers keep their counters in prometheus_client's multiprocess
files in one shared folder, and a scrape of any worker adds them up. Figures that live in
shared state (the journal backlog, refused journal lines, the learner's report) are read at
scrape time, so they are the same whichever worker answers.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, values
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0)

# Figures read at scrape time: name -> (kind, help). The values come from a function
# that returns {name: value}; a name it leaves out is not exported.
SCRAPED = {
    "artbandit_model_version": ("gauge", "Version of the model serving decisions in this worker"),
    "artbandit_journal_backlog_bytes": (
        "gauge", "Decision journal bytes not yet ingested into the decision log"),
    "artbandit_journal_dead_letters": (
        "counter", "Journal lines refused by ingest and written to the dead-letter file"),
    "artbandit_learner_lag_seconds": (
        "gauge", "Age of the oldest decision whose reward window has closed but is not learned"),
    "artbandit_learner_examples": ("counter", "Decisions the learner has learned from"),
    "artbandit_learner_snapshot_version": ("gauge", "Version of the learner's newest snapshot"),
    "artbandit_learner_errors": ("counter", "Learning steps that failed"),
    "artbandit_learner_last_error_timestamp_seconds": (
        "gauge", "When a learning step last failed (Unix time)"),
    "artbandit_learner_report_age_seconds": ("gauge", "Seconds since the learner last reported"),
}


class _Scraped:
    """A collector of the figures `read()` gives at scrape time."""

    def __init__(self, read: Callable[[], Mapping[str, float]]) -> None:
        self._read = read

    def collect(self) -> Iterator[Metric]:
        for name, value in self._read().items():
            kind, help_text = SCRAPED[name]
            family = CounterMetricFamily if kind == "counter" else GaugeMetricFamily
            yield family(name, help_text, value=value)


class Metrics:
    """Counters and histograms of one serving process, summed over the workers under `serve`."""

    def __init__(self, shared_dir: Path | None = None,
                 scraped: Callable[[], Mapping[str, float]] | None = None) -> None:
        self.shared_dir = shared_dir
        if shared_dir is not None and not getattr(values.ValueClass, "_multiprocess", False):
            # prometheus_client picks its value class when it is imported, from an
            # environment variable `serve` sets; imported before that, it is told here.
            values.ValueClass = values.MultiProcessValue()
        self.registry = CollectorRegistry()
        own = None if shared_dir is not None else self.registry
        self._children: dict[tuple[int, str], object] = {}
        self.decisions = Counter("artbandit_decisions", "Decisions served and logged", ["policy"],
                                 registry=own)
        self.repeats = Counter("artbandit_repeats", "Earlier decisions shown again (stable_for)",
                               registry=own)
        self.feedback = Counter("artbandit_feedback", "Feedback events recorded (repeats excluded)",
                                ["kind"], registry=own)
        self.latency = Histogram("artbandit_request_seconds", "Request latency by endpoint",
                                 ["endpoint"], buckets=LATENCY_BUCKETS, registry=own)
        self.errors = Counter("artbandit_http_errors", "Responses with a 4xx or 5xx status",
                              ["status"], registry=own)
        if shared_dir is not None:
            MultiProcessCollector(self.registry, path=str(shared_dir))
        if scraped is not None:
            self.registry.register(_Scraped(scraped))

    def decided(self, policy: str) -> None:
        """Count one decision served by `policy`."""
        self._child(self.decisions, policy).inc()

    def repeated(self) -> None:
        """Count one earlier decision shown again (not a new decision)."""
        self.repeats.inc()

    def recorded(self, kind: str) -> None:
        """Count one new feedback event of `kind`."""
        self._child(self.feedback, kind).inc()

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
