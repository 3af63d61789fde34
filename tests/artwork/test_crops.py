"""The crops table and its content-addressed files, on both backends."""
from __future__ import annotations

import pytest

from artwork.crops import Crop
from artwork.errors import InvalidRecordError


def test_crops_are_kept_per_artwork_and_placement_and_files_shared_by_content(store, jpeg_bytes):
    store.add_title("t", "T")
    a, b = (store.add_artwork_image("t", jpeg_bytes(i)) for i in (1, 2))
    same = jpeg_bytes(7)  # two crops with the same pixels share one file
    saved = store.crops.save([
        (Crop(a.id, "tile", (0, 0, 16, 9), 0.8), same),
        (Crop(a.id, "billboard", None, 0.0, "the faces span 90x90 pixels"), None),
        (Crop(b.id, "tile", (2, 2, 32, 18), 0.6), same),
    ])
    assert saved[0].path == saved[2].path and saved[0].serves and not saved[1].serves
    assert store.crops.for_title("t") == {a.id: {"tile": saved[0], "billboard": saved[1]},
                                          b.id: {"tile": saved[2]}}
    assert store.crops.by_path(saved[0].path).artwork_id in (a.id, b.id)
    file = store.images.local_path(saved[0].path)
    store.delete_artwork(a.id)
    assert file.exists() and store.crops.for_artwork(a.id) == {}  # b's crop still uses it
    replaced = store.crops.save([(Crop(b.id, "tile", (0, 0, 16, 9), 0.9), jpeg_bytes(8))])[0]
    assert replaced.path != saved[2].path and not file.exists()
    with pytest.raises(InvalidRecordError):
        store.crops.save([(Crop(b.id, "tile", None, 0.0), jpeg_bytes(9))])
