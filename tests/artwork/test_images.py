"""Uploads are validated by decoding them, and refused ones leave nothing behind."""
from __future__ import annotations

from pathlib import Path

import pytest

from artwork.errors import ImageTooLargeError, InvalidImageError
from artwork.images import known_image_info, validate_image


def _stored_files(data_dir: Path) -> list[Path]:
    images = data_dir / "images"
    return [p for p in images.rglob("*") if p.is_file()] if images.exists() else []


def _bad_uploads(jpeg: bytes, png: bytes) -> list[tuple[str, bytes, type, str]]:
    return [
        ("text named .jpg", b"hello, this is not an image\n" * 10, InvalidImageError,
         "not a decodable image"),
        ("truncated JPEG", jpeg[: len(jpeg) // 2], InvalidImageError, "truncated JPEG"),
        ("truncated PNG", png[: len(png) - 20], InvalidImageError, "truncated PNG"),
        ("zero bytes", b"", InvalidImageError, "empty file"),
        ("JPEG magic then junk", b"\xff\xd8\xff" + b"\x00" * 200 + b"\xff\xd9",
         InvalidImageError, "not a decodable image"),
    ]


@pytest.mark.parametrize("case", range(5))
def test_bad_upload_is_refused_and_nothing_is_written(case, store, data_dir, jpeg_bytes, png_bytes):
    label, data, error, message = _bad_uploads(jpeg_bytes(1), png_bytes(2))[case]
    store.add_title("t1", "Title")
    with pytest.raises(error, match=message):
        store.add_artwork_image("t1", data, name="poster.jpg")
    assert store.list_artworks("t1") == [], label
    assert _stored_files(data_dir) == [], label


def test_oversized_image_by_bytes_and_by_pixels(data_dir, open_store, jpeg_bytes):
    store = open_store(data_dir, max_image_bytes=5_000, max_image_pixels=100 * 100)
    store.add_title("t1", "Title")
    big = jpeg_bytes(3, 400, 300)
    assert len(big) > 5_000
    with pytest.raises(ImageTooLargeError, match="over the 5000-byte limit"):
        store.add_artwork_image("t1", big, name="big.jpg")
    small_file_many_pixels = jpeg_bytes(4, 200, 200)
    store_px = open_store(data_dir, max_image_pixels=100 * 100)
    with pytest.raises(ImageTooLargeError, match="200x200 is over the 10000-pixel limit"):
        store_px.add_artwork_image("t1", small_file_many_pixels, name="wide.jpg")
    assert store.list_artworks("t1") == []
    assert _stored_files(data_dir) == []


def test_batch_with_one_bad_file_stores_none(store, data_dir, jpeg_bytes):
    store.add_title("t1", "Title")
    items = [
        {"title_id": "t1", "data": jpeg_bytes(1), "name": "a.jpg"},
        {"title_id": "t1", "data": jpeg_bytes(2), "name": "b.jpg"},
        {"title_id": "t1", "data": b"GIF89a nope", "name": "c.jpg"},
    ]
    with pytest.raises(InvalidImageError, match="c.jpg"):
        store.add_artworks(items)
    assert store.list_artworks("t1") == []
    assert _stored_files(data_dir) == []


def test_failure_after_file_write_removes_the_file(store, data_dir, jpeg_bytes):
    store.add_title("t1", "Title")
    first = store.add_artwork_image("t1", jpeg_bytes(1))
    # The second item repeats the first image, which the database refuses only after the
    # new image of the same batch has been written: that file must be taken back.
    with pytest.raises(Exception, match="already artwork"):
        store.add_artworks([
            {"title_id": "t1", "data": jpeg_bytes(2)},
            {"title_id": "t1", "data": jpeg_bytes(1)},
        ])
    assert [a.id for a in store.list_artworks("t1")] == [first.id]
    assert _stored_files(data_dir) == [data_dir / first.path]


def test_valid_formats_decode(jpeg_bytes, png_bytes):
    jpg = validate_image(jpeg_bytes(5, 120, 80))
    png = validate_image(png_bytes(5, 120, 80))
    assert (jpg.format, jpg.width, jpg.height) == ("jpeg", 120, 80)
    assert (png.format, png.width, png.height) == ("png", 120, 80)
    assert jpg.digest != png.digest


def test_webp_is_accepted(store):
    import cv2
    from tests.conftest import make_image

    ok, buf = cv2.imencode(".webp", make_image(9))
    assert ok
    art = store.add_artwork_image(*store.add_title("t1", "T").id.split(), buf.tobytes())
    assert art.path.endswith(".webp")


def test_small_file_that_decodes_huge_is_refused_before_decoding(store, data_dir):
    import resource

    import cv2
    import numpy as np

    store.add_title("t1", "Title")
    ok, buf = cv2.imencode(".png", np.zeros((12000, 12000), np.uint8))  # 144 M pixels
    assert ok and len(buf) < 1_000_000
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ImageTooLargeError, match="12000x12000 is over the 40000000-pixel limit"):
        store.add_artwork_image("t1", buf.tobytes(), name="bomb.png")
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mib < 100, f"validation allocated {grown_mib:.0f} MiB"
    assert store.list_artworks("t1") == [] and _stored_files(data_dir) == []


def test_an_image_whose_pixels_the_caller_holds_is_checked_but_not_decoded(data_dir, open_store, jpeg_bytes):
    data = jpeg_bytes(5, 200, 120)
    assert known_image_info(data, 200, 120) == validate_image(data)
    store = open_store(data_dir, max_image_bytes=len(data) + 10, max_image_pixels=200 * 120)
    store.add_title("t1", "Title")
    [art] = store.add_artworks([{"title_id": "t1", "data": data, "pixels": (200, 120), "name": "f.jpg"}])
    assert (art.width, art.height) == (200, 120) and store.get_artwork(art.id) == art
    # the limits and the format are still checked, and nothing is stored when they refuse
    for pixels, bytes_, error, message in (((201, 120), data, ImageTooLargeError, "201x120 is over"),
                                           ((200, 120), data + b"x" * 20, ImageTooLargeError, "byte limit"),
                                           ((200, 120), b"GIF89a" + data, InvalidImageError, "not a decodable")):
        with pytest.raises(error, match=message):
            store.add_artworks([{"title_id": "t1", "data": bytes_, "pixels": pixels, "name": "g.jpg"}])
    assert len(_stored_files(data_dir)) == 1
