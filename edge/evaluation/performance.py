"""docs/performance.md from the JSON that scripts/benchmarks.sh writes: nothing on the page is typed by hand.

    python -m edge.evaluation.performance docs/performance docs/performance.md
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

from edge.config import DetectionConfig

# Single-core slowdown of a Raspberry Pi 5 (Cortex-A76, 2.4 GHz) against the development machine
# for XNNPACK inference and OpenCV, assumed (no Pi here): published int8/fp32 TFLite benchmarks put
# a Pi 5 core at roughly a third of a recent x86 core.
PI5_CPU_FACTOR = 3.0
STAGES = ("capture", "detect", "track", "preprocess", "classify", "smooth_index")


def _load(folder: Path, name: str):
    path = folder / f"{name}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def _runs(folder: Path, stem: str) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(folder.glob(f"{stem}-run*.json"))]


def _median(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def _table(header: list[str], rows: list[list]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join("–" if v is None else str(v) for v in row) + " |" for row in rows]
    return lines + [""]


def _pipeline_section(folder: Path, meta: dict) -> list[str]:
    lines = ["## This version against the version before (same run, same machine)", "",
             f"`lsi-edge bench` on each source, {meta['repeats']} runs of each version interleaved (medians; "
             "a ratio measured in one run holds on a noisy machine, an absolute time does not). Every "
             "frame of the source is processed, as fast as it goes, with each version's default settings.", ""]
    rows, stage_rows, ratio_rows = [], [], []
    for source, label in (("lecture", "`lecture_hall_front.mp4` (1280×720, 30 fps, 149 frames)"),
                          ("demo", "demo classroom (1280×720, 18 students, 300 frames)")):
        for version in ("baseline", "current"):
            runs = _runs(folder, f"pipeline-{source}-{version}")
            if not runs:
                continue
            name = meta[version]["label"].split(" ")[0]
            rows.append([label, name, f"{_median(runs, 'end_to_end_fps'):.1f}",
                         f"{_median(runs, 'confirmed_faces_mean'):.1f}", f"{_median(runs, 'classify_ms_per_face'):.2f}",
                         f"{_median(runs, 'cpu_percent'):.0f}", f"{max(r['peak_rss_mb'] for r in runs):.0f} MB"])
            stage_rows.append([label, name] + [f"{statistics.median(r['ms_per_frame'][s] for r in runs):.2f}"
                                               for s in STAGES])
        base, cur = _runs(folder, f"pipeline-{source}-baseline"), _runs(folder, f"pipeline-{source}-current")
        if base and cur:
            ratio_rows.append([label, f"**{_median(cur, 'end_to_end_fps') / _median(base, 'end_to_end_fps'):.2f}×**",
                               f"{_median(cur, 'classify_ms_per_face') / _median(base, 'classify_ms_per_face'):.2f}",
                               f"{_median(cur, 'confirmed_faces_mean') - _median(base, 'confirmed_faces_mean'):+.1f}"])
    lines += _table(["source", "version", "end-to-end fps", "confirmed faces", "classify ms/face", "CPU % (1 core)",
                     "peak RSS"], rows)
    lines += ["Ratios (this version / before):", ""]
    lines += _table(["source", "end-to-end fps", "classify ms per face", "confirmed faces (difference)"], ratio_rows)
    lines += ["Milliseconds per processed frame, by stage:", ""]
    lines += _table(["source", "version", *STAGES], stage_rows)
    return lines


def _scenes_section(folder: Path, meta: dict) -> list[str]:
    base, cur = _load(folder, "scenes-baseline"), _load(folder, "scenes-current")
    if not (base and cur):
        return []
    lines = ["## The index on the scripted classrooms, before and after", "",
             "`lsi-edge eval --scenario all --no-ablations --no-sweep` (docs/evaluation.md) for both versions "
             f"in this run; the baseline here is {meta['scenes_baseline']['label'].split(' ')[0]}, the last commit "
             "before the detection schedule (the commits between the version above and it changed the index, "
             "not detection), so that only the detection changes are compared. Both versions read faces with "
             f"the same expression model, this version's `{cur.get('model', '?')}`, and play the same classrooms, "
             "this version's (its scene generator and face bank), so both are measured on the same pixels and "
             "truth.", ""]
    rows = []
    for label, getter, digits in (
            ("recall ≤ 20 px", lambda o: o["detection"]["recall"]["≤20"], 3),
            ("recall 20–30 px", lambda o: o["detection"]["recall"]["20–30"], 3),
            ("recall 30–50 px", lambda o: o["detection"]["recall"]["30–50"], 3),
            ("recall > 50 px", lambda o: o["detection"]["recall"][">50"], 3),
            ("precision", lambda o: o["detection"]["precision"]["all"], 3),
            ("IDF1", lambda o: o["tracking"]["idf1"], 3),
            ("window LSI slope", lambda o: o["windows"]["lsi_slope"], 3),
            ("window LSI MAE", lambda o: o["windows"]["lsi_mae"], 2),
            ("window LSI r", lambda o: o["windows"]["lsi_r"], 3),
            ("class-share MAE", lambda o: o["windows"]["share_mae"], 4),
            ("attention MAE", lambda o: o["windows"]["attention_mae"], 4),
            ("flips per face-minute", lambda o: o["flips"]["flips_per_minute"], 2),
            ("lag (s)", lambda o: o["lag"]["lag_seconds"], 2)):
        values = []
        for result in (base, cur):
            try:
                values.append(round(getter(result["overall"]), digits))
            except (KeyError, TypeError):
                values.append(None)
        change = (f"{values[1] - values[0]:+.{digits}f}" if None not in values else "–")
        rows.append([label, values[0], values[1], change])
    lines += _table(["figure", meta["scenes_baseline"]["label"].split(" ")[0], meta["current"]["label"].split(" ")[0],
                     "change"], rows)
    return lines


def _pi_section(folder: Path) -> list[str]:
    runs = [(label, _load(folder, f"pi-budget-lecture-{name}")) for name, label in
            (("defaults", "defaults (config/default.yaml)"), ("raspberry-pi", "config/raspberry-pi.yaml"))]
    runs = [(label, run) for label, run in runs if run]
    if not runs:
        return []
    lines = ["## Raspberry Pi 5: per-stage budget (on paper)", "",
             "No Pi is available here. Measured: `lsi-edge bench --fps N` on `lecture_hall_front.mp4` looped, "
             "processed at the appliance's rate in video time, with the default settings and with "
             "`config/raspberry-pi.yaml`. Estimated for a Pi 5 with a stated single-core factor of "
             f"{PI5_CPU_FACTOR:g}× (an assumption, not a measurement: rerun this script on the device). "
             "Capture here is software H.264 decoding of every frame of a 30 fps file, grabbed frames "
             "included; a camera delivering frames at the processing rate costs less.", ""]
    header = ["stage"]
    for label, run in runs:
        header += [f"{label}: ms per frame here ({run['processing_fps']:g} fps)", f"Pi 5 estimate (× {PI5_CPU_FACTOR:g})"]
    rows = []
    for stage in STAGES + ("all stages",):
        row = [f"**{stage}**" if stage == "all stages" else stage]
        for _, run in runs:
            ms = sum(run["ms_per_frame"].values()) if stage == "all stages" else run["ms_per_frame"][stage]
            row += [f"{ms:.2f}", f"{ms * PI5_CPU_FACTOR:.1f} of {1000.0 / run['processing_fps']:.0f}"
                    if stage == "all stages" else f"{ms * PI5_CPU_FACTOR:.1f}"]
        rows.append(row)
    lines += _table(header, rows)
    for label, run in runs:
        share = 100.0 * sum(run["ms_per_frame"].values()) * PI5_CPU_FACTOR * run["processing_fps"] / 1000.0
        lines.append(f"- {label}: about **{share:.0f} %** of one Pi 5 core at {run['processing_fps']:g} fps "
                     f"({run['confirmed_faces_mean']:.1f} faces present, each read "
                     f"{run['updates_per_face_per_second_of_source']:g} times a second). The pipeline is one "
                     "thread (the classifier may use a second); a Pi 5 has four cores.")
    return lines + [""]


def _detection_section(folder: Path) -> list[str]:
    lines = []
    counts = _load(folder, "detections-lecture")
    if counts:
        lines += ["## Detection: faces found per frame of the lecture clip", "",
                  "`lsi-edge bench --detections`: one discovery sweep of every processed frame (and a tile around "
                  "each face found), for several tile plans. No ground truth exists for this clip; "
                  "`scripts/draw_detections.py` draws what the appliance confirms, to check by eye.", ""]
        rows = [[key.replace("_", " "), value["tiles"], value["faces_per_frame_mean"], value["faces_per_frame_min"],
                 value["faces_per_frame_max"]] for key, value in counts.items() if isinstance(value, dict)]
        lines += _table(["plan", "tiles", "faces per frame (mean)", "min", "max"], rows)
    truth = _load(folder, "demo-truth")
    if truth:
        lines += ["## Detection and tracking on the demo classroom (known truth)", "",
                  f"`lsi-edge bench --demo-truth`: {truth['scene']}, processed at {truth['processing_fps']:g} fps.", ""]
        lines += _table(["visible faces", "recall", "head-down recall", "false positives per update", "id switches",
                         "re-entries (new id, by design)"],
                        [[truth["visible_faces"], truth["recall"], truth["head_down_recall"],
                          truth["false_positives_per_update"], truth["id_switches"], truth["re_entries"]]])
    return lines


def _classifier_section(folder: Path) -> list[str]:
    latency = _load(folder, "classifier")
    if not latency:
        return []
    lines = ["## Expression classifier", "", "`lsi-edge bench --classifier` (the shipped INT8 model, XNNPACK):", ""]
    rows = [[r["threads"], r["batch"], r["ms_per_call_median"], r["ms_per_face"]] for r in latency["classifier"]]
    return lines + _table(["threads", "batch", "ms per call (median)", "ms per face"], rows)


def _illumination_section(folder: Path) -> list[str]:
    result = _load(folder, "illumination")
    if not result:
        return []
    lines = ["## Illumination normalisation", "",
             "`lsi-edge bench --illumination`: PublicTest accuracy of the shipped model when every crop goes "
             "through each normaliser first (`classifier.illumination`):", ""]
    rows = [[name, value] for name, value in result.items() if isinstance(value, (int, float))]
    return lines + _table(["normaliser", "PublicTest accuracy"], rows)


def write_page(folder: Path, page: Path) -> None:
    meta = json.loads((folder / "meta.json").read_text())
    lines = ["# Performance", "",
             "Every figure on this page comes from one run of `scripts/benchmarks.sh` (JSON in "
             "[`docs/performance/`](performance/)); the page is written from that JSON by "
             "`python -m edge.evaluation.performance`. Rerun it on your machine.", "",
             f"- measured {meta['date']} on {meta['machine']}",
             f"- this version: {meta['current']['label']}",
             f"- before: {meta['baseline']['label']} — the last commit before work on camera coverage and "
             "speed (issue 13) began, run from a git worktree with the same virtual environment",
             f"- scripted classrooms compared with {meta['scenes_baseline']['label']}", ""]
    lines += _pipeline_section(folder, meta)
    detection = DetectionConfig()
    lines += ["### How the detection cost follows the faces", "",
              f"Detection runs in cycles of source time (`detection.updates_per_second`, default "
              f"{detection.updates_per_second:g}): in each cycle every known face is read by the expression model. "
              f"Every `detection.redetect_every` ({detection.redetect_every}) cycles the detector looks for each "
              "known face again in a tile around it at its own scale (BlazeFace short-range at 128 px, the face "
              "near 32 px of it; neighbours share a tile); in between its last position is carried. A slice of "
              "the discovery sweep looks for new faces: tiles of "
              f"{' and '.join(f'{side} px' for side in detection.tile_sizes)} and the whole frame (full-range "
              f"model), every tile once per `detection.sweep_seconds` ({detection.sweep_seconds:g} s), all at "
              "once after start and after a scene cut, and tiles whose pixels have not changed since their last "
              "reading skipped. The tracker is updated once per cycle and the faces of a cycle are classified in "
              "one batch. Work per second of video is therefore set by the number of faces and the update rate, "
              "not by the camera's frame rate.", ""]
    lines += _scenes_section(folder, meta)
    lines += _detection_section(folder)
    lines += _classifier_section(folder)
    lines += _illumination_section(folder)
    lines += _pi_section(folder)
    page.write_text("\n".join(lines).rstrip() + "\n")


if __name__ == "__main__":
    write_page(Path(sys.argv[1]), Path(sys.argv[2]))
