"""Crops per placement on the committed photographs and video frames: faces kept, safe zones free."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from artwork.errors import InvalidRecordError
from artwork.images import encode_image
from tests.vision.conftest import BBB, DATA
from vision.crops import (
    DEFAULT_PLACEMENTS,
    check_box,
    parse_placement,
    parse_placements,
    propose_crop,
    propose_crops,
    render_crop,
    saliency_map,
)
from vision.errors import InvalidParameterError
from vision.faces import FaceDetector
from vision.placements import adjust_crop, crop_artworks

PLACEMENTS = parse_placements(DEFAULT_PLACEMENTS)


def _inside(inner, outer) -> bool:
    return (inner[0] >= outer[0] and inner[1] >= outer[1]
            and inner[0] + inner[2] <= outer[0] + outer[2]
            and inner[1] + inner[3] <= outer[1] + outer[3])


def _overlap(a, b) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def _frames() -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(BBB))
    frames = []
    for index in (10, 60, 120):
        capture.set(cv2.CAP_PROP_POS_FRAMES, index)
        ok, frame = capture.read()
        assert ok
        frames.append(frame)
    capture.release()
    return frames


@pytest.fixture(scope="module")
def committed() -> list[tuple[str, np.ndarray]]:
    """The committed photographs, a close-up of the astronaut's face, and frames of the video."""
    photos = [(name, cv2.imread(str(DATA / f"{name}.jpg"))) for name in
              ("astronaut", "chelsea", "coffee")]
    closeup = ("closeup", photos[0][1][40:210, 150:300].copy())
    return [*photos, closeup, *[(f"frame{i}", f) for i, f in enumerate(_frames())]]


def test_every_face_inside_and_clear_of_the_safe_zone_or_refused(committed):
    detector = FaceDetector()
    served = refused = faces_seen = 0
    for name, image in committed:
        faces = detector.detect(image).boxes
        faces_seen += len(faces)
        height, width = image.shape[:2]
        for placement, proposal in zip(PLACEMENTS, propose_crops(image, PLACEMENTS, detector)):
            assert proposal.placement == placement.name
            if proposal.box is None:
                assert proposal.reason and placement.name in proposal.reason, (name, proposal)
                refused += 1
                continue
            served += 1
            x, y, w, h = proposal.box
            assert w * placement.ratio[1] == h * placement.ratio[0], (name, proposal)
            assert _inside(proposal.box, (0, 0, width, height))
            assert 0 < proposal.score <= 1
            zone = placement.safe_zone(proposal.box)
            for face in faces:
                assert _inside(face, proposal.box), (name, placement.name, face, proposal.box)
                assert not _overlap(face, zone), (name, placement.name, face, zone)
    assert faces_seen >= 2 and served >= 20 and refused >= 2


def test_a_closeup_cannot_become_a_billboard(committed):
    closeup = dict(committed)["closeup"]
    proposals = {p.placement: p for p in propose_crops(closeup, PLACEMENTS)}
    assert proposals["billboard"].box is None
    assert "faces span" in proposals["billboard"].reason
    assert proposals["square"].box is not None


def test_a_face_in_the_lower_third_is_refused_for_tiles_not_for_billboards():
    image = np.zeros((900, 1600, 3), np.uint8)
    face = (700, 790, 100, 100)  # at the bottom edge of the picture
    saliency = saliency_map(image)
    tile = propose_crop(image.shape[:2], [face], PLACEMENTS[0], saliency)
    assert tile.box is None and "safe zone" in tile.reason
    billboard = propose_crop(image.shape[:2], [face], PLACEMENTS[2], saliency)
    assert billboard.box is not None and _inside(face, billboard.box)


def test_the_salient_region_is_kept():
    image = np.full((400, 1200, 3), 40, np.uint8)
    cv2.circle(image, (1050, 200), 60, (250, 250, 250), -1)  # something to look at, far right
    square = propose_crops(image, [parse_placement("square=1:1")], faces=[])[0]
    x, _, w, _ = square.box
    assert x <= 1050 - 60 and x + w >= 1050 + 60


@pytest.mark.parametrize("spec", ["tile", "tile=16x9", "Tile=16:9", "tile=0:9", "tile=16:9/side:0.3",
                                  "tile=16:9/bottom:1.5"])
def test_bad_placement_specs_are_refused(spec):
    with pytest.raises(InvalidRecordError):
        parse_placement(spec)
    with pytest.raises(InvalidRecordError):
        parse_placements(["tile=16:9", "tile=1:1"])


def test_boxes_are_checked_and_rendered_to_the_exact_ratio(astronaut):
    boxart = PLACEMENTS[1]
    assert check_box(astronaut.shape[:2], (10, 0, 200, 300), boxart) == (10, 0, 200, 300)
    for bad in [(0, 0, 201, 300), (400, 0, 200, 300), (-1, 0, 2, 3)]:
        with pytest.raises(InvalidParameterError):
            check_box(astronaut.shape[:2], bad, boxart)
    out = render_crop(astronaut, (0, 0, 340, 510), boxart, max_width=100)
    assert out.shape[:2] == (150, 100)  # 50 x (2:3), at most 100 wide


def test_crops_are_stored_rendered_once_and_adjustable(store):
    store.add_title("t", "T")
    art = store.add_artwork_image("t", (DATA / "astronaut.jpg").read_bytes(), name="a.jpg")
    crops = crop_artworks(store, [art], PLACEMENTS)[art.id]
    assert set(crops) == {p.name for p in PLACEMENTS}
    for placement in PLACEMENTS:
        crop = crops[placement.name]
        assert crop.serves
        rendered = cv2.imread(str(store.images.local_path(crop.path)))
        h, w = rendered.shape[:2]
        assert w * placement.ratio[1] == h * placement.ratio[0]
        assert crop.name.split(".")[0] in crop.path
    adjusted = adjust_crop(store, art.id, PLACEMENTS[3], (0, 0, 256, 256))
    assert adjusted.adjusted and adjusted.box == (0, 0, 256, 256)
    again = crop_artworks(store, [art], PLACEMENTS)[art.id]
    assert again["square"] == adjusted  # a person's crop is not proposed over
    assert again["tile"].path == crops["tile"].path  # same pixels, same content address
    paths = [store.images.local_path(c.path) for c in again.values()]
    store.delete_artwork(art.id)
    assert store.crops.for_artwork(art.id) == {} and not any(p.exists() for p in paths)


def test_a_refused_placement_is_stored_with_its_reason(store, astronaut):
    store.add_title("t", "T")
    art = store.add_artwork_image("t", encode_image(astronaut[40:210, 150:300]), name="c.jpg")
    crops = crop_artworks(store, [art], PLACEMENTS)[art.id]
    assert not crops["billboard"].serves and "faces span" in crops["billboard"].reason


def test_ingest_maps_the_faces_it_found_onto_the_stored_picture(store, astronaut):
    from vision.embed import ClassicEmbedder
    from vision.ingest import ingest_still

    store.add_title("t", "T")
    # Black bars on three sides: the faces were found on the picture without them.
    padded = cv2.copyMakeBorder(astronaut, 64, 64, 96, 0, cv2.BORDER_CONSTANT, value=(0, 0, 0))
    art = ingest_still(store, "t", "padded.jpg", encode_image(padded), embedder=ClassicEmbedder())
    faces = FaceDetector().detect(padded).boxes
    assert faces and art.quality["face_count"] >= 1
    for placement in PLACEMENTS:
        crop = store.crops.for_artwork(art.id)[placement.name]
        assert crop.serves, crop
        for face in faces:
            assert _inside(face, crop.box), (placement.name, face, crop.box)
            assert not _overlap(face, placement.safe_zone(crop.box)), (placement.name, face)


def test_video_ingest_crops_keep_the_faces_of_the_stored_frames(store, astronaut, pictures):
    from vision.embed import ClassicEmbedder
    from vision.ingest import ingest_video
    from vision.synthetic import ShotSpec, write_video

    store.add_title("t", "T")
    framed = cv2.copyMakeBorder(cv2.resize(astronaut, (960, 960)), 0, 0, 160, 160,
                                cv2.BORDER_CONSTANT, value=(0, 0, 0))  # a portrait, pillarboxed
    video = write_video(store.data_dir / "v.mp4", [ShotSpec(framed, 40), ShotSpec(pictures[1], 40)],
                        size=(640, 480), seed=1)
    report = ingest_video(store, "t", video.path, embedder=ClassicEmbedder(), max_candidates=4)
    detector, checked = FaceDetector(), 0
    for art in report.candidates:
        stored = cv2.imread(str(store.image_path(art)))
        faces = detector.detect(stored).boxes
        for placement in PLACEMENTS:
            crop = store.crops.for_artwork(art.id)[placement.name]
            if not crop.serves:
                assert crop.reason
                continue
            for face in faces:
                checked += 1
                assert _inside(face, crop.box), (placement.name, face, crop.box)
                assert not _overlap(face, placement.safe_zone(crop.box)), (placement.name, face)
    assert checked >= 2


def test_crops_of_pictures_in_memory_are_those_of_the_stored_files(store, tmp_path):
    from artwork.store import Store

    store.add_title("t", "T")
    arts = [store.add_artwork_image("t", (DATA / f"{name}.jpg").read_bytes(), name=f"{name}.jpg")
            for name in ("astronaut", "chelsea", "coffee")]
    pictures = {a.id: cv2.imread(str(store.image_path(a))) for a in arts}
    read = crop_artworks(store, arts, PLACEMENTS)
    other = Store.open(tmp_path / "other")
    try:
        other.add_title("t", "T")
        again = [other.add_artwork_image("t", (DATA / f"{name}.jpg").read_bytes(), name=f"{name}.jpg")
                 for name in ("astronaut", "chelsea", "coffee")]
        given = crop_artworks(other, again, PLACEMENTS, images=pictures)
    finally:
        other.close_all()
    assert [a.id for a in again] == [a.id for a in arts]
    assert given == read  # boxes, scores, reasons and the rendered files' content addresses
