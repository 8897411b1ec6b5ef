"""Faces for few-shot learning: the AT&T (ORL) database, or 40 synthetic subjects in the same file layout.

``data.load("orl_faces").data`` is a :class:`~pathlib.Path` to a folder holding ``s1/`` … ``s40/``, each with
``1.pgm`` … ``10.pgm`` (8-bit grey, 92 wide × 112 high), so one loader (``trends.siamese.load_images_ids``) reads
the real and the synthetic faces unchanged.

Real source: AT&T Laboratories Cambridge, "The Database of Faces" (``att_faces.zip``, 400 images of 40 subjects,
1992–1994). No checksum is published: the zip is checked for its layout on first use, its sha256 recorded, and it
is extracted beside itself.

Offline: :func:`synthetic_faces` draws 40 cartoon subjects (face shape, skin and hair tone, eye spacing and size,
nose, mouth, glasses, beard are fixed per subject) and 10 images of each (shift, tilt, scale, lighting, expression,
blink and noise vary per image), seeded, and writes them as PGM files under the cache folder.
"""
from __future__ import annotations

import shutil
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from .download import cache_dir
from .registry import DatasetSpec, register
from .sources import RemoteFile, Substitute, UrlSource

ORL_URL = "https://www.cl.cam.ac.uk/research/dtg/attarchive/pub/data/att_faces.zip"
ORL_MIRROR = "http://www.cl.cam.ac.uk/Research/DTG/attarchive/pub/data/att_faces.zip"
HEIGHT, WIDTH = 112, 92
N_SUBJECTS, IMAGES_PER_SUBJECT = 40, 10
SYNTHETIC_VERSION = 1


def _layout_complete(root: Path, n_subjects: int = N_SUBJECTS, per_subject: int = IMAGES_PER_SUBJECT) -> bool:
    """True when ``root/s{i}/{j}.pgm`` exists for every subject and image."""
    return all((root / f"s{i}" / f"{j}.pgm").is_file()
               for i in range(1, n_subjects + 1) for j in range(1, per_subject + 1))


def verify_orl_zip(path: Path) -> None:
    """``ValueError`` unless ``path`` is a zip holding ``s1/1.pgm`` … ``s40/10.pgm`` (any leading folder)."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = {"/".join(Path(name).parts[-2:]) for name in archive.namelist() if name.endswith(".pgm")}
    except (zipfile.BadZipFile, OSError) as error:
        raise ValueError(f"{path.name} is not a readable zip: {error}") from None
    missing = [f"s{i}/{j}.pgm" for i in range(1, N_SUBJECTS + 1) for j in range(1, IMAGES_PER_SUBJECT + 1)
               if f"s{i}/{j}.pgm" not in names]
    if missing:
        raise ValueError(f"{path.name} lacks {len(missing)} of the 400 face images, e.g. {missing[0]}")


def read_orl(paths: tuple[Path, ...]) -> Path:
    """Extract ``att_faces.zip`` once (beside it, into ``orl_faces/``) and return the folder holding ``s1…s40``."""
    target = paths[0].parent / "orl_faces"
    if not _layout_complete(target):
        with tempfile.TemporaryDirectory(dir=paths[0].parent) as temporary, zipfile.ZipFile(paths[0]) as archive:
            for name in archive.namelist():
                parts = Path(name).parts
                if name.endswith(".pgm") and len(parts) >= 2 and parts[-2].startswith("s"):
                    destination = Path(temporary) / parts[-2] / parts[-1]
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    destination.write_bytes(archive.read(name))
            shutil.rmtree(target, ignore_errors=True)
            shutil.move(temporary, target)
            Path(temporary).mkdir()  # so TemporaryDirectory's clean-up finds a folder to remove
    return target


def _subject_traits(rng: np.random.Generator) -> dict:
    """Identity of one synthetic subject (fixed over its 10 images)."""
    return dict(
        face_width=rng.uniform(26, 36), face_height=rng.uniform(38, 48), skin=rng.uniform(110, 210),
        hair=rng.uniform(15, 95), hair_line=rng.uniform(0.35, 0.75), background=rng.uniform(40, 230),
        eye_spacing=rng.uniform(9, 17), eye_size=rng.uniform(2.2, 4.5), eye_height=rng.uniform(-12, -4),
        nose_length=rng.uniform(6, 15), nose_width=rng.uniform(2, 5), mouth_width=rng.uniform(6, 16),
        mouth_height=rng.uniform(14, 24), brow=rng.uniform(0, 2.5), glasses=rng.random() < 0.3,
        beard=rng.random() < 0.2, ear=rng.uniform(3, 7))


def _smooth(distance: np.ndarray) -> np.ndarray:
    """Soft inside-mask from a signed distance (negative inside), 1-pixel anti-aliasing."""
    return np.clip(0.5 - distance, 0.0, 1.0)


def _ellipse(x: np.ndarray, y: np.ndarray, cx: float, cy: float, rx: float, ry: float) -> np.ndarray:
    """Soft mask of an axis-aligned ellipse (approximate signed distance in pixels)."""
    return _smooth((np.sqrt(((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2) - 1.0) * min(rx, ry))


def render_face(traits: dict, rng: np.random.Generator) -> np.ndarray:
    """One uint8 ``(112, 92)`` image of the subject ``traits`` under a random pose, light and expression."""
    angle = np.deg2rad(rng.uniform(-10, 10))
    scale = rng.uniform(0.92, 1.08)
    dx, dy = rng.uniform(-5, 5), rng.uniform(-5, 5)
    rows, cols = np.mgrid[0:HEIGHT, 0:WIDTH].astype("float64")
    u, v = (cols - WIDTH / 2 - dx) / scale, (rows - HEIGHT / 2 - 4 - dy) / scale
    x = np.cos(angle) * u + np.sin(angle) * v
    y = -np.sin(angle) * u + np.cos(angle) * v
    t = traits
    image = np.full((HEIGHT, WIDTH), t["background"])
    hair = _ellipse(x, y, 0, -6, t["face_width"] + 4, t["face_height"] + 4) * (y < t["hair_line"] * 10 - 8)
    image = image * (1 - hair) + t["hair"] * hair
    ears = _ellipse(x, y, -t["face_width"], 0, t["ear"], 2 * t["ear"]) + _ellipse(x, y, t["face_width"], 0, t["ear"], 2 * t["ear"])
    face = np.clip(_ellipse(x, y, 0, 0, t["face_width"], t["face_height"]) + ears, 0, 1)
    image = image * (1 - face) + t["skin"] * face
    fringe = _ellipse(x, y, 0, -t["face_height"], t["face_width"] * 1.05, t["face_height"] * t["hair_line"])
    image = image * (1 - fringe) + t["hair"] * fringe
    if t["beard"]:
        beard = _ellipse(x, y, 0, t["face_height"] * 0.6, t["face_width"] * 0.8, t["face_height"] * 0.45) * face
        image = image * (1 - beard) + (t["hair"] + 20) * beard
    blink = 0.25 if rng.random() < 0.15 else 1.0
    for side in (-1, 1):
        ex, ey = side * t["eye_spacing"], t["eye_height"]
        white = _ellipse(x, y, ex, ey, t["eye_size"] * 1.8, t["eye_size"] * blink)
        pupil = _ellipse(x, y, ex + rng.uniform(-1, 1), ey, t["eye_size"] * 0.7, t["eye_size"] * 0.7 * blink)
        image = image * (1 - white) + 235 * white
        image = image * (1 - pupil) + 20 * pupil
        brow = _ellipse(x, y, ex, ey - t["eye_size"] - 3, t["eye_size"] * 2, 0.8 + t["brow"])
        image = image * (1 - brow) + t["hair"] * brow
        if t["glasses"]:
            rim = np.abs(np.sqrt(((x - ex) / (t["eye_size"] * 2.4)) ** 2 + ((y - ey) / (t["eye_size"] * 2.0)) ** 2) - 1)
            frame = _smooth(rim * t["eye_size"] * 2 - 0.6)
            image = image * (1 - frame) + 25 * frame
    nose = _smooth(np.maximum(np.abs(x) - t["nose_width"] * (y - t["eye_height"]) / t["nose_length"],
                              np.abs(y - t["eye_height"] - t["nose_length"] / 2) - t["nose_length"] / 2))
    image = image * (1 - 0.35 * nose) + 0.35 * nose * (t["skin"] * 0.6)
    smile = rng.uniform(-0.06, 0.12)
    mouth_curve = t["mouth_height"] + smile * x ** 2 * 10 / t["mouth_width"] - smile * t["mouth_width"]
    mouth = _smooth(np.maximum(np.abs(y - mouth_curve) - 1.2 - rng.uniform(0, 1.5), np.abs(x) - t["mouth_width"]))
    image = image * (1 - mouth) + 60 * mouth
    light = rng.uniform(-0.35, 0.35) * (cols - WIDTH / 2) / WIDTH + rng.uniform(0.85, 1.1)
    image = image * light + rng.normal(0, 6, image.shape)
    return np.clip(np.rint(image), 0, 255).astype("uint8")


def synthetic_face_arrays(*, n_subjects: int = N_SUBJECTS, images_per_subject: int = IMAGES_PER_SUBJECT,
                          seed: int = 0) -> np.ndarray:
    """uint8 ``(n_subjects, images_per_subject, 112, 92)``; subject ``i`` uses ``default_rng([seed, i])``."""
    for name, value, high in (("n_subjects", n_subjects, 400), ("images_per_subject", images_per_subject, 100)):
        if isinstance(value, bool) or not isinstance(value, int) or not 2 <= value <= high:
            raise ValueError(f"{name} must be an integer in [2, {high}]; got {value!r}")
    faces = np.empty((n_subjects, images_per_subject, HEIGHT, WIDTH), dtype="uint8")
    for subject in range(n_subjects):
        rng = np.random.default_rng([seed, subject])
        traits = _subject_traits(rng)
        for image in range(images_per_subject):
            faces[subject, image] = render_face(traits, rng)
    return faces


def synthetic_faces(*, n_subjects: int = N_SUBJECTS, images_per_subject: int = IMAGES_PER_SUBJECT,
                    seed: int = 0, root: Path | str | None = None) -> Path:
    """Write the synthetic faces as ``s{i}/{j}.pgm`` (1-based, like ORL) and return the folder.

    Default folder: ``$CHAPTERS_DATA_DIR/orl_faces_synthetic-v1-<subjects>x<images>-seed<seed>``; an existing
    complete folder is reused (the images are deterministic). Files are written to a temporary folder first and
    moved into place, so an interrupted run never leaves a partial set behind.
    """
    from PIL import Image

    faces = None
    name = f"orl_faces_synthetic-v{SYNTHETIC_VERSION}-{n_subjects}x{images_per_subject}-seed{seed}"
    target = Path(root) if root is not None else cache_dir() / name
    if _layout_complete(target, n_subjects, images_per_subject):
        return target
    faces = synthetic_face_arrays(n_subjects=n_subjects, images_per_subject=images_per_subject, seed=seed)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    try:
        for subject in range(n_subjects):
            folder = temporary / f"s{subject + 1}"
            folder.mkdir()
            for image in range(images_per_subject):
                Image.fromarray(faces[subject, image], mode="L").save(folder / f"{image + 1}.pgm")
        shutil.rmtree(target, ignore_errors=True)
        shutil.move(str(temporary), str(target))
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    return target


def register_faces() -> None:
    """Register ``orl_faces`` (AT&T zip when online/cached; synthetic PGM faces offline)."""
    register(DatasetSpec(
        name="orl_faces", description="AT&T/ORL Database of Faces: 40 subjects × 10 grey images, 92×112 PGM",
        structure="pathlib.Path of a folder with s1/ … s40/, each 1.pgm … 10.pgm (uint8 grey, 112 high × 92 "
                  "wide); substitute kwargs: n_subjects=40, images_per_subject=10, seed=0",
        source=UrlSource((RemoteFile(ORL_URL, "att_faces.zip", None, "chapters", (ORL_MIRROR,), verify_orl_zip),),
                         read_orl, "AT&T Laboratories Cambridge, The Database of Faces (att_faces.zip, 400 PGM)"),
        substitute=Substitute(synthetic_faces, "40 synthetic cartoon subjects × 10 images (pose, light, "
                              "expression vary), seeded, written as s{i}/{j}.pgm 92×112 in the cache folder")),
        replace=True)
