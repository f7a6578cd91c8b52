#!/usr/bin/env bash
# Re-measure every figure quoted in docs/performance.md; JSON goes to docs/performance/.
# Run on an otherwise idle machine: the figures are wall-clock.
set -euo pipefail
cd "$(dirname "$0")/.."
out=docs/performance
mkdir -p "$out"
edge=".venv/bin/lsi-edge"
shared="${LSI_EDGE_SHARED:-../shared}"
quiet() { "$@" 2>/dev/null; }

quiet $edge bench --classifier --seconds 3                                   > "$out/classifier.json"
quiet $edge bench --source demo:1280x720:18:30 --max-frames 300              > "$out/pipeline-demo-all-tiles.json"
quiet $edge bench --source demo:1280x720:18:30 --max-frames 300 --tiles-per-frame 3 > "$out/pipeline-demo-3-tiles.json"
quiet $edge bench --source "$shared/videos/lecture_hall_front.mp4" --max-frames 149 > "$out/pipeline-lecture-all-tiles.json"
quiet $edge bench --source "$shared/videos/lecture_hall_front.mp4" --max-frames 149 --tiles-per-frame 3 > "$out/pipeline-lecture-3-tiles.json"
quiet $edge bench --detections --source "$shared/videos/lecture_hall_front.mp4" > "$out/detections-lecture.json"
quiet $edge bench --demo-truth --source demo:1280x720:16:60                  > "$out/demo-truth-all-tiles.json"
quiet $edge bench --demo-truth --source demo:1280x720:16:60 --tiles-per-frame 3 > "$out/demo-truth-3-tiles.json"
quiet $edge bench --illumination                                             > "$out/illumination.json"
echo "written: $(ls $out)"
