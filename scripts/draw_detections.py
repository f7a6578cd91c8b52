#!/usr/bin/env python3
"""Developer check, never part of the product: runs the appliance's detection schedule over a
video and draws the confirmed faces of a few frames into a temporary folder, to judge by eye
that no false faces are found. The product itself never writes a frame.

    .venv/bin/python scripts/draw_detections.py ../shared/videos/lecture_hall_front.mp4 [--frames 30,75,140]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from edge.capture.capture import Capture  # noqa: E402
from edge.config import load_config  # noqa: E402
from edge.pipeline import Pipeline  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video")
    parser.add_argument("--frames", default="30,75,140", help="frame indices to draw")
    parser.add_argument("--out", type=Path, help="folder for the drawings (default: a new temporary folder)")
    args = parser.parse_args()
    wanted = {int(i) for i in args.frames.split(",")}
    out = args.out or Path(tempfile.mkdtemp(prefix="lsi-detections-"))
    out.mkdir(parents=True, exist_ok=True)
    cfg = load_config(None)
    cfg = cfg.model_copy(update={"source": cfg.source.model_copy(update={"uri": args.video, "loop": False})})
    drawn = {}

    def observe(detections, update, states):
        drawn[pipeline.stats.frames - 1] = ([r.box for r in update.readings], [d.box for d in detections])

    pipeline = Pipeline(cfg, None, [], observer=observe)  # attention mode: no expression model needed
    images = {}
    source = Capture(cfg.source, fps=60.0, realtime=False)
    original = source.frames

    def keep():
        for frame in original():
            if any(0 <= frame.index - w < 16 for w in wanted):  # the next tracker update may come a few frames later
                images[frame.index] = frame.image.copy()
            yield frame

    source.frames = keep
    pipeline.run(source)
    for index in sorted(wanted):
        updates = [i for i in drawn if i >= index]
        if not updates or updates[0] not in images:
            continue
        at = updates[0]
        image = images[at]
        confirmed, found = drawn[at]
        for box in found:
            cv2.rectangle(image, tuple(map(int, box[:2])), tuple(map(int, box[2:])), (0, 200, 255), 1)
        for box in confirmed:
            cv2.rectangle(image, tuple(map(int, box[:2])), tuple(map(int, box[2:])), (0, 255, 0), 2)
        cv2.putText(image, f"frame {at}: {len(confirmed)} confirmed (green), {len(found)} detected (orange)",
                    (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 255), 2)
        path = out / f"frame-{at:05d}.png"
        cv2.imwrite(str(path), image)
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
