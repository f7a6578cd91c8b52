"""Privacy: a run writes no image (or video, or array) file anywhere on the machine."""

import os
import time

from tests.test_run_cli import run_cli, windows_of

MAGIC = {b"\x89PNG": "PNG", b"\xff\xd8\xff": "JPEG", b"GIF8": "GIF", b"BM": "BMP", b"II*\x00": "TIFF",
         b"MM\x00*": "TIFF", b"\x93NUMPY": "numpy array", b"\x1aE\xdf\xa3": "Matroska/WebM", b"P6\n": "PPM",
         b"P5\n": "PGM"}
SKIP = ("/proc", "/sys", "/dev", "/run")


def _kind(path: str) -> str | None:
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


def _new_files(since: float) -> list[str]:
    found = []
    for root, dirs, files in os.walk("/"):
        if root.startswith(SKIP):
            dirs[:] = []
            continue
        for name in files:
            path = os.path.join(root, name)
            try:
                stat = os.lstat(path)
            except OSError:
                continue
            if stat.st_mtime >= since and os.path.isfile(path):
                found.append(path)
    return found


def test_a_run_writes_no_image_file_anywhere(tmp_path, shared):
    video = shared / "videos" / "lecture_hall_front.mp4"
    source = str(video) if video.is_file() else "demo:1280x720:8:12"
    started = time.time() - 1.0
    result = run_cli("run", "--source", source, "--print", "--no-realtime",
                     env={"HOME": str(tmp_path), "TMPDIR": str(tmp_path)}, cwd=tmp_path)
    windows = windows_of(result)
    assert windows and any(w["faces"] > 0 for w in windows)  # faces were really processed
    written = [(path, _kind(path)) for path in _new_files(started)]
    images = [(path, kind) for path, kind in written if kind]
    assert not images, f"image-like files written during the run: {images}"
