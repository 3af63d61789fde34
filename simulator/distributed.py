"""Offline evaluation of fixed policies as map-reduce over a partitioned log, on Dask (dask.distributed).

Map: each file of the log (a partition) is read on a worker, every fixed policy's pmf computed
on its rows, and every estimator's sufficient statistics (simulator/statistics.py) taken.
Reduce: the statistics are added pairwise on the cluster (`+`), and the estimates computed from
the totals, which are exactly those of the whole log in one process (sums do not care which
machine added them). A worker holds one partition at a time, so its memory is bounded by the
largest partition, not by the log. A log without a candidates or a pmf column first gets a
cheap pass over its action column: what the whole log chose is then every partition's "all
actions seen" and support, as it is for the whole log in one process. With no scheduler
address a `LocalCluster` is started for the run; with one, the same tasks go to that cluster
(its workers must see the log's files).

The doubly robust family (dr, sndr, switch-dr, dros) needs a reward model: it is fitted on a
sample of the log's rows gathered from every partition, and each worker predicts its own rows
with it (simulator/distributed_rewards.py). Their estimates differ from one process's, whose
reward model is cross-fitted over the whole log, within their noise.

What does not distribute is refused, with the reason:
- learning policies (`egreedy`, `thompson`, `vw:...`) and the replay estimator replay the log in
  order, one event after the other: evaluate them in one process;
- the direct method and `auto` refit the reward model on bootstrap resamples of the whole log.
"""
from __future__ import annotations

import dataclasses
import resource
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from bandit.types import Action

from simulator.errors import (ClusterError, ExternalPolicyError, InvalidEstimatorError, InvalidLogError,
                              SimulatorError)
from simulator.distributed_rewards import SAMPLE_ROWS, PartitionRewards, joined_sample, sample_of
from simulator.estimator_base import Estimator
from simulator.evaluation import PolicyEvaluation, external_pmf, policy_row_pmf, run_policy
from simulator.log_files import read_log
from simulator.log_sources import LogPart, log_parts, printable
from simulator.logs import EXPORT_MAPPING, ColumnMapping, LoggedFeedback
from simulator.reward_model import RewardModel
from simulator.specs import PolicySpec, probability_file
from simulator.statistics import Statistics

__all__ = ["DistributedRun", "PartitionReport", "check_distributable", "evaluate_partitioned"]

DEFAULT_WORKERS = 2
CONNECT_SECONDS = 10
# Dask's nanny starts its workers with glibc told to hand freed memory back to the kernel at
# once (MALLOC_TRIM_THRESHOLD_ of 64 KiB), so every array of every partition is faulted in
# again page by page: that took a third of a partition's time. A worker of ours holds one
# partition at a time, so it keeps what it freed for the next (its peak is the same), and
# arrays up to glibc's largest mmap threshold come from that reused heap.
SPAWN_ENVIRON = "distributed.nanny.pre-spawn-environ"
WORKER_MALLOC = {"MALLOC_TRIM_THRESHOLD_": str(512 << 20), "MALLOC_MMAP_THRESHOLD_": str(32 << 20)}


@dataclass(frozen=True)
class PartitionReport:
    """What one map task did: its file, rows, seconds, and its worker's peak memory (bytes) after it."""

    path: str
    rows: int
    seconds: float
    worker: str
    peak_rss: int


@dataclass(frozen=True)
class DistributedRun:
    """The evaluations of a distributed run, what each partition's task reported, and the seconds
    the map-reduce took (reading included; starting a local cluster not)."""

    evaluations: list[PolicyEvaluation]
    n_rounds: int
    mean_reward: float
    n_actions: int
    partitions: tuple[PartitionReport, ...]
    workers: int
    seconds: float

    def peak_rss_per_worker(self) -> dict[str, int]:
        """The largest peak memory each worker reported (bytes)."""
        out: dict[str, int] = {}
        for p in self.partitions:
            out[p.worker] = max(out.get(p.worker, 0), p.peak_rss)
        return out


def check_distributable(specs: Sequence[PolicySpec], estimators: Sequence[Estimator]) -> None:
    """Refuse, with the reason, a policy or estimator that cannot be evaluated partition by partition."""
    for spec in specs:
        if spec.learns:
            raise InvalidEstimatorError(
                f"policy {spec.name!r} learns as it replays the log in order, which is sequential; "
                "evaluate it in one process (--engine local)")
    for est in estimators:
        if not est.distributable:
            raise InvalidEstimatorError(
                f"{est.name} is not a sum over rows (it samples or bootstraps the whole log); "
                "evaluate it in one process (--engine local)")


def evaluate_partitioned(
    source: str | Path,
    specs: Sequence[PolicySpec],
    estimators: Sequence[Estimator],
    *,
    mapping: ColumnMapping | None = None,
    format: str | None = None,
    catalog: Mapping[str, Action] | None = None,
    seed: int = 0,
    scheduler: str | None = None,
    workers: int = DEFAULT_WORKERS,
    processes: bool = True,
    model_sample: int = SAMPLE_ROWS,
) -> DistributedRun:
    """Evaluate fixed policies on a partitioned log (directory, glob or file) as map-reduce on Dask.

    Args:
        source: the log; each of its files is one partition.
        specs, estimators: what to evaluate (fixed policies; sums-over-rows estimators).
        mapping, format: how to read the files, as `read_log`.
        catalog: artwork id -> Action (features, defaults), sent once to every worker.
        seed: the seed policies are built with.
        scheduler: a Dask scheduler address; None starts a LocalCluster of `workers`.
        workers: worker processes of the LocalCluster (one thread each).
        processes: False runs the LocalCluster's workers as threads of this process.
        model_sample: about how many rows the doubly robust family's reward model is fitted on.
    Returns:
        the evaluations: exactly those of the whole log read in one process, except the dr
        family's, whose reward model is fitted on a sample (see the module).
    Raises:
        InvalidEstimatorError: a learning policy or a model-based estimator (see the module).
        InvalidLogError: the log, or a partition of it, cannot be evaluated.
    """
    import dask
    from dask.distributed import Client, LocalCluster

    check_distributable(specs, estimators)
    if workers < 1:
        raise InvalidEstimatorError(f"--workers {workers!r} must be at least 1")
    if model_sample < 1:
        raise InvalidEstimatorError(f"the reward model's sample of {model_sample!r} rows must be at least 1")
    parts = log_parts(source, format)
    modelled = any(est.needs_rewards for est in estimators)
    # Row numbers in the whole log: probability files look rows up by them, and they pick the
    # reward model's sample.
    offsets, total_rows = _first_rows(parts, modelled or any(s.kind == "file" for s in specs))
    mapping = _columns_needed(mapping or EXPORT_MAPPING, specs, modelled)
    cluster = client = None
    try:
        if scheduler is None:
            # Worker processes listen on loopback only; threads talk in process.
            where = {"host": "127.0.0.1"} if processes else {}
            # Workers import this module (numpy, Arrow, the estimators: about half a second) as
            # they start, with the cluster, rather than when their first partition arrives.
            with dask.config.set({SPAWN_ENVIRON: {**dask.config.get(SPAWN_ENVIRON), **WORKER_MALLOC}}):
                cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=processes,
                                       dashboard_address=None, worker_dashboard_address=None,
                                       preload=[__name__], **where)
        client = Client(cluster if cluster is not None else scheduler, timeout=CONNECT_SECONDS)
    except (OSError, RuntimeError, ValueError) as exc:  # unreachable, refused, malformed address
        if cluster is not None:
            cluster.close()
        where = f"the Dask scheduler at {scheduler}" if scheduler else "a local Dask cluster"
        raise ClusterError(f"cannot use {where} ({printable(exc)}); check the address, or leave "
                           "--scheduler out for a local cluster") from None
    try:
        with client:
            started = time.perf_counter()  # the map-reduce itself, reading included
            shared = client.scatter([dict(catalog)], broadcast=True)[0] if catalog else None
            everything: tuple[str, ...] = ()
            if not (mapping.candidates and mapping.pmf):
                # What the whole log chose: the candidates when none are logged ("all actions
                # seen"), and the support when only propensities are.
                seen = client.gather([client.submit(_actions_of, part, mapping.action, pure=False)
                                      for part in parts])
                everything = tuple(sorted(frozenset().union(*seen)))
            rewards = None
            if modelled:
                share = min(1.0, model_sample / max(total_rows, 1))
                samples = [client.submit(_partition_sample, part, first, mapping, share, everything, pure=False)
                           for part, first in zip(parts, offsets)]
                # The folds' models and the model of the whole sample train side by side, each
                # on a worker of its own where there are enough (the scheduler would otherwise
                # keep them all beside the sample they read).
                model = RewardModel(seed=seed)
                sample = client.submit(_joined_sample, samples, pure=False)
                spread = sorted(client.scheduler_info()["workers"])
                on = [{"workers": [spread[i % len(spread)]], "allow_other_workers": True}
                      for i in range(model.folds + 1)]
                whole = client.submit(_reward_step, model.whole_model, sample, shared, pure=False, **on[0])
                folds = [client.submit(_reward_step, model.fold_scores, sample, shared, k, pure=False,
                                       **on[k + 1]) for k in range(model.folds)]
                rewards = client.submit(_reward_step, _combined, sample, model, folds, whole, pure=False)
            mapped = [client.submit(_partition_statistics, part, first, mapping, tuple(specs),
                                    tuple(estimators), shared, seed, everything, rewards, pure=False)
                      for part, first in zip(parts, offsets)]
            while len(mapped) > 1:  # the reduction, pairwise on the cluster
                pairs = [client.submit(_add, mapped[i], mapped[i + 1], pure=False)
                         for i in range(0, len(mapped) - 1, 2)]
                mapped = pairs + ([mapped[-1]] if len(mapped) % 2 else [])
            total = mapped[0].result()
            seconds = time.perf_counter() - started
            n_workers = len(client.scheduler_info()["workers"])
    finally:
        if cluster is not None:
            cluster.close()
    if total.error is not None:
        raise total.error
    if total.n_rounds == 0:
        raise InvalidLogError(f"{source}: has no rows; nothing to evaluate")
    evaluations = [PolicyEvaluation(spec.name, False, tuple(
        est.from_statistics(total.statistics[(spec.name, est.name)]) for est in estimators))
        for spec in specs]
    return DistributedRun(evaluations, total.n_rounds, total.reward_sum / total.n_rounds, len(total.artworks),
                          total.reports, n_workers, seconds)


@dataclass(frozen=True)
class _Partial:
    """What partitions add up to: statistics per (policy, estimator), rows, rewards, artworks, reports,
    or the first partition's error."""

    statistics: Mapping[tuple[str, str], Statistics]
    n_rounds: int
    reward_sum: float
    artworks: frozenset[str]
    reports: tuple[PartitionReport, ...]
    error: SimulatorError | None = None


def _add(a: _Partial, b: _Partial) -> _Partial:
    """The reduction step: two partials' statistics added (`+`), their counts and reports joined."""
    if a.error is not None or b.error is not None:
        return a if a.error is not None else b
    if not a.n_rounds or not b.n_rounds:
        statistics = b.statistics if not a.n_rounds else a.statistics
    else:
        statistics = {k: v + b.statistics[k] for k, v in a.statistics.items()}
    return _Partial(statistics, a.n_rounds + b.n_rounds, a.reward_sum + b.reward_sum,
                    a.artworks | b.artworks, a.reports + b.reports)


def _actions_of(part: LogPart, column: str) -> frozenset[str]:
    """The artworks a partition's rows chose (empty when it cannot be read: the map task says why)."""
    try:
        if part.format == "parquet":
            values = pq.read_table(part.path, columns=[column]).column(column)
        else:
            options = pacsv.ConvertOptions(include_columns=[column], column_types={column: pa.string()})
            values = pacsv.read_csv(part.path, convert_options=options).column(column)
    except (pa.ArrowException, OSError, KeyError):
        return frozenset()
    return frozenset(str(v) for v in pc.unique(values.cast(pa.string())).to_pylist() if v)


def _partition_sample(part: LogPart, first_row: int, mapping: ColumnMapping, share: float,
                      log_actions: tuple[str, ...]) -> LoggedFeedback | SimulatorError | None:
    """A partition's rows in the reward model's sample (its error, returned, when it cannot be read)."""
    if part.rows == 0:
        return None
    try:
        return sample_of(read_log(part.path, mapping, format=part.format, first_row=first_row,
                                  sort_by_time=False, log_actions=log_actions), share)
    except SimulatorError as exc:  # the statistics task reports it with the file's name
        return exc


def _joined_sample(samples: list[LoggedFeedback | SimulatorError | None]) -> LoggedFeedback | SimulatorError:
    """The partitions' samples as one log (a partition that cannot be read is reported by its own task)."""
    return _reward_step(joined_sample, [s for s in samples if isinstance(s, LoggedFeedback)])


def _reward_step(step: Callable[..., Any], sample: Any, *args: Any) -> Any:
    """One step of the reward model's fit, or the error that stops it (returned, as the map task's are)."""
    inputs = [sample, *args] + [v for a in args if isinstance(a, list) for v in a]  # the folds' results too
    for value in inputs:
        if isinstance(value, SimulatorError):
            return value
    try:
        return step(sample, *args)
    except SimulatorError as exc:
        return exc


def _combined(sample: LoggedFeedback, model: RewardModel, folds: list[tuple[Any, Any]],
              whole: bytes) -> PartitionRewards:
    """What workers need: the model of the whole sample, and the sample's cross-fitted predictions."""
    estimates, fitted = model.for_other_rows(sample, folds, whole)
    return PartitionRewards(fitted, sample.row_number, estimates.predicted)


def _partition_statistics(part: LogPart, first_row: int, mapping: ColumnMapping,
                          specs: tuple[PolicySpec, ...], estimators: tuple[Estimator, ...],
                          catalog: Mapping[str, Action] | None, seed: int,
                          log_actions: tuple[str, ...],
                          rewards: PartitionRewards | SimulatorError | None = None) -> _Partial:
    """The map task: one partition read and turned into statistics for every policy and estimator."""
    from dask.distributed import get_worker

    started = time.perf_counter()
    if isinstance(rewards, SimulatorError):  # no reward model: the run stops with why
        return _Partial({}, 0, 0.0, frozenset(), (), rewards)
    statistics: dict[tuple[str, str], Statistics] = {}
    rows, reward_sum, artworks = 0, 0.0, frozenset()
    if part.rows != 0:
        try:
            # Sums do not depend on the order of rows: no time sort.
            log = read_log(part.path, mapping, format=part.format, first_row=first_row, sort_by_time=False,
                           log_actions=log_actions)
            rows, reward_sum, artworks = log.n_rounds, float(log.reward.sum()), frozenset(log.action_names)
            predicted = None if rewards is None else rewards.predict(log, catalog)
            for spec in specs:
                target = _target(spec, log, catalog, seed)
                for est in estimators:
                    statistics[(spec.name, est.name)] = est.statistics(log, target, predicted)
        except SimulatorError as exc:  # returned, not raised: Dask would log a raised one as a crash
            exc.args = (f"{part.path}: {exc}",)
            return _Partial({}, 0, 0.0, frozenset(), (), exc)
        del log
    peak = _peak_memory()
    report = PartitionReport(str(part.path), rows, time.perf_counter() - started,
                             get_worker().address, int(peak))
    return _Partial(statistics, rows, reward_sum, artworks, (report,))


def _peak_memory() -> int:
    """This process's peak resident memory in bytes.

    Linux's VmHWM (of this address space) where there is one: `ru_maxrss` survives exec, so a
    worker spawned by a large parent process would report the parent's size.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def _columns_needed(mapping: ColumnMapping, specs: Sequence[PolicySpec], modelled: bool) -> ColumnMapping:
    """The mapping without the columns no evaluated policy needs, which partitions then do not read.

    Sums need no time order; only probability files look rows up by event id; and unless a
    reward model is fitted, a policy that does not look at the context (uniform, the default
    artwork, the logged pmf, a file) needs neither the context nor the user, title or slot.
    """
    drop: dict[str, Any] = {"time": None}
    if not any(s.kind == "file" for s in specs):
        drop["event_id"] = None
    if not modelled and not any(s.contextual for s in specs):
        drop.update(context=(), context_json=None, user=None, title=None, position=None)
    return dataclasses.replace(mapping, **drop)


def _target(spec: PolicySpec, log: Any, catalog: Mapping[str, Action] | None, seed: int) -> Any:
    """A fixed policy's pmf on a partition's rows (a policy's own kept once per distinct row)."""
    if spec.kind == "file":  # the file covers the whole log; this partition takes its own rows
        return external_pmf(probability_file(spec), log, part_of_log=True)
    if spec.kind == "logged":
        return run_policy(spec, log, catalog, seed=seed).target_pmf
    return policy_row_pmf(spec.build(seed), log, catalog)


def _first_rows(parts: Sequence[LogPart], needed: bool) -> tuple[list[int], int]:
    """The number of each partition's first row in the whole log, and the log's rows (0 when not needed)."""
    if not needed:
        return [1] * len(parts), 0
    out, first = [], 1
    for part in parts:
        out.append(first)
        rows = part.rows
        if rows is None:
            try:
                rows = pacsv.read_csv(part.path).num_rows
            except (pa.ArrowInvalid, OSError) as exc:
                raise ExternalPolicyError(f"{part.path.name}: cannot count its rows ({printable(exc)})") from None
        first += rows
    return out, first - 1
