"""Crops of stored artworks for every placement: proposed, rendered once and kept by the catalog."""
from __future__ import annotations

from typing import Mapping, Sequence

import cv2
import numpy as np

from artwork.crops import Crop
from artwork.images import encode_image
from artwork.records import Artwork
from artwork.store import Store

from vision.crops import (
    Box,
    Placement,
    check_box,
    propose_crops,
    render_crop,
    score_box,
)
from vision.errors import ImageDecodeError, InvalidParameterError
from vision.faces import FaceDetector
from vision.parallel import in_order

# The widest a rendered crop is; larger crops are scaled down to it (keeping the exact ratio).
CROP_MAX_WIDTH = 1280


def _read(store: Store, art: Artwork) -> np.ndarray:
    image = cv2.imread(str(store.image_path(art)), cv2.IMREAD_COLOR)
    if image is None:
        raise ImageDecodeError(f"the image of artwork {art.id} cannot be read; upload it again")
    return image


def _rendered(image: np.ndarray, box: Box, placement: Placement) -> bytes:
    return encode_image(render_crop(image, box, placement, CROP_MAX_WIDTH), "jpeg")


def crop_artworks(store: Store, artworks: Sequence[Artwork], placements: Sequence[Placement], *,
                  detector: FaceDetector | None = None,
                  faces: Mapping[str, Sequence[Box]] | None = None,
                  images: Mapping[str, np.ndarray] | None = None) -> dict[str, dict[str, Crop]]:
    """Propose, render and store every artwork's crop for every placement (faces detected
    unless given per artwork id, in the artwork's pixels; each picture read from the store
    unless given). Crops a person adjusted are kept."""
    faces, images = faces or {}, images or {}
    if detector is None and any(art.id not in faces for art in artworks):
        detector = FaceDetector()
    todo = {art.id: [p for p in placements if p.name not in
                     {name for name, c in store.crops.for_artwork(art.id).items() if c.adjusted}]
            for art in artworks}

    def rendered(art: Artwork) -> list[tuple[Crop, bytes | None]]:
        image = images.get(art.id)
        image = _read(store, art) if image is None else image
        wanted = todo[art.id]
        proposals = propose_crops(image, wanted, detector, faces=faces.get(art.id))
        return [(Crop(art.id, p.name, prop.box, prop.score, prop.reason),
                 None if prop.box is None else _rendered(image, prop.box, p))
                for p, prop in zip(wanted, proposals)]

    # Artworks are cropped side by side; the store is written from this thread only, each
    # artwork's crops while the next ones are worked on.
    out: dict[str, dict[str, Crop]] = {}
    for art, rows in zip(artworks, in_order(rendered, artworks)):
        store.crops.save(rows)
        out[art.id] = store.crops.for_artwork(art.id)
    return out


def placement_named(placements: Sequence[Placement], name: str) -> Placement:
    """The configured placement of this name."""
    for p in placements:
        if p.name == name:
            return p
    raise InvalidParameterError(f"no placement {name!r}; the placements are "
                                f"{', '.join(p.name for p in placements)}")


def adjust_crop(store: Store, artwork_id: str, placement: Placement, box: Box) -> Crop:
    """Set a person's crop box for one placement: checked, scored, rendered and kept."""
    art = store.get_artwork(artwork_id)
    image = _read(store, art)
    box = check_box(image.shape[:2], box, placement)
    crop = Crop(art.id, placement.name, box, score_box(image, box, placement), adjusted=True)
    saved = store.crops.save([(crop, _rendered(image, box, placement))])[0]
    store.audit.record([("crop", art.title_id, art.id,
                         {"placement": placement.name, "box": list(box)})])
    return saved


def crops_of(store: Store, artwork_id: str) -> dict[str, Crop]:
    """An artwork's crops by placement (NotFoundError for an unknown artwork)."""
    store.get_artwork(artwork_id)
    return store.crops.for_artwork(artwork_id)
