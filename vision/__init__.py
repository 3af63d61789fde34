"""The vision stage: from a title's video and stills to scored, de-duplicated, embedded candidates."""
from vision.embed import (
    ClassicEmbedder,
    Embedder,
    OpenClipEmbedder,
    Projection,
    clip_installed,
    clip_weights_available,
    l2_normalize,
    make_embedder,
    project,
)
from vision.errors import (
    EmbedderConfigError,
    EmbedderUnavailableError,
    ImageDecodeError,
    InvalidParameterError,
    MediaNotFoundError,
    NearDuplicateError,
    UnusableImageError,
    VideoDecodeError,
    VisionError,
)
from vision.faces import FaceDetector, FaceStats
from vision.frames import ShotBoundary, ShotDetector, VideoInfo, VideoReader, detect_shots, probe_video
from vision.ingest import IngestReport, ingest_still, ingest_stills, ingest_video
from vision.quality import FrameQuality, Letterbox, detect_letterbox, measure_quality
from vision.scan import Sample, VideoScan, scan_video
from vision.select import Selection, remove_near_duplicates, select_candidates, select_diverse
from vision.tags import ClipTagger, heuristic_tags, tag_images

__all__ = [
    "ClassicEmbedder", "ClipTagger", "Embedder", "EmbedderConfigError", "EmbedderUnavailableError",
    "FaceDetector", "FaceStats", "FrameQuality", "ImageDecodeError", "IngestReport",
    "InvalidParameterError", "Letterbox", "MediaNotFoundError", "NearDuplicateError", "OpenClipEmbedder", "Projection",
    "Sample", "Selection", "ShotBoundary", "ShotDetector", "VideoDecodeError", "VideoInfo",
    "VideoReader", "VideoScan", "VisionError", "clip_installed", "clip_weights_available",
    "detect_letterbox", "detect_shots", "heuristic_tags", "ingest_still", "ingest_stills", "ingest_video",
    "l2_normalize", "make_embedder", "measure_quality", "probe_video", "project",
    "remove_near_duplicates", "scan_video", "select_candidates", "select_diverse", "tag_images", "UnusableImageError",
]
