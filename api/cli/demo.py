"""`artbandit demo`: the whole product end to end in a few minutes."""
from __future__ import annotations

import argparse
from pathlib import Path

from artwork.database import is_postgres_url

from api.demo.run import DemoSettings, run_demo
from api.errors import ConfigError


def _cmd_demo(args: argparse.Namespace) -> int:
    if args.decisions < 100:
        raise ConfigError("--decisions must be at least 100 for learning to show")
    if args.users < 10:
        raise ConfigError("--users must be at least 10")
    if args.database_url is not None and not is_postgres_url(args.database_url):
        raise ConfigError("--database-url must be a postgresql:// URL")
    settings = DemoSettings(out=Path(args.out), decisions=args.decisions, users=args.users,
                            seed=args.seed, port=args.port, policy=args.policy,
                            floor=args.floor, database_url=args.database_url)
    summary = run_demo(settings)
    online = summary["online_second_half"]
    beats = online["served"] > online["uniform"] and online["served"] > online["default"]
    if not beats:
        print("note: in this run the learned policy did not beat both uniform and the default "
              "artwork; try more --decisions")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add `demo` to the `artbandit` parser."""
    p = sub.add_parser(
        "demo", help="run the whole product end to end (vision, serving, learning, replay)",
        description="In a fresh folder: ingest the committed footage and stills through the "
        "vision stage, start the real server on 127.0.0.1, serve a simulated population over "
        "HTTP while the bandit learns, then replay the logged decisions offline. Prints a "
        "table and writes plots.")
    p.add_argument("--out", default="artbandit-demo",
                   help="folder for the demo's data, plots and report (default: ./artbandit-demo; "
                   "replaced on each run)")
    p.add_argument("--decisions", type=int, default=6000,
                   help="impressions the simulated population asks for (default: 6000)")
    p.add_argument("--users", type=int, default=300, help="simulated users (default: 300)")
    p.add_argument("--seed", type=int, default=7, help="seed of the world and traffic (default: 7)")
    p.add_argument("--policy", default="vw:igw",
                   help="serving policy spec (default: vw:igw, the service's default)")
    p.add_argument("--floor", type=float, default=0.02,
                   help="minimum probability of every candidate (default: 0.02)")
    p.add_argument("--port", type=int, help="port for the server (default: a free one)")
    p.add_argument("--database-url", help="run on this (empty) PostgreSQL database, "
                   "postgresql://..., instead of SQLite in the demo's folder")
    p.set_defaults(func=_cmd_demo)
