"""The vision pipeline end to end: a title's video or stills in, scored, de-duplicated, embedded
and tagged candidate artworks out, stored through the catalog in one all-or-nothing batch."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
from tqdm import tqdm

from artwork.errors import AlreadyExistsError, NotFoundError
from artwork.images import content_id, decode_image, encode_image, read_image_file
from artwork.records import Artwork
from artwork.store import Store

from vision.crops import DEFAULT_PLACEMENTS, Placement, parse_placements
from vision.embed import Embedder, make_embedder
from vision.errors import InvalidParameterError, NearDuplicateError, UnusableImageError
from vision.faces import FaceDetector, FaceStats
from vision.frames import ShotBoundary, VideoInfo, VideoReader, require_file, resize_to_width
from vision.parallel import side_by_side
from vision.placements import crop_artworks
from vision.quality import Letterbox, flag_relative_blur, measure_quality
from vision.scan import FULL_FRAMES_BYTES, scan_video
from vision.select import Selection, remove_near_duplicates, select_candidates
from vision.tags import tag_images

logger = logging.getLogger(__name__)

STILL_ANALYSIS_WIDTH = 640  # stills are scored on a copy this wide
_EMBED_CHUNK = 64


@dataclass(frozen=True)
class IngestReport:
    """What an ingest found, rejected and stored."""

    title_id: str
    source: str
    embedder: str
    candidates: tuple[Artwork, ...]
    duplicates: int  # candidates dropped as near-duplicates (of each other or of existing artworks)
    rejected: Mapping[str, int]  # frames or stills left out for quality: black, blank, blurry, fade
    seconds: float
    video: VideoInfo | None = None
    boundaries: tuple[ShotBoundary, ...] = ()
    frames_decoded: int = 0
    frames_analysed: int = 0
    frames_sampled: int = 0
    skipped: tuple[str, ...] = field(default_factory=tuple)  # already in the catalog

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary (the CLI's --json output)."""
        out: dict[str, Any] = {
            "title": self.title_id,
            "source": self.source,
            "embedder": self.embedder,
            "candidates": [
                {
                    "artwork_id": a.id,
                    "path": a.path,
                    "frame": a.frame_index,
                    "seconds": None if a.frame_time is None else round(a.frame_time, 3),
                    "shot": a.shot,
                    "score": a.quality.get("score"),
                    "quality": dict(a.quality),
                    "tags": list(a.tags),
                }
                for a in self.candidates
            ],
            "duplicates": self.duplicates,
            "rejected": dict(self.rejected),
            "already_in_catalog": list(self.skipped),
            "seconds": round(self.seconds, 3),
        }
        if self.video is not None:
            out["video"] = {
                "fps": self.video.fps,
                "frames": self.video.frame_count,
                "duration": round(self.video.duration, 3),
                "width": self.video.width,
                "height": self.video.height,
            }
            out["frames_decoded"] = self.frames_decoded
            out["frames_analysed"] = self.frames_analysed
            out["frames_sampled"] = self.frames_sampled
            out["shots"] = len(self.boundaries) + 1
            out["shot_boundaries"] = [
                {"frame": b.frame, "seconds": round(b.time, 3), "kind": b.kind} for b in self.boundaries
            ]
        return out


def _embed(embedder: Embedder, images: Sequence[np.ndarray], progress: bool,
           faces: Sequence[FaceStats] | None = None) -> np.ndarray:
    chunks = [embedder.embed(images[i : i + _EMBED_CHUNK],
                             None if faces is None else faces[i : i + _EMBED_CHUNK]) for i in tqdm(
        range(0, len(images), _EMBED_CHUNK), desc="embedding", unit="batch", disable=not progress, leave=False
    )]
    return np.concatenate(chunks) if chunks else np.zeros((0, embedder.dim), np.float32)


def _existing(store: Store, title_id: str, embedder: Embedder) -> list[tuple[str, np.ndarray]]:
    """The title's artworks embedded by this same embedder (others are not comparable)."""
    return [
        (a.id, a.embedding)
        for a in store.list_artworks(title_id)
        if a.embedding is not None and a.embedder == embedder.name and a.embedding.shape == (embedder.dim,)
    ]


def _item(
    title_id: str, data: bytes, image: np.ndarray, name: str, quality: Mapping[str, float],
    tags: Sequence[str], embedding: np.ndarray, embedder: Embedder, **where: Any,
) -> dict[str, Any]:
    """One `Store.add_artworks` item: `data` encodes `image`, whose size the catalog then
    takes instead of decoding the bytes again."""
    return dict(title_id=title_id, data=data, pixels=(image.shape[1], image.shape[0]), name=name,
                quality=quality, tags=tags, embedding=embedding, embedder=embedder.name, **where)


def _store_new(store: Store, items: list[dict[str, Any]]) -> tuple[list[Artwork], list[str]]:
    """Store, in one all-or-nothing batch, the items whose image the catalog does not hold yet;
    return them and the ids of those it already held."""
    fresh, skipped = [], []
    for item in items:
        digest = content_id(item["data"])
        try:
            store.get_artwork(digest)
        except NotFoundError:
            fresh.append(item)
        else:
            skipped.append(digest)
    return (store.add_artworks(fresh) if fresh else []), skipped


def ingest_video(
    store: Store,
    title_id: str,
    path: str | Path,
    *,
    max_candidates: int = 12,
    embedder: Embedder | None = None,
    per_shot: int = 2,
    novelty: float = 0.5,
    sample_every: float = 0.5,
    progress: bool = False,
    on_progress: Callable[[float], None] | None = None,
    placements: Sequence[Placement] | None = None,
    full_frames_bytes: int = FULL_FRAMES_BYTES,
) -> IngestReport:
    """Turn a title's video into at most `max_candidates` stored candidate artworks.

    One decoding pass finds shot boundaries and scores sampled frames; the best few usable
    frames of each shot are embedded, near-duplicates (of each other and of the title's existing
    artworks) dropped, and a diverse top `max_candidates` (at most `per_shot` per shot) taken
    at full resolution (kept by the scan up to `full_frames_bytes`, else read again),
    letterbox cropped, tagged and stored as `candidate` artworks in one batch.

    Raises:
        NotFoundError: no such title.
        MediaNotFoundError / VideoDecodeError: a missing, unreadable, truncated or non-video file;
            nothing is stored.
    """
    if max_candidates < 1:
        raise InvalidParameterError(f"max_candidates must be at least 1, got {max_candidates}")
    started = time.perf_counter()
    store.get_title(title_id)
    path = require_file(path, "video")
    embedder = embedder if embedder is not None else make_embedder("auto")
    scan = scan_video(path, sample_every=sample_every, progress=progress,
                      pool_per_shot=max(2, per_shot), full_frames_bytes=full_frames_bytes,
                      on_progress=None if on_progress is None else lambda f: on_progress(0.9 * f))
    pool = scan.pool
    crops = [scan.letterbox.crop(s.image) for s in pool]
    # The scan looked for faces on these frames already (each without its own black bars).
    embeddings = _embed(embedder, crops, progress, faces=[s.quality.faces for s in pool])
    existing = _existing(store, title_id, embedder)
    selection = select_candidates(
        embeddings,
        [s.quality.score for s in pool],
        max_candidates,
        threshold=embedder.duplicate_threshold,
        shots=[s.shot for s in pool],
        per_shot=per_shot,
        novelty=novelty,
        existing=existing,
    )
    chosen = [pool[i] for i in selection.kept]
    full = {s.frame: s.full for s in chosen if s.full is not None}
    again = [s for s in chosen if s.full is None]  # the scan could not keep them all
    if again:
        with VideoReader(path) as reader:
            full.update(reader.read_at([s.frame for s in again], expected={s.frame: s.image for s in again}))
    info = scan.info
    small_h, small_w = pool[0].image.shape[:2] if pool else (info.height, info.width)
    box = scan.letterbox.scaled(info.width / small_w, info.height / small_h)  # bars at full resolution
    tags = tag_images(embedder, embeddings[list(selection.kept)], [s.quality for s in chosen])
    pictures = [np.ascontiguousarray(box.crop(full[s.frame])) for s in chosen]
    items = [
        _item(title_id, data, picture, f"{path.name} frame {s.frame}", s.quality.as_dict(), sample_tags,
              embeddings[row], embedder, source="video", frame_time=s.time, frame_index=s.frame, shot=s.shot)
        for s, row, sample_tags, picture, data in zip(
            chosen, selection.kept, tags, pictures, side_by_side(lambda p: encode_image(p, "jpeg"), pictures))
    ]
    stored, skipped = _store_new(store, items)
    # The faces the scan found, mapped onto the stored pictures, so crops need no second look;
    # and the pictures themselves, so crops need not decode them again.
    sx, sy = info.width / small_w, info.height / small_h
    ids = [content_id(item["data"]) for item in items]
    found = {i: _mapped(s.quality.faces.boxes, s.quality.letterbox, sx, sy, box) for i, s in zip(ids, chosen)}
    _crop(store, stored, placements, faces=found, images=dict(zip(ids, pictures)))
    if not stored:
        logger.warning("%s: no new candidate artwork for title %r", path.name, title_id)
    return IngestReport(
        title_id=title_id,
        source=str(path),
        embedder=embedder.name,
        candidates=tuple(stored),
        duplicates=len(selection.duplicates),
        rejected=dict(scan.rejected),
        seconds=time.perf_counter() - started,
        video=info,
        boundaries=scan.boundaries,
        frames_decoded=scan.frames_decoded,
        frames_analysed=scan.frames_analysed,
        frames_sampled=scan.frames_sampled,
        skipped=tuple(skipped),
    )


def ingest_stills(
    store: Store,
    title_id: str,
    paths: Sequence[str | Path],
    *,
    embedder: Embedder | None = None,
    faces: FaceDetector | None = None,
    progress: bool = False,
    placements: Sequence[Placement] | None = None,
) -> IngestReport:
    """Score, embed, tag and store creatives' still image files as candidate artworks.

    See `ingest_uploads`, which this calls with the files' names and bytes.
    """
    if not paths:
        raise InvalidParameterError("no still images given; pass one or more image files")
    store.get_title(title_id)
    files = [require_file(p, "image") for p in paths]
    uploads = [(f.name, read_image_file(f)) for f in files]
    report = ingest_uploads(store, title_id, uploads, embedder=embedder, faces=faces,
                            progress=progress, placements=placements)
    return replace(report, source=", ".join(str(f) for f in files))


def ingest_uploads(
    store: Store,
    title_id: str,
    uploads: Sequence[tuple[str, bytes]],
    *,
    embedder: Embedder | None = None,
    faces: FaceDetector | None = None,
    progress: bool = False,
    placements: Sequence[Placement] | None = None,
) -> IngestReport:
    """Score, embed, tag and store uploaded stills (name, bytes) as candidate artworks.

    All or nothing: every image is validated by decoding before anything is stored; stills that
    are near-duplicates of each other or of the title's existing artworks are skipped (the
    first-listed kept), and so are black or blank ones. Raises NotFoundError, or the catalog's
    InvalidImageError / ImageTooLargeError for an upload that is not a usable image.
    """
    if not uploads:
        raise InvalidParameterError("no still images given; pass one or more images")
    started = time.perf_counter()
    store.get_title(title_id)
    embedder = embedder if embedder is not None else make_embedder("auto")
    detector = faces if faces is not None else FaceDetector()
    loaded = [(data, decode_image(data, name)[1]) for name, data in tqdm(
        uploads, desc="reading", unit="image", disable=not progress, leave=False)]
    images = [img for _, img in loaded]
    qualities = flag_relative_blur(
        [measure_quality(_scaled(img), faces=detector) for img in images]
    )
    rejected = {"black": 0, "blank": 0, "blurry": 0, "fade": 0}
    usable = []
    for i, q in enumerate(qualities):
        if q.is_black or q.is_blank:
            rejected["black" if q.is_black else "blank"] += 1
        else:
            usable.append(i)
    crops = [q.letterbox.crop(_scaled(images[i])) for i, q in ((i, qualities[i]) for i in usable)]
    # Quality looked for faces on these very pictures already.
    embeddings = _embed(embedder, crops, progress, faces=[qualities[i].faces for i in usable])
    # earlier-listed stills win ties: the order the creatives gave
    order_scores = [float(len(usable) - n) for n in range(len(usable))]
    dedup: Selection = remove_near_duplicates(
        embeddings, order_scores, threshold=embedder.duplicate_threshold, existing=_existing(store, title_id, embedder)
    )
    kept = sorted(dedup.kept)
    tags = tag_images(embedder, embeddings[kept], [qualities[usable[n]] for n in kept])
    items = [
        _item(title_id, *loaded[usable[n]], uploads[usable[n]][0], qualities[usable[n]].as_dict(), sample_tags,
              embeddings[n], embedder, source="upload")
        for n, sample_tags in zip(kept, tags)
    ]
    stored, skipped = _store_new(store, items)
    # Faces are looked for again on the stored pictures: stills are few, and a still's analysis
    # copy may be scaled and cut differently enough to move a face by several pixels.
    _crop(store, stored, placements, faces={},
          images={content_id(item["data"]): images[usable[n]] for n, item in zip(kept, items)})
    return IngestReport(
        title_id=title_id,
        source=", ".join(name for name, _ in uploads),
        embedder=embedder.name,
        candidates=tuple(stored),
        duplicates=len(dedup.duplicates),
        rejected=rejected,
        seconds=time.perf_counter() - started,
        skipped=tuple(skipped),
    )


def _mapped(boxes: Sequence[tuple[int, int, int, int]], bars: Letterbox, sx: float, sy: float,
            cut: Letterbox) -> list[tuple[int, int, int, int]]:
    """Face boxes found on an analysis copy without its `bars`, in the pixels of the stored
    picture: the copy scaled by (sx, sy), without the bars `cut` from it."""
    return [(max(0, int((x + bars.left) * sx) - cut.left), max(0, int((y + bars.top) * sy) - cut.top),
             int(np.ceil(w * sx)), int(np.ceil(h * sy))) for x, y, w, h in boxes]


def _crop(store: Store, stored: Sequence[Artwork], placements: Sequence[Placement] | None, *,
          faces: Mapping[str, Sequence[tuple[int, int, int, int]]],
          images: Mapping[str, np.ndarray]) -> None:
    """Crop the new artworks, whose pictures are in `images`, for every placement (the default
    ones unless given; none for ())."""
    if stored:
        chosen = parse_placements(DEFAULT_PLACEMENTS) if placements is None else placements
        if chosen:
            crop_artworks(store, stored, chosen, faces=faces, images=images)


def _scaled(image: np.ndarray) -> np.ndarray:
    return resize_to_width(image, STILL_ANALYSIS_WIDTH)


def ingest_still(store: Store, title_id: str, name: str, data: bytes, *,
                 embedder: Embedder | None = None,
                 placements: Sequence[Placement] | None = None) -> Artwork:
    """Score, embed, tag and store one uploaded still; the stored artwork, or why it was not.

    Raises:
        AlreadyExistsError: the same image is already an artwork.
        NearDuplicateError: it nearly repeats an artwork the title already has.
        UnusableImageError: it is black or blank.
        InvalidImageError / ImageTooLargeError: it does not decode, or is over the limits.
    """
    report = ingest_uploads(store, title_id, [(name, data)], embedder=embedder,
                            placements=placements)
    if report.candidates:
        return report.candidates[0]
    if report.skipped:
        raise AlreadyExistsError(f"{name}: the same image is already artwork {report.skipped[0]}")
    if report.duplicates:
        raise NearDuplicateError(f"{name}: a near-duplicate of an artwork this title already has")
    kind = next((k for k, n in report.rejected.items() if n), "unusable")
    raise UnusableImageError(f"{name}: a {kind} image, not usable as artwork")
