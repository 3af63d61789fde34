"""Errors raised by the vision stage: decoding, analysis, embedding and ingest."""


class VisionError(Exception):
    """Base for vision-stage errors."""


class MediaNotFoundError(VisionError, FileNotFoundError):
    """A video or image path that does not exist or is not a regular file."""


class VideoDecodeError(VisionError, ValueError):
    """A file that is not a video OpenCV can decode, or one that is truncated or corrupt."""


class ImageDecodeError(VisionError, ValueError):
    """A still that does not decode as an image."""


class EmbedderConfigError(VisionError, ValueError):
    """An embedder name, model name, pretrained tag or checkpoint that cannot be used."""


class EmbedderUnavailableError(VisionError):
    """The CLIP embedder was asked for but torch/open_clip or its weights are missing."""


class InvalidParameterError(VisionError, ValueError):
    """A vision setting outside its allowed range."""


class UnusableImageError(VisionError, ValueError):
    """A still that decodes but cannot serve as artwork (black or blank)."""


class NearDuplicateError(VisionError, ValueError):
    """A still that nearly repeats an artwork its title already has."""
