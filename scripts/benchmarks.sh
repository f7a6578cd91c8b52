#!/usr/bin/env bash
# Re-measure every figure quoted in docs/performance.md; JSON goes to docs/performance/.
# Run on an otherwise idle machine: the figures are wall-clock.
set -euo pipefail
cd "$(dirname "$0")/.."
out=docs/performance
rm -rf "$out" && mkdir -p "$out"
edge=".venv/bin/lsi-edge"
lecture="${LSI_EDGE_SHARED:-../shared}/videos/lecture_hall_front.mp4"
quiet() { "$@" 2>/dev/null; }

quiet $edge bench --classifier --seconds 3                                        > "$out/classifier.json"
# default schedule (4 tiles per frame, round-robin) and every tile on every frame
quiet $edge bench --source demo:1280x720:18:30 --max-frames 300                   > "$out/pipeline-demo-default.json"
quiet $edge bench --source demo:1280x720:18:30 --max-frames 300 --tiles-per-frame 0 > "$out/pipeline-demo-all-tiles.json"
quiet $edge bench --source "$lecture" --max-frames 149                            > "$out/pipeline-lecture-default.json"
quiet $edge bench --source "$lecture" --max-frames 149 --tiles-per-frame 0        > "$out/pipeline-lecture-all-tiles.json"
quiet $edge bench --detections --source "$lecture"                                > "$out/detections-lecture.json"
quiet $edge bench --demo-truth --source demo:1280x720:16:60                       > "$out/demo-truth-default.json"
quiet $edge bench --demo-truth --source demo:1280x720:16:60 --tiles-per-frame 0   > "$out/demo-truth-all-tiles.json"
quiet $edge bench --illumination                                                  > "$out/illumination.json"
echo "written: $(ls $out | tr '\n' ' ')"
