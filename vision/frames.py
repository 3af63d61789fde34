"""Video decoding with OpenCV, frame sampling, and shot boundaries (hard cuts, fades through black)."""
from __future__ import annotations

import bisect
import queue
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Mapping, Sequence

import cv2
import numpy as np

from vision.errors import InvalidParameterError, MediaNotFoundError, VideoDecodeError

# FFmpeg's text-art demuxers (tty/ansi) happily open plain text as a "video".
_NON_VIDEO_CODECS = frozenset({"ansi", "bint", "xbin", "idf"})
# A decode that stops this far short of the header's frame count is a truncated file.
_TRUNCATION_SLACK = 0.02
DETECT_WIDTH = 64  # consecutive frames are compared at this width
_SEEK_AHEAD = 48  # further than this, read_at() seeks instead of grabbing forward
_VERIFY_MAD = 8.0  # mean absolute difference under which a re-read frame matches its thumbnail


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about a video."""

    path: str
    fps: float
    frame_count: int
    width: int
    height: int
    codec: str

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.frame_count / self.fps


@dataclass(frozen=True)
class ShotBoundary:
    """The first frame of a new shot, after a hard cut or in the middle of a fade through black."""

    frame: int
    time: float
    kind: str  # "cut" or "fade"
    score: float  # cut: mean grey change (0..255) into this frame; fade: frames of black


def require_file(path: str | Path, what: str) -> Path:
    """The path as a Path, or MediaNotFoundError when it is not an existing regular file."""
    p = Path(path)
    if not p.exists():
        raise MediaNotFoundError(f"{p}: no such {what} file; check the path")
    if not p.is_file():
        raise MediaNotFoundError(f"{p}: not a regular file; pass the path of a {what} file")
    return p


def _fourcc(cap: cv2.VideoCapture) -> str:
    code = int(cap.get(cv2.CAP_PROP_FOURCC))
    return "".join(chr((code >> 8 * i) & 0xFF) for i in range(4)).strip("\x00 ").lower()


def open_video(path: str | Path) -> tuple[cv2.VideoCapture, VideoInfo]:
    """Open a video with OpenCV's FFmpeg backend; VideoDecodeError when it is not a usable video."""
    p = require_file(path, "video")
    size = p.stat().st_size
    if size == 0:
        raise VideoDecodeError(f"{p.name}: empty file (0 bytes); upload the complete video")
    cap = cv2.VideoCapture(str(p), cv2.CAP_FFMPEG)
    if not cap.isOpened():
        raise VideoDecodeError(
            f"{p.name}: OpenCV cannot open it as a video ({size} bytes); it is truncated, "
            "corrupt or not a video: re-export it as MP4 (H.264 or MPEG-4) or AVI"
        )
    codec = _fourcc(cap)
    fps = float(cap.get(cv2.CAP_PROP_FPS))
    count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    width, height = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    problem = None
    if codec in _NON_VIDEO_CODECS:
        problem = f"not a video (FFmpeg reads it as {codec!r} text)"
    elif count <= 1:
        problem = "a single image, not a video; ingest it as a still"
    elif not fps > 0 or width <= 0 or height <= 0:
        problem = f"no usable video stream (fps={fps:g}, size={width}x{height})"
    if problem:
        cap.release()
        raise VideoDecodeError(f"{p.name}: {problem}")
    return cap, VideoInfo(str(p), fps, count, width, height, codec)


def probe_video(path: str | Path) -> VideoInfo:
    """Container facts of a video (fps, frame count, size) without decoding it."""
    cap, info = open_video(path)
    cap.release()
    return info


class VideoReader:
    """Reads a video's frames in order; frames that are skipped are only grab()bed, not converted."""

    def __init__(self, path: str | Path):
        self._path = Path(path)
        self._cap, self.info = open_video(path)
        self._pos = 0  # index of the next frame grab() returns
        self.frames_decoded = 0  # set when frames() reached the end

    def __enter__(self) -> "VideoReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the decoder."""
        self._cap.release()

    def frames(self, stride: int = 1, prefetch: int = 16) -> Iterator[tuple[int, np.ndarray]]:
        """Yield (frame index, BGR frame) for every `stride`-th frame from the start.

        Frames are decoded in a background thread, `prefetch` ahead; skipped frames are only
        grab()bed, not converted. Raises VideoDecodeError, after the last good frame, when the
        file is truncated or corrupt.
        """
        if stride < 1 or prefetch < 1:
            raise InvalidParameterError(f"need stride >= 1 and prefetch >= 1, got {stride} and {prefetch}")
        if self._pos:
            self._reopen()
        out: queue.Queue = queue.Queue(maxsize=prefetch)
        stop = threading.Event()
        worker = threading.Thread(target=self._decode_into, args=(out, stop, stride), daemon=True)
        worker.start()
        try:
            while True:
                item = out.get()
                if item is None:
                    break
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stop.set()
            while worker.is_alive():  # unblock a producer waiting on a full queue
                try:
                    out.get_nowait()
                except queue.Empty:
                    worker.join(timeout=0.05)

    def _decode_into(self, out: queue.Queue, stop: threading.Event, stride: int) -> None:
        def put(item: object) -> None:
            while not stop.is_set():
                try:
                    out.put(item, timeout=0.1)
                    return
                except queue.Full:
                    continue

        cap = self._cap
        try:
            index = 0
            while not stop.is_set() and cap.grab():
                if index % stride == 0:
                    ok, frame = cap.retrieve()
                    if not ok or frame is None:
                        raise VideoDecodeError(
                            f"{self._path.name}: frame {index} could not be decoded; the file is corrupt, re-export it"
                        )
                    put((index, frame))
                index += 1
                self._pos = index
            if not stop.is_set():
                self.frames_decoded = index
                self._check_complete(index)
                put(None)
        except BaseException as exc:  # handed to the consumer thread, which re-raises it
            put(exc)

    def _check_complete(self, decoded: int) -> None:
        name, declared = self._path.name, self.info.frame_count
        if decoded == 0:
            raise VideoDecodeError(
                f"{name}: no frame could be decoded; the file is corrupt or uses a codec this OpenCV build "
                "lacks: re-export it as MP4 (H.264 or MPEG-4)"
            )
        if decoded < declared * (1 - _TRUNCATION_SLACK) - 1:
            raise VideoDecodeError(
                f"{name}: truncated or corrupt: only {decoded} of the {declared} frames its header declares "
                "could be decoded; upload the complete file"
            )

    def _reopen(self) -> None:
        self._cap.release()
        self._cap, self.info = open_video(self._path)
        self._pos = 0

    def read_at(
        self, indices: Sequence[int], expected: Mapping[int, np.ndarray] | None = None
    ) -> dict[int, np.ndarray]:
        """Full-resolution frames at `indices`: grab() forward when near, seek when far.

        `expected` maps an index to a smaller copy of that frame seen earlier; a re-read frame that
        does not match it (an inexact seek) is read again by decoding from the start.
        """
        wanted = sorted(set(int(i) for i in indices))
        if wanted and (wanted[0] < 0 or wanted[-1] >= self.info.frame_count):
            raise InvalidParameterError(
                f"{self._path.name}: frame {wanted[-1] if wanted[0] >= 0 else wanted[0]} is outside "
                f"0..{self.info.frame_count - 1}"
            )
        out: dict[int, np.ndarray] = {}
        for index in wanted:
            frame = self._read_one(index, seek=True)
            if expected is not None and index in expected and not _matches(frame, expected[index]):
                self._reopen()
                frame = self._read_one(index, seek=False)
            out[index] = frame
        return out

    def _read_one(self, index: int, *, seek: bool) -> np.ndarray:
        if index < self._pos or (seek and index - self._pos > _SEEK_AHEAD):
            if seek and self._cap.set(cv2.CAP_PROP_POS_FRAMES, index):
                self._pos = index
            else:
                self._reopen()
        while self._pos <= index:
            if not self._cap.grab():
                raise VideoDecodeError(
                    f"{self._path.name}: frame {index} could not be read back; the file changed or is corrupt"
                )
            self._pos += 1
        ok, frame = self._cap.retrieve()
        if not ok or frame is None:
            raise VideoDecodeError(f"{self._path.name}: frame {index} could not be decoded")
        return frame


def _matches(frame: np.ndarray, thumb: np.ndarray) -> bool:
    small = cv2.resize(frame, (thumb.shape[1], thumb.shape[0]), interpolation=cv2.INTER_AREA)
    return float(cv2.absdiff(small, thumb).mean()) <= _VERIFY_MAD


def resize_to_width(image: np.ndarray, width: int, interpolation: int = cv2.INTER_AREA) -> np.ndarray:
    """The image scaled down (never up) to `width` pixels wide, keeping its aspect ratio."""
    h, w = image.shape[:2]
    if w <= width:
        return image
    return cv2.resize(image, (width, max(1, round(h * width / w))), interpolation=interpolation)


class ShotDetector:
    """Finds shot boundaries in a stream of frames, online, from content change and black frames.

    Frames are compared as small grey pictures (DETECT_WIDTH wide). A hard cut is a frame whose
    mean absolute grey change from the previous frame is at least `min_content` (0..255) and at
    least `ratio` times the mean change of the `window` frames on each side (fast motion raises
    its neighbours too, a cut does not) -- or whose histograms changed by at least `min_hist`
    (half the L1 distance, 0..1, the larger of a 12x4-bin hue-saturation histogram of the pixels
    that are not dark and a 16-bin grey histogram) and `ratio` times its neighbours' change
    (camera motion over textured scenes changes pixels a lot, histograms little).

    A black frame has a mean grey under `black_level` and a standard deviation under half of it
    (a night sky with stars is not black). A run of black frames between two shots is a fade:
    its boundary is the middle of the run; the frames darkening into and brightening out of the
    black are remembered as fade frames. Boundaries closer than `min_shot_seconds` to the
    previous one (or to the start) are dropped.
    """

    def __init__(
        self,
        fps: float,
        *,
        min_content: float = 8.0,
        min_hist: float = 0.2,
        ratio: float = 3.0,
        window: int = 2,
        black_level: float = 18.0,
        min_shot_seconds: float = 0.4,
    ):
        if not fps > 0:
            raise InvalidParameterError(f"fps must be positive, got {fps}")
        if window < 1 or ratio <= 1 or min_content <= 0 or min_shot_seconds < 0:
            raise InvalidParameterError(
                "ShotDetector needs window >= 1, ratio > 1, min_content > 0 and min_shot_seconds >= 0"
            )
        self.fps = float(fps)
        self.min_content, self.ratio, self.window = float(min_content), float(ratio), int(window)
        self.min_hist = float(min_hist)
        self.black_level = float(black_level)
        self.min_shot_frames = int(round(min_shot_seconds * fps))
        self.boundaries: list[ShotBoundary] = []
        self.fade_ranges: list[tuple[int, int]] = []  # inclusive frame ranges
        self._idx: list[int] = []
        self._score: list[float] = []
        self._luma: list[float] = []
        self._black: list[bool] = []
        self._hist: list[float] = []
        self._prev: np.ndarray | None = None
        self._prev_hist: tuple[np.ndarray, np.ndarray] | None = None
        self._next_eval = 1
        self._run_start: int | None = None
        self._pending_fade: tuple[int, int] | None = None  # black run (start, end) not yet emitted
        self._ramp_in: int | None = None

    @property
    def frames_seen(self) -> int:
        """How many frames were analysed."""
        return len(self._idx)

    @property
    def confirmed_until(self) -> int:
        """Frames up to this index are final: no later boundary can fall at or before them."""
        pos = self._next_eval - 1
        for dark in (self._run_start, self._pending_fade[0] if self._pending_fade else None):
            if dark is not None:
                pos = min(pos, dark - 1)
        return self._idx[pos] if 0 <= pos < len(self._idx) else -1

    def update(self, index: int, frame: np.ndarray) -> list[ShotBoundary]:
        """Analyse the next frame (BGR or grey, any size); return the boundaries it confirmed."""
        if self._idx and index <= self._idx[-1]:
            raise InvalidParameterError(f"frames must arrive in order: {index} after {self._idx[-1]}")
        # sample down to 4x the target, then average 4x4 blocks: close to INTER_AREA from full
        # size at a tenth of its cost
        small = resize_to_width(resize_to_width(frame, 4 * DETECT_WIDTH, cv2.INTER_NEAREST), DETECT_WIDTH)
        if small.ndim == 2:
            small = cv2.cvtColor(small, cv2.COLOR_GRAY2BGR)
        grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY).astype(np.float32)
        if self._prev is not None and self._prev.shape != grey.shape:
            raise InvalidParameterError("all frames of one video must have the same size")
        score = 0.0 if self._prev is None else float(cv2.norm(grey, self._prev, cv2.NORM_L1)) / grey.size
        hsv = cv2.cvtColor(small, cv2.COLOR_BGR2HSV)
        lit = cv2.inRange(hsv, (0, 0, 48), (180, 256, 256))  # hue and saturation of dark pixels are noise
        colour = cv2.calcHist([hsv], [0, 1], lit, [12, 4], [0, 180, 0, 256]).ravel()
        colour /= max(float(colour.sum()), 0.1 * grey.size)
        tones = cv2.calcHist([grey], [0], None, [16], [0, 256]).ravel() / grey.size
        hist = (colour, tones)
        hist_change = 0.0 if self._prev_hist is None else 0.5 * max(
            float(np.abs(a - b).sum()) for a, b in zip(hist, self._prev_hist)
        )
        self._prev, self._prev_hist = grey, hist
        mean, std = (float(v[0][0]) for v in cv2.meanStdDev(grey))
        pos = len(self._idx)
        self._idx.append(index)
        self._score.append(score)
        self._hist.append(hist_change)
        self._luma.append(mean)
        black = mean < self.black_level and std < self.black_level / 2  # a dark picture has bright spots
        self._black.append(black)
        before = len(self.boundaries)
        self._follow_ramp_in(pos)
        if black and self._run_start is None:
            if self._pending_fade and index - self._idx[self._pending_fade[1]] < self.min_shot_frames:
                self._run_start = self._pending_fade[0]  # one dark stretch that flickered
                self._pending_fade = None
            else:
                self._emit_pending_fade()
                self._run_start = pos
        elif not black and self._run_start is not None:
            self._end_black_run(pos)
        if self._pending_fade and index - self._idx[self._pending_fade[1]] >= self.min_shot_frames:
            self._emit_pending_fade()
        until = pos - self.window if self._pending_fade is None else min(pos - self.window, self._pending_fade[1] - 1)
        self._evaluate_cuts(until=until, known=pos)
        return self.boundaries[before:]

    def finish(self) -> list[ShotBoundary]:
        """Flush the last frames after the video ended; return the boundaries that confirmed."""
        before = len(self.boundaries)
        last = len(self._idx) - 1
        self._emit_pending_fade()
        self._evaluate_cuts(until=last, known=last)
        if self._run_start is not None:  # the video ends in black: a fade-out, no new shot
            self._add_fade_range(self._ramp_out_start(self._run_start), last)
            self._run_start = None
        if self._ramp_in is not None:
            self._close_ramp_in(last)
        return self.boundaries[before:]

    def is_fade(self, frame: int) -> bool:
        """Whether a frame lies in a fade (darkening into, inside, or brightening out of black)."""
        i = bisect.bisect_right(self.fade_ranges, (frame, float("inf"))) - 1
        return i >= 0 and self.fade_ranges[i][0] <= frame <= self.fade_ranges[i][1]

    def _evaluate_cuts(self, until: int, known: int) -> None:
        while self._next_eval <= until:
            j = self._next_eval
            self._next_eval += 1
            s = self._score[j]
            if s < self.min_content or self._black[j] or self._black[j - 1]:
                continue
            if not (self._peak(self._score, j, known) or (self._hist[j] >= self.min_hist and self._peak(self._hist, j, known))):
                continue
            self._add_boundary(ShotBoundary(self._idx[j], self._idx[j] / self.fps, "cut", round(s, 3)))

    def _peak(self, values: list[float], j: int, known: int) -> bool:
        """Whether values[j] is `ratio` times the mean of its `window` neighbours on each side."""
        around = values[max(1, j - self.window) : j] + values[j + 1 : min(known, j + self.window) + 1]
        return values[j] >= self.ratio * (sum(around) / len(around) if around else 0.0)

    def _add_boundary(self, boundary: ShotBoundary) -> None:
        previous = self.boundaries[-1].frame if self.boundaries else self._idx[0]
        if boundary.frame - previous < self.min_shot_frames:
            if boundary.kind == "fade" and self.boundaries and self.boundaries[-1].kind == "cut":
                self.boundaries[-1] = boundary  # a fade explains the change better than a cut
            return
        self.boundaries.append(boundary)

    def _end_black_run(self, pos: int) -> None:
        start = self._run_start
        assert start is not None
        self._run_start = None
        self._evaluate_cuts(until=pos - 1, known=pos)
        self._add_fade_range(self._ramp_out_start(start), pos - 1)
        self._ramp_in = pos
        self._pending_fade = (start, pos)  # emitted once no black follows within a minimum shot

    def _emit_pending_fade(self) -> None:
        if self._pending_fade is None:
            return
        start, end = self._pending_fade
        self._pending_fade = None
        if start > 0:  # black at the very start is a fade-in, not a boundary
            frame = self._idx[(start + end) // 2]
            self._add_boundary(ShotBoundary(frame, frame / self.fps, "fade", float(end - start)))

    def _ramp_out_start(self, start: int) -> int:
        k = start - 1
        while k > 0 and not self._black[k] and self._luma[k] < self._luma[k - 1] - 0.5:
            k -= 1
        return k + 1

    def _follow_ramp_in(self, pos: int) -> None:
        if self._ramp_in is None or pos <= self._ramp_in:
            return
        if not (self._luma[pos] > self._luma[pos - 1] + 0.5) or self._black[pos]:
            self._close_ramp_in(pos - 1)

    def _close_ramp_in(self, last_bright: int) -> None:
        start = self._ramp_in
        assert start is not None
        self._ramp_in = None
        if last_bright - 1 >= start:
            self._add_fade_range(start, last_bright - 1)

    def _add_fade_range(self, start: int, end: int) -> None:
        if end < start:
            return
        first, last = self._idx[start], self._idx[end]
        if self.fade_ranges and first <= self.fade_ranges[-1][1] + 1:
            first = self.fade_ranges[-1][0]
            self.fade_ranges.pop()
        self.fade_ranges.append((first, last))


def shot_of(frame: int, boundaries: Sequence[ShotBoundary]) -> int:
    """The shot number (0 before the first boundary) that a frame belongs to."""
    return bisect.bisect_right([b.frame for b in boundaries], frame)


def detect_shots(path: str | Path, *, stride: int = 1, **settings: float) -> list[ShotBoundary]:
    """Shot boundaries of a video file, in frame order.

    Args:
        path: the video file.
        stride: analyse every stride-th frame (the others are only grabbed); boundaries are then
            accurate to `stride` frames.
        settings: ShotDetector settings (min_content, ratio, window, black_level, min_shot_seconds).

    Raises:
        MediaNotFoundError: no such file.
        VideoDecodeError: not a video, or truncated/corrupt.
    """
    with VideoReader(path) as reader:
        detector = ShotDetector(reader.info.fps, **settings)
        for index, frame in reader.frames(stride):
            detector.update(index, frame)
        detector.finish()
    return detector.boundaries
