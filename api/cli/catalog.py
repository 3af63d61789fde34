"""Catalog commands: init, title, artwork and log export."""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Sequence

from artwork.records import ARTWORK_STATUSES

from api.cli import artwork_lifecycle
from api.cli.common import command_config, emit, open_store
from api.errors import ConfigError
from api.runtime.serializers import artwork_dict, title_dict


def parse_reward_weights(pairs: Sequence[str] | None) -> dict[str, float]:
    """Turn `kind=value` flags into reward weights."""
    weights: dict[str, float] = {}
    for pair in pairs or ():
        kind, sep, value = pair.partition("=")
        try:
            weights[kind.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep:
            raise ConfigError(f"--reward {pair!r}: write it as KIND=NUMBER, e.g. play=1")
    return weights


def _cmd_init(args: argparse.Namespace) -> int:
    store = open_store(args)
    print(f"initialized {store.db_path}")
    return 0


def _cmd_title_add(args: argparse.Namespace) -> int:
    title = open_store(args).add_title(args.id, args.name, args.genre or ())
    emit([title_dict(title)], args.json, ("id", "name", "genres"))
    return 0


def _cmd_title_list(args: argparse.Namespace) -> int:
    rows = [title_dict(t) for t in open_store(args).list_titles()]
    if not args.json:
        for r in rows:
            r["genres"] = ",".join(r["genres"])
    emit(rows, args.json, ("id", "name", "genres"))
    return 0


def _cmd_artwork_add(args: argparse.Namespace) -> int:
    from artwork.images import read_image_file

    store = open_store(args)
    store.get_title(args.title_id)
    items = [
        {"title_id": args.title_id, "data": read_image_file(Path(p), store.max_image_bytes),
         "name": Path(p).name, "status": args.status}
        for p in args.images
    ]
    added = store.add_artworks(items)
    emit([artwork_dict(a) for a in added], args.json, ("id", "status", "width", "height", "path"))
    return 0


def _cmd_artwork_list(args: argparse.Namespace) -> int:
    rows = [artwork_dict(a) for a in open_store(args).list_artworks(args.title_id, args.status)]
    emit(rows, args.json, ("id", "status", "is_default", "source", "width", "height", "tags"))
    return 0


def _cmd_artwork_set_status(args: argparse.Namespace) -> int:
    config = command_config(args)
    art = open_store(args).set_status(args.artwork_id, args.status, max_live=config.max_live)
    emit([artwork_dict(art)], args.json, ("id", "status", "is_default"))
    return 0


def _cmd_artwork_set_default(args: argparse.Namespace) -> int:
    art = open_store(args).set_default(args.artwork_id)
    emit([artwork_dict(art)], args.json, ("id", "status", "is_default"))
    return 0


def _cmd_log_export(args: argparse.Namespace) -> int:
    from artwork.export import export_log, format_of, why_nothing_to_export

    out = Path(args.out)
    fmt = "parquet" if args.partition_by else format_of(out, args.format)
    config = command_config(args)
    # The configuration checks the kinds, as it checks configured weights.
    config = dataclasses.replace(
        config, reward_weights={**config.reward_weights, **parse_reward_weights(args.reward)})
    mapping = config.reward_mapping
    window = config.reward_window if args.window is None else args.window
    store = open_store(args)
    if args.partition_by:
        return _log_export_partitions(args, store, out, window, mapping)
    rows = export_log(store, out, window=window, reward_of=mapping, fmt=fmt)
    why = None
    if rows == 0:
        why = why_nothing_to_export(store, window)
        print(f"artbandit: note: {why}; the reward window is {window:g} s (--window, or "
              "reward_window in the data directory's artbandit.toml or --config)", file=sys.stderr)
    if args.json:
        print(json.dumps({"path": str(out), "format": fmt, "rows": rows,
                          **({"why_empty": why} if why else {})}))
    else:
        print(f"wrote {rows} decisions to {out} ({fmt})")
    return 0


def _log_export_partitions(args: argparse.Namespace, store, out: Path, window: float, mapping) -> int:
    from artwork.errors import InvalidRecordError
    from artwork.partitions import export_partitions

    if args.format not in (None, "parquet"):
        raise InvalidRecordError("a partitioned export is Parquet; drop --format csv")
    done = export_partitions(store, out, window=window, reward_of=mapping, partition_by=args.partition_by)
    if args.json:
        print(json.dumps({"path": str(out), "format": "parquet", "rows": done.rows, "export": done.export,
                          "files": list(done.files)}))
    elif done.rows:
        print(f"appended {done.rows} decisions to {out} (export {done.export}, {len(done.files)} partition files)")
    else:
        print(f"nothing new to export to {out}: no decision's {window:g}-second reward window closed since "
              "the last export")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the catalog commands to the `artbandit` parser."""
    p = sub.add_parser("init", help="create the data directory and its store",
                       description="Create (or upgrade) the store in the data directory.")
    p.set_defaults(func=_cmd_init)

    title = sub.add_parser("title", help="add and list titles",
                           description="Manage the titles of the catalog.")
    tsub = title.add_subparsers(dest="title_command", metavar="ACTION", required=True)
    p = tsub.add_parser("add", help="add a title", description="Add a title to the catalog.")
    p.add_argument("id", help="title id: letters, digits, '.', '_' or '-'")
    p.add_argument("--name", required=True, help="display name of the title")
    p.add_argument("--genre", action="append", metavar="G",
                   help="a genre of the title (repeat for several)")
    p.add_argument("--json", action="store_true", help="print the title as JSON")
    p.set_defaults(func=_cmd_title_add)
    p = tsub.add_parser("list", help="list titles", description="List every title.")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=_cmd_title_list)

    art = sub.add_parser("artwork", help="add, list and manage artworks",
                         description="Manage a title's artworks (thumbnails).")
    asub = art.add_subparsers(dest="artwork_command", metavar="ACTION", required=True)
    p = asub.add_parser("add", help="upload still images as artworks",
                        description="Add image files to a title; every file is validated by "
                        "decoding it, and if any is refused none is stored.")
    p.add_argument("title_id", help="the title the images belong to")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="JPEG, PNG or WebP files")
    p.add_argument("--status", choices=ARTWORK_STATUSES, default="candidate",
                   help="status of the new artworks (default: candidate)")
    p.add_argument("--json", action="store_true", help="print the added artworks as JSON")
    p.set_defaults(func=_cmd_artwork_add)
    p = asub.add_parser("list", help="list a title's artworks",
                        description="List a title's artworks with status and features.")
    p.add_argument("title_id", help="the title whose artworks to list")
    p.add_argument("--status", choices=ARTWORK_STATUSES, help="only artworks of this status")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=_cmd_artwork_list)
    p = asub.add_parser("set-status", help="make an artwork live, retired or a candidate",
                        description="Change an artwork's status; only live artworks are served.")
    p.add_argument("artwork_id", help="the artwork id")
    p.add_argument("status", choices=ARTWORK_STATUSES, help="the new status")
    p.add_argument("--json", action="store_true", help="print the artwork as JSON")
    p.set_defaults(func=_cmd_artwork_set_status)
    p = asub.add_parser("set-default", help="make an artwork its title's default",
                        description="Make an artwork the default of its title.")
    p.add_argument("artwork_id", help="the artwork id")
    p.add_argument("--json", action="store_true", help="print the artwork as JSON")
    p.set_defaults(func=_cmd_artwork_set_default)
    artwork_lifecycle.register(asub)

    log = sub.add_parser("log", help="export the decision log",
                         description="Work with the decision and reward log.")
    lsub = log.add_subparsers(dest="log_command", metavar="ACTION", required=True)
    p = lsub.add_parser("export", help="export decisions with rewards to CSV or Parquet",
                        description="Write the logged-feedback file (one row per decision whose "
                        "reward window has closed, with its reward).")
    p.add_argument("out", metavar="OUT", help="output file, .csv or .parquet (a directory with --partition-by)")
    p.add_argument("--partition-by", choices=("date",),
                   help="write Hive-style Parquet partitions (date=YYYY-MM-DD/) into the directory OUT, "
                   "appending only the decisions whose reward window closed since the last export")
    p.add_argument("--format", choices=("csv", "parquet"),
                   help="file format (default: from the file name)")
    p.add_argument("--window", type=float, metavar="SECONDS",
                   help="reward window in seconds (default: the configured reward_window, "
                   "which the learner uses too)")
    p.add_argument("--reward", action="append", metavar="KIND=VALUE",
                   help="reward of a feedback kind, e.g. play=1 click=0.1 (default: the "
                   "configured reward_weights: play=1, click=0, impression=0)")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.set_defaults(func=_cmd_log_export)
