"""`artbandit serve` (the production WSGI server, with its ingest worker) and `artbandit learn`."""
from __future__ import annotations

import argparse
import dataclasses
import logging
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Mapping

from api.cli.common import command_config, open_store
from api.config import Config, share_metrics_through
from api.errors import ConfigError, ServerStartError

log = logging.getLogger(__name__)

# gunicorn's threaded worker, whose threads only get requests that have fully arrived (so
# idle or slow clients hold none), kept-alive connections closed after KEEPALIVE_SECONDS.
# Two threads: a request that waits (on the database's write lock, say) does not hold up the
# worker, and fewer threads contend for the GIL (a burst of requests was answered sooner
# with 2 than with 4).
WORKER_CLASS = "api.web.worker.GuardedThreadWorker"
WORKER_THREADS = 2
KEEPALIVE_SECONDS = 2
# A worker whose event loop has not reported for this long is restarted by gunicorn.
WORKER_TIMEOUT_SECONDS = 30
# The ingest worker is restarted this long after it exits (doubling, up to the maximum,
# while it keeps exiting within a minute of its start).
RESTART_DELAY_SECONDS, MAX_RESTART_DELAY_SECONDS = 1.0, 30.0


class IngestWorkerProcess:
    """`artbandit ingest worker` beside the server: started with it, again if it dies, stopped with it.

    `check()` is called from the gunicorn master's loop (its main thread, which also forks the
    workers: a process started from another thread could hang on a pipe a fork inherited).
    """

    def __init__(self, config: Config, config_path: str | None,
                 env: Mapping[str, str] | None = None, output: int | None = None) -> None:
        self.env = None if env is None else dict(env)
        self.output = output  # where its stdout goes (default: the server's)
        self.argv = [sys.executable, "-m", "api.cli", "--data-dir", str(config.data_dir)]
        self.argv += ["--config", config_path] if config_path else []
        self.argv += ["ingest", "worker"]
        self._proc: subprocess.Popen | None = None
        self._started = 0.0
        self._delay = RESTART_DELAY_SECONDS
        self._stopped = False

    def start(self) -> None:
        """Start the process."""
        self._proc = subprocess.Popen(self.argv, env=self.env, stdout=self.output)
        self._started = time.monotonic()

    def check(self) -> None:
        """Start the process again if it exited (after a delay that grows while it keeps exiting)."""
        if self._stopped or self._proc is None or self._proc.poll() is None:
            return
        since = time.monotonic() - self._started
        if since > 60:
            self._delay = RESTART_DELAY_SECONDS
        if since < self._delay:
            return
        log.warning("the ingest worker exited (code %s); starting it again", self._proc.returncode)
        self._delay = min(self._delay * 2, MAX_RESTART_DELAY_SECONDS)
        self.start()

    def stop(self) -> None:
        """Stop the process (SIGTERM, then SIGKILL) and do not start it again."""
        self._stopped = True
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


def _cmd_serve(args: argparse.Namespace) -> int:
    from gunicorn.app.base import BaseApplication
    from gunicorn.arbiter import Arbiter

    from api.runtime.services import Launch, build_policy, check_database

    if args.workers < 1:
        raise ConfigError("--workers must be at least 1")
    config = command_config(args, policy=args.policy)
    learn = (config.learn and args.workers == 1) if args.learn is None else args.learn
    if learn and args.workers > 1:
        raise ConfigError(
            "--learn needs --workers 1: with several workers, run `artbandit learn` once beside "
            "them (each worker would otherwise be a learner of its own)"
        )
    config = dataclasses.replace(config, learn=learn)
    build_policy(config)  # a bad policy spec is said here, once, not by each worker failing
    # Create or upgrade the store and check it once, before the workers start and open it.
    store = open_store(args)
    problems = check_database(store)
    store.close_all()
    # The workers count into one folder, so that a scrape of any of them gives the totals.
    metrics_dir = Path(tempfile.mkdtemp(prefix="artbandit-metrics-"))
    share_metrics_through(metrics_dir)
    launch = Launch(problems, metrics_dir, journals_watched=True)
    ingest = IngestWorkerProcess(config, args.config)

    def stopped() -> None:
        ingest.stop()
        shutil.rmtree(metrics_dir, ignore_errors=True)

    class ServingArbiter(Arbiter):
        def manage_workers(self) -> None:
            super().manage_workers()
            ingest.check()

    class Server(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{args.host}:{args.port}")
            self.cfg.set("workers", args.workers)
            self.cfg.set("worker_class", WORKER_CLASS)
            self.cfg.set("threads", WORKER_THREADS)
            self.cfg.set("keepalive", KEEPALIVE_SECONDS)
            self.cfg.set("timeout", WORKER_TIMEOUT_SECONDS)
            self.cfg.set("accesslog", "-" if args.access_log else None)
            self.cfg.set("loglevel", "info" if args.verbose else "warning")
            self.cfg.set("when_ready", lambda server: ingest.start())
            self.cfg.set("on_exit", lambda server: stopped())

        def load(self):
            from api.web.app import create_app

            return create_app(config, launch)

        def run(self) -> None:
            try:
                ServingArbiter(self).run()
            except RuntimeError as exc:  # what gunicorn raises when it cannot start
                raise ServerStartError(str(exc)) from None

    print(f"serving on http://{args.host}:{args.port} with {args.workers} worker(s) of "
          f"{WORKER_THREADS} threads; learner "
          f"{'in process' if learn else 'off (run `artbandit learn`)'}; "
          "ingest worker beside them", flush=True)
    Server().run()
    return 0


def _cmd_learn(args: argparse.Namespace) -> int:
    from api.runtime.services import check_database

    config = command_config(args, policy=args.policy)
    store = open_store(args)
    check_database(store)  # said once in the log; the learner then says what it cannot do
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    loop = _learner_when_free(config, store, stop)
    if loop is None:
        return 0
    print(f"learning from {config.data_dir} every {config.learn_interval:g}s "
          f"(reward window {config.reward_window:g}s); snapshots in {loop.snapshots.where}", flush=True)
    lineup = _challenger_learners(config, store, loop)
    try:
        loop.run(stop, max_rounds=args.rounds)
    finally:
        lineup.stop()
    print(f"stopped at model version {loop.policy.model_version}; "
          f"{loop.learned} decisions learned", flush=True)
    return 0


def _challenger_learners(config, store, loop):
    """Learners for the other named policies, in threads beside `loop`, kept up with the lineup."""
    from api.runtime.policies import Lineup
    from api.runtime.services import learner_for

    def part(member):
        if member.name == loop.policy.name:
            return loop
        other = learner_for(config, store, member)
        other.start()
        return other

    lineup = Lineup(store, config.policy, part)
    lineup.watch(config.reload_interval)
    return lineup


def _learner_when_free(config, store, stop: threading.Event):
    """The learner, once it holds the one-learner lock; None if stopped first.

    On a database several hosts share, a second learner stands by and takes over when the
    first stops or dies; on a data directory of its own it fails at once, saying who holds it.
    """
    from api.errors import LearnerBusyError
    from api.runtime.services import learner_for

    waiting = False
    while not stop.is_set():
        try:
            return learner_for(config, store)
        except LearnerBusyError as exc:
            if not store.db.SHARED:
                raise
            if not waiting:
                print(f"standing by: {exc}; taking over when it stops", flush=True)
                waiting = True
            stop.wait(config.learn_interval)
    return None


def register(sub: argparse._SubParsersAction) -> None:
    """Add `serve` and `learn` to the `artbandit` parser."""
    p = sub.add_parser("serve", help="run the HTTP API on a production WSGI server (gunicorn)",
                       description="Serve the API with gunicorn. With one worker the learner "
                       "runs in the process; with several, workers only log and reload "
                       "snapshots, and `artbandit learn` must run beside them.")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port to bind (default: 8000)")
    p.add_argument("--workers", type=int, default=1, help="worker processes (default: 1)")
    p.add_argument("--policy", help="serving policy spec, e.g. vw:squarecb (default: config)")
    p.add_argument("--learn", action=argparse.BooleanOptionalAction, default=None,
                   help="learn in the serving process (default: only with one worker)")
    p.add_argument("--access-log", action="store_true", help="log every request to stdout")
    p.set_defaults(func=_cmd_serve)

    p = sub.add_parser("learn", help="run the learner: join rewards, learn, publish snapshots",
                       description="Tail the decision log, join each decision with its rewards "
                       "once its reward window has closed, learn, and publish model snapshots "
                       "that serving workers reload. Stops on Ctrl-C.")
    p.add_argument("--policy", help="policy spec to learn, e.g. vw:squarecb (default: config)")
    p.add_argument("--rounds", type=int, help="stop after this many polling rounds "
                   "(default: run until stopped)")
    p.set_defaults(func=_cmd_learn)
