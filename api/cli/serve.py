"""`artbandit serve` (the production WSGI server) and `artbandit learn` (the learner process)."""
from __future__ import annotations

import argparse
import dataclasses
import signal
import threading

from artwork.store import Store

from api.cli.common import command_config
from api.errors import ConfigError


def _cmd_serve(args: argparse.Namespace) -> int:
    from gunicorn.app.base import BaseApplication

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
    # Create or upgrade the store once, before the workers start and open it.
    Store.open(config.data_dir).close()

    class Server(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{args.host}:{args.port}")
            self.cfg.set("workers", args.workers)
            self.cfg.set("worker_class", "sync")
            self.cfg.set("timeout", 120)
            self.cfg.set("accesslog", "-" if args.access_log else None)
            self.cfg.set("loglevel", "info" if args.verbose else "warning")

        def load(self):
            from api.web.app import create_app

            return create_app(config)

    print(f"serving on http://{args.host}:{args.port} with {args.workers} worker(s); "
          f"learner {'in process' if learn else 'off (run `artbandit learn`)'}", flush=True)
    Server().run()
    return 0


def _cmd_learn(args: argparse.Namespace) -> int:
    from api.runtime.services import learner_for

    config = command_config(args, policy=args.policy)
    loop = learner_for(config)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    print(f"learning from {config.data_dir} every {config.learn_interval:g}s "
          f"(reward window {config.reward_window:g}s); snapshots in {loop.folder}", flush=True)
    loop.run(stop, max_rounds=args.rounds)
    print(f"stopped at model version {loop.policy.model_version}; "
          f"{loop.learned} decisions learned", flush=True)
    return 0


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
