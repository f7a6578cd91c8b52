#!/usr/bin/env bash
# Re-measure every figure of docs/performance.md, for this version and the version before work on
# issue 13 began, side by side in one run on one machine; then write the page from the JSON.
#
#   scripts/benchmarks.sh                 # about 10 minutes here
#   LSI_EDGE_BENCH_REPEATS=5 scripts/benchmarks.sh
#   LSI_EDGE_BENCH_SCENES=0 scripts/benchmarks.sh    # skip the scripted classrooms (no FER2013 here)
#
# The older versions run from temporary git worktrees with this checkout's virtual environment.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
baseline=${LSI_EDGE_BASELINE:-b16c93c}         # last commit before work on issue 13 began
scenes_baseline=${LSI_EDGE_SCENES_BASELINE:-b57559b}  # last commit before the detection schedule
repeats=${LSI_EDGE_BENCH_REPEATS:-3}
shared="${LSI_EDGE_SHARED:-$repo/../shared}"
lecture="$shared/videos/lecture_hall_front.mp4"
python="$repo/.venv/bin/python"
out=docs/performance
[ -x "$python" ] || { echo "no .venv: run the README's set-up command first" >&2; exit 1; }
[ -f "$lecture" ] || { echo "missing $lecture (the shared folder)" >&2; exit 1; }

work=$(mktemp -d)
cleanup() {
    for tree in "$work/baseline" "$work/scenes-baseline"; do
        if [ -d "$tree" ]; then git worktree remove --force "$tree" >/dev/null 2>&1 || true; fi
    done
    rm -rf "$work"
}
trap cleanup EXIT
git worktree add --detach "$work/baseline" "$baseline" >/dev/null 2>&1
rm -rf "$out" && mkdir -p "$out"

# edge VERSION ARGS...: the lsi-edge command of one version (current | baseline | scenes-baseline)
edge() {
    local version=$1; shift
    if [ "$version" = current ]; then
        "$python" -m edge.cli "$@"
    else
        (cd "$work/$version" && PYTHONPATH="$work/$version" "$python" -m edge.cli "$@")
    fi
}
step() { echo "[$(date +%H:%M:%S)] $*" >&2; }

for run in $(seq 1 "$repeats"); do
    for version in baseline current; do  # interleaved: both versions see the same machine load
        step "run $run/$repeats: $version on the lecture clip and the demo"
        edge $version bench --source "$lecture" --max-frames 149 2>/dev/null > "$out/pipeline-lecture-$version-run$run.json"
        edge $version bench --source demo:1280x720:18:30 --max-frames 300 2>/dev/null \
            > "$out/pipeline-demo-$version-run$run.json"
    done
done

step "Pi budget: the lecture clip looped, at the default 8 fps and with config/raspberry-pi.yaml"
loop_cfg="$work/loop.yaml"
printf 'source:\n  loop: true\n' > "$loop_cfg"
edge current bench --config "$loop_cfg" --source "$lecture" --fps 8 --max-frames 240 2>/dev/null \
    > "$out/pi-budget-lecture-defaults.json"
pi_cfg="$work/pi.yaml"
{ cat config/raspberry-pi.yaml; printf 'source:\n  loop: true\n'; } > "$pi_cfg"
edge current bench --config "$pi_cfg" --source "$lecture" --fps 5 --max-frames 150 2>/dev/null \
    > "$out/pi-budget-lecture-raspberry-pi.json"
step "classifier latency, detections on the lecture clip, demo truth, illumination"
edge current bench --classifier --seconds 3 2>/dev/null > "$out/classifier.json"
edge current bench --detections --source "$lecture" 2>/dev/null > "$out/detections-lecture.json"
edge current bench --demo-truth --source demo:1280x720:16:60 2>/dev/null > "$out/demo-truth.json"
if [ -f "$shared/data/fer2013.npz" ]; then
    edge current bench --illumination 2>/dev/null > "$out/illumination.json"
fi

if [ "${LSI_EDGE_BENCH_SCENES:-1}" != 0 ] && [ -f "$shared/data/fer2013.npz" ]; then
    git worktree add --detach "$work/scenes-baseline" "$scenes_baseline" >/dev/null 2>&1
    # The scenes are the measuring instrument: both versions play this checkout's classrooms (its
    # generator and face bank), so the comparison is over the same pixels and the same truth.
    rm -rf "$work/scenes-baseline/edge/scenes"
    cp -r edge/scenes "$work/scenes-baseline/edge/scenes"
    cp edge/datasets.py "$work/scenes-baseline/edge/datasets.py"
    # Both versions read faces with this checkout's expression model, so the comparison shows what
    # detection, tracking and the schedule changed, not what a newer model changed.
    model=$("$python" -c "from edge.config import load_config; print(load_config(None, {}).classifier.model_path)")
    for version in scenes-baseline current; do
        step "scripted classrooms: $version (the first run renders the scenes into the cache)"
        edge $version eval --scenario all --no-ablations --no-sweep --data-dir "$shared" --model "$model" \
            --page "$work/$version-evaluation.md" \
            >/dev/null 2>"$work/$version-eval.log" || { tail -20 "$work/$version-eval.log" >&2; exit 1; }
        cp "$work/$version-evaluation/results.json" "$out/scenes-${version#scenes-}.json"
    done
fi

"$python" - "$out/meta.json" "$baseline" "$scenes_baseline" "$repeats" <<'EOF'
import json, os, platform, subprocess, sys, datetime
path, baseline, scenes_baseline, repeats = sys.argv[1:]
def label(rev):
    line = subprocess.run(["git", "log", "-1", "--format=%h (%cs): %s", rev], capture_output=True, text=True).stdout
    return line.strip()[:110]
dirty = subprocess.run(["git", "status", "--porcelain", "--", "edge", "config", "models"], capture_output=True,
                       text=True).stdout.strip()
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.machine())
json.dump({"date": datetime.date.today().isoformat(),
           "machine": f"{os.cpu_count()} × {cpu}, Python {platform.python_version()}",
           "repeats": int(repeats),
           "current": {"label": label("HEAD") + (" + uncommitted changes" if dirty else "")},
           "baseline": {"label": label(baseline)},
           "scenes_baseline": {"label": label(scenes_baseline)}}, open(path, "w"), indent=2)
EOF
"$python" -m edge.evaluation.performance "$out" docs/performance.md
step "written: docs/performance.md and the JSON in $out"
