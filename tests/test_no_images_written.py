"""Privacy: a run writes no image, video or array file. What the appliance writes is traced by a
Python audit hook in its own process (tests/audited_cli.py); the folders it was given (home,
temporary files, working and data directory: all under this test's folder) are checked too,
for writes by native code."""

import json
import os
from pathlib import Path

from tests.test_run_cli import run_cli, windows_of

MAGIC = {b"\x89PNG": "PNG", b"\xff\xd8\xff": "JPEG", b"GIF8": "GIF", b"BM": "BMP", b"II*\x00": "TIFF",
         b"MM\x00*": "TIFF", b"\x93NUMPY": "numpy array", b"\x1aE\xdf\xa3": "Matroska/WebM", b"P6\n": "PPM",
         b"P5\n": "PGM"}


def _kind(path: Path) -> str | None:
    try:
        with open(path, "rb") as handle:
            head = handle.read(12)
    except OSError:
        return None
    if head[4:8] == b"ftyp":
        return "MP4/QuickTime"
    if head[:4] == b"RIFF" and head[8:12] in (b"WEBP", b"AVI "):
        return head[8:12].decode().strip()
    return next((kind for magic, kind in MAGIC.items() if head.startswith(magic)), None)


def test_a_run_writes_no_image_file(tmp_path, shared):
    video = shared / "videos" / "lecture_hall_front.mp4"
    source = str(video) if video.is_file() else "demo:1280x720:8:12"
    audit_log = tmp_path / "audit.json"
    result = run_cli(tmp_path, "run", "--source", source, "--print", "--no-realtime", audited=audit_log)
    windows = windows_of(result)
    assert windows and any(w["faces"] > 0 for w in windows)  # faces were really processed

    written = json.loads(audit_log.read_text())
    outside = sorted({path for path in written if not path.startswith(str(tmp_path) + os.sep)})
    assert not outside, f"the appliance wrote outside its folders: {outside}"
    traced = {Path(path) for path in written}
    on_disk = {path for path in tmp_path.rglob("*") if path.is_file() and path != audit_log}
    images = sorted((str(path), kind) for path in traced | on_disk if (kind := _kind(path)))
    assert not images, f"image-like files written during the run: {images}"
