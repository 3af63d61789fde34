"""Image files: validation by decoding, content hashes and the content-addressed folder."""
from __future__ import annotations

import hashlib
import io
import os
import re
import struct
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from artwork.errors import DISK_FULL_ERRNOS, ImageTooLargeError, InvalidImageError, StorageFullError

if TYPE_CHECKING:
    import numpy as np

    from artwork.database import TransactionBase

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
DEFAULT_MAX_PIXELS = 40_000_000
_HINT = "upload a JPEG, PNG or WebP"


@dataclass(frozen=True)
class ImageInfo:
    """What decoding an upload told us."""

    digest: str
    format: str
    width: int
    height: int
    size: int

    @property
    def extension(self) -> str:
        """The file suffix for this format."""
        return {"jpeg": ".jpg", "png": ".png", "webp": ".webp"}[self.format]


def sniff_format(data: bytes) -> str | None:
    """The image format named by the file's magic bytes, or None."""
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def _is_truncated(data: bytes, fmt: str) -> bool:
    # OpenCV decodes a cut-off JPEG or PNG into a half-grey picture without failing,
    # so check that the file ends where the format says it must.
    if fmt == "jpeg":
        return not data.rstrip(b"\x00").endswith(b"\xff\xd9")
    if fmt == "png":
        return b"IEND" not in data[-12:]
    declared = int.from_bytes(data[4:8], "little") + 8
    return len(data) < declared


def content_id(data: bytes) -> str:
    """The artwork id for these bytes: the first 20 hex digits of their SHA-256."""
    return hashlib.sha256(data).hexdigest()[:20]


# Markup a browser would act on if it ever sniffed the file as HTML: a tag's start.
_MARKUP = re.compile(rb"<\s*(?:[a-z!?/]|$)", re.IGNORECASE)
_PNG_TEXT_CHUNKS = (b"tEXt", b"zTXt", b"iTXt")


def png_text(data: bytes) -> list[bytes]:
    """The contents of a PNG's text chunks (tEXt, zTXt, iTXt), decompressed where they are."""
    import zlib

    out, at = [], 8
    while at + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        body = data[at + 8:at + 8 + length]
        at += 12 + length
        if kind not in _PNG_TEXT_CHUNKS:
            continue
        keyword, _, rest = body.partition(b"\0")
        try:
            if kind == b"zTXt":
                rest = zlib.decompress(rest[1:], bufsize=1 << 16)
            elif kind == b"iTXt" and rest[:1] == b"\1":
                rest = zlib.decompress(rest[2:].split(b"\0", 2)[-1], bufsize=1 << 16)
        except zlib.error:
            pass  # undecodable: checked as it is
        out.append(keyword + b"\0" + rest)
    return out


def _carries_markup(data: bytes, fmt: str) -> bool:
    return any(_MARKUP.search(text) for text in (png_text(data) if fmt == "png" else ()))


def _sized_format(data: bytes, name: str, max_bytes: int) -> str:
    """The image's format; refused when empty, over `max_bytes` or of no known format."""
    size = len(data)
    if size == 0:
        raise InvalidImageError(f"{name}: empty file (0 bytes); {_HINT}")
    if size > max_bytes:
        raise ImageTooLargeError(
            f"{name}: {size} bytes is over the {max_bytes}-byte limit; upload a smaller image"
        )
    fmt = sniff_format(data)
    if fmt is None:
        raise InvalidImageError(f"{name}: not a decodable image ({size} bytes); {_HINT}")
    return fmt


def _refuse_pixels(name: str, width: int, height: int, max_pixels: int) -> None:
    if width * height > max_pixels:
        shape = f"{width}x{height}" if height > 1 else "its size"
        raise ImageTooLargeError(
            f"{name}: {shape} is over the {max_pixels}-pixel limit; upload a smaller image"
        )


def known_image_info(
    data: bytes,
    width: int,
    height: int,
    name: str = "image",
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> ImageInfo:
    """The facts of an image whose pixels the caller holds, having encoded the bytes or
    validated and decoded them itself: checked against the limits, not decoded again."""
    fmt = _sized_format(data, name, max_bytes)
    _refuse_pixels(name, width, height, max_pixels)
    return ImageInfo(content_id(data), fmt, width, height, len(data))


def validate_image(
    data: bytes,
    name: str = "upload",
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> ImageInfo:
    """Decode an upload and return its facts, or raise a clear error; writes nothing."""
    return decode_image(data, name, max_bytes=max_bytes, max_pixels=max_pixels)[0]


def decode_image(
    data: bytes,
    name: str = "upload",
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> tuple[ImageInfo, np.ndarray]:
    """Validate an upload as `validate_image` does, and return its facts and BGR pixels."""
    size, fmt = len(data), _sized_format(data, name, max_bytes)
    if _is_truncated(data, fmt):
        raise InvalidImageError(
            f"{name}: truncated {fmt.upper()} file ({size} bytes); upload the complete file"
        )
    if _carries_markup(data, fmt):
        raise InvalidImageError(
            f"{name}: the {fmt.upper()} carries HTML or script in its text metadata; save the "
            "image again without metadata and upload that"
        )
    # Imported here: a command that only lists the catalog should not pay for them.
    import cv2
    import numpy as np
    import PIL.Image

    # The header gives the size without decoding, so a small file that would decode to
    # gigabytes (a "decompression bomb") is refused before any pixel is allocated.
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PIL.Image.DecompressionBombWarning)
            with PIL.Image.open(io.BytesIO(data)) as header:
                width, height = header.size
    except PIL.Image.DecompressionBombError:
        width, height = max_pixels + 1, 1
    except (OSError, SyntaxError, ValueError):
        raise InvalidImageError(f"{name}: not a decodable image ({size} bytes); {_HINT}") from None
    _refuse_pixels(name, width, height, max_pixels)
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None or image.size == 0:
        raise InvalidImageError(f"{name}: not a decodable image ({size} bytes); {_HINT}")
    height, width = image.shape[:2]
    return ImageInfo(content_id(data), fmt, width, height, size), image


def encode_image(image: np.ndarray, fmt: str = "jpeg", quality: int = 92) -> bytes:
    """Encode a BGR frame as JPEG or PNG bytes."""
    import cv2

    ext, params = (".jpg", [cv2.IMWRITE_JPEG_QUALITY, quality]) if fmt == "jpeg" else (".png", [])
    ok, buf = cv2.imencode(ext, image, params)
    if not ok:
        raise InvalidImageError(f"could not encode a {image.shape} frame as {fmt}")
    return buf.tobytes()


class ImageFolder:
    """Image files stored under their content hash: images/ab/abcdef....jpg."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def relative_path(self, info: ImageInfo) -> str:
        """Path of an image relative to the data directory."""
        return f"images/{info.digest[:2]}/{info.digest}{info.extension}"

    def write(self, relative: str, data: bytes) -> bool:
        """Write atomically (temp file + rename); False when the file was already there."""
        target = self.root / relative
        if target.exists():
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException as exc:
            Path(tmp).unlink(missing_ok=True)
            if isinstance(exc, OSError) and exc.errno in DISK_FULL_ERRNOS:
                raise StorageFullError("the image could not be stored: the disk is full") from None
            raise
        return True

    def remove(self, relative: str) -> None:
        """Delete an image file if present."""
        (self.root / relative).unlink(missing_ok=True)

    def store(self, tx: TransactionBase, relative: str, data: bytes) -> bool:
        """Keep an image with the rows of transaction `tx`; False when its file was already there."""
        return self.write(relative, data)

    def forget(self, tx: TransactionBase, relative: str) -> None:
        """Remove an image once transaction `tx`, which deletes its row, is committed."""
        tx.after_commit(lambda: self.remove(relative))

    def local_path(self, relative: str) -> Path:
        """The image's file on this host."""
        return self.root / relative


def read_image_file(path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """Read an image file for upload, with a clear error when it cannot be read."""
    path = Path(path)
    if not path.is_file():
        raise InvalidImageError(f"{path}: no such file; give the path of a JPEG, PNG or WebP")
    size = path.stat().st_size
    if size > max_bytes:
        raise ImageTooLargeError(
            f"{path.name}: {size} bytes is over the {max_bytes}-byte limit; upload a smaller image"
        )
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InvalidImageError(f"{path}: cannot be read ({exc.strerror})") from None
