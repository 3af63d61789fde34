"""Vision commands: `artbandit ingest video` and `artbandit ingest stills`."""
from __future__ import annotations

import argparse
import json
import os
import sys

from vision.embed import DEFAULT_CLIP_MODEL, DEFAULT_CLIP_PRETRAINED, EMBEDDER_KINDS, Embedder, make_embedder
from vision.ingest import IngestReport, ingest_stills, ingest_video

from api.cli.common import command_config, open_store


def _embedder(args: argparse.Namespace) -> Embedder:
    return make_embedder(args.embedder, clip_model=args.clip_model, clip_pretrained=args.clip_pretrained)


def _print(report: IngestReport, as_json: bool) -> None:
    if as_json:
        json.dump(report.as_dict(), sys.stdout, indent=2)
        print()
        return
    summary = report.as_dict()
    if report.video is not None:
        print(
            f"{report.source}: {summary['frames_decoded']} frames ({summary['video']['duration']:.1f} s), "
            f"{summary['shots']} shots, {summary['frames_sampled']} frames scored"
        )
        for b in report.boundaries:
            print(f"  {b.kind:4}  frame {b.frame:>6}  {b.time:8.2f} s")
    rejected = ", ".join(f"{k} {v}" for k, v in report.rejected.items() if v) or "none"
    print(
        f"{len(report.candidates)} candidate(s) stored for {report.title_id} with {report.embedder}; "
        f"{report.duplicates} near-duplicate(s) dropped; rejected: {rejected}"
    )
    for a in report.candidates:
        where = f"frame {a.frame_index} ({a.frame_time:.2f} s), shot {a.shot}" if a.frame_index is not None else a.path
        print(f"  {a.id}  score {a.quality.get('score', 0):.3f}  {where}  [{', '.join(a.tags)}]")


def _placements(args: argparse.Namespace):
    from vision.crops import parse_placements

    return parse_placements(command_config(args).placements)


def _cmd_ingest_video(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        store.get_title(args.title)  # before the embedder's load and log line
        report = ingest_video(
            store, args.title, args.file, max_candidates=args.max_candidates, embedder=_embedder(args),
            progress=not args.json and sys.stderr.isatty(), placements=_placements(args),
        )
    _print(report, args.json)
    return 0


def _cmd_ingest_stills(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        store.get_title(args.title)
        report = ingest_stills(
            store, args.title, args.images, embedder=_embedder(args),
            progress=not args.json and sys.stderr.isatty(), placements=_placements(args),
        )
    _print(report, args.json)
    return 0


def _cmd_ingest_worker(args: argparse.Namespace) -> int:
    from api.runtime.ingest_worker import IngestWorker

    worker = IngestWorker(command_config(args))
    print(f"ingest worker for {worker.queue.folder} (pid {os.getpid()}); stops on Ctrl-C",
          flush=True)
    try:
        worker.run()
    finally:
        worker.close()
    return 0


def _embedder_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--embedder", choices=EMBEDDER_KINDS, default="auto",
        help="clip (open_clip), classic (OpenCV features), or auto: CLIP when its weights are on this "
        "machine, else classic (default: auto)",
    )
    p.add_argument("--clip-model", default=DEFAULT_CLIP_MODEL, metavar="NAME",
                   help=f"open_clip model name or local-dir:/path (default: {DEFAULT_CLIP_MODEL})")
    p.add_argument("--clip-pretrained", default=DEFAULT_CLIP_PRETRAINED, metavar="TAG_OR_PATH",
                   help=f"open_clip pretrained tag or a local checkpoint file (default: {DEFAULT_CLIP_PRETRAINED})")
    p.add_argument("--json", action="store_true", help="print a JSON summary")


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `ingest` command group."""
    ingest = sub.add_parser(
        "ingest", help="turn a video or stills into candidate artworks",
        description="Extract, score, de-duplicate, embed and store candidate artworks for a title.",
    )
    isub = ingest.add_subparsers(dest="ingest_command", metavar="SOURCE", required=True)
    p = isub.add_parser(
        "video", help="candidates from a trailer or episode",
        description="Find shots, score frames, and store the best diverse frames as candidates.",
    )
    p.add_argument("title", metavar="TITLE_ID", help="the title the video belongs to")
    p.add_argument("file", metavar="FILE", help="the video file")
    p.add_argument("--max-candidates", type=int, default=12, metavar="K",
                   help="store at most K candidates (default: 12)")
    _embedder_options(p)
    p.set_defaults(func=_cmd_ingest_video)
    p = isub.add_parser(
        "stills", help="candidates from the creatives' still images",
        description="Score, embed, tag and store still images as candidates (near-duplicates skipped).",
    )
    p.add_argument("title", metavar="TITLE_ID", help="the title the stills belong to")
    p.add_argument("images", metavar="IMAGE", nargs="+", help="JPEG, PNG or WebP files")
    _embedder_options(p)
    p.set_defaults(func=_cmd_ingest_stills)
    p = isub.add_parser(
        "worker", help="run the ingest worker: the uploads the server queued, one process per "
        "data directory",
        description="Take the upload jobs the server queued (stills and videos) and run them "
        "through the vision stage, at a lower CPU priority than serving. `artbandit serve` "
        "starts one; jobs left unfinished by a stopped worker are queued again (or failed, "
        "with the reason) when it starts. Stops on Ctrl-C or SIGTERM.")
    p.set_defaults(func=_cmd_ingest_worker)
