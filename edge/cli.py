"""`lsi-edge` command line."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from edge import __version__
from edge.capture.sources import SourceError
from edge.paths import MODELS_DIR, REPO_ROOT, shared_dir
from lsi_contract.logs import LEVELS, setup_logging

log = logging.getLogger("lsi_edge")


def _add_logging_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--log-level", choices=LEVELS, default="info",
                        help="least severe messages logged (default: info; libraries log warnings only)")
    parser.add_argument("--log-json", action="store_true", help="one JSON object per log line on stderr")


def _add_data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", help="shared folder holding data/ and weights/ "
                                           "(default: $LSI_EDGE_SHARED, else ../shared)")


def _train_parser(sub) -> None:
    from edge.training.recipe import add_recipe_arguments, add_run_arguments  # light: no TensorFlow import

    parser = sub.add_parser("train", help="train, export INT8, calibrate and evaluate the expression model")
    _add_data_dir(parser)
    parser.add_argument("--run-dir", type=Path, default=REPO_ROOT / "runs" / "expression",
                        help="checkpoints and log; an existing run with the same recipe is resumed")
    parser.add_argument("--output", type=Path, default=MODELS_DIR / "expression_int8.tflite",
                        help="where the INT8 model (and its .json metadata) goes")
    parser.add_argument("--report-dir", type=Path, help="evaluation report folder (default: RUN_DIR/report)")
    parser.add_argument("--flip-average", action=argparse.BooleanOptionalAction, default=False,
                        help="ship with mirror-image averaging: a little more accuracy for twice the per-face latency")
    add_run_arguments(parser)
    add_recipe_arguments(parser)


def _cmd_train(args) -> int:
    from edge.evaluation.confusion import record
    from edge.evaluation.report import evaluate, write_report
    from edge.training.recipe import recipe_from_arguments
    from edge.training.ship import record_headline, ship
    from edge.training.train import train

    shared = shared_dir(args.data_dir)
    model, recipe = train(recipe_from_arguments(args), shared, args.run_dir, args.workers, args.time_budget_minutes)
    output, fp32 = ship(model, recipe, shared, args.run_dir, args.output, args.flip_average)
    record(output, shared)  # what the index needs of this model: its confusion, its size floor
    result = evaluate(shared, output, reference=fp32)
    files = write_report(result, args.report_dir or args.run_dir / "report")
    record_headline(output, result)
    print(json.dumps({"model": str(output), "report": str(files["markdown"]),
                      "accuracy": result["accuracy"], "macro_f1": result["macro_f1"],
                      "fp32_accuracy": result["reference"]["accuracy"],
                      "ece_calibrated": result["ece_calibrated"]}, indent=2))
    return 0


def _eval_parser(sub) -> None:
    parser = sub.add_parser("eval", help="evaluate a model on FER2013 PrivateTest and write the report")
    _add_data_dir(parser)
    parser.add_argument("--model", type=Path, help="INT8 .tflite (default: the shipped model)")
    parser.add_argument("--reference", type=Path, help="FP32 parent .tflite, for the INT8-vs-FP32 rows")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "reports" / "eval", help="report folder")
    parser.add_argument("--latency-seconds", type=float, default=2.0)
    parser.add_argument("--card", type=Path, help="also write the model card (e.g. docs/model-card.md)")
    parser.add_argument("--training-log", type=Path, default=REPO_ROOT / "runs" / "expression" / "log.jsonl",
                        help="per-epoch log for the card's training curve")
    parser.add_argument("--compare", type=Path, help="another INT8 .tflite (e.g. the previous model) measured the "
                                                     "same way in the same run, side by side in the report and card")
    parser.add_argument("--compare-training-log", type=Path, help="per-epoch log of the --compare model, for the card")
    scenes = parser.add_argument_group("scripted classrooms (instead of the model report)")
    scenes.add_argument("--scenario", help="NAME, comma-separated names or 'all' (see edge/scenes/scenarios/): run "
                                           "the pipeline on scripted scenes with known truth and write "
                                           "docs/evaluation.md (or --page)")
    scenes.add_argument("--config", type=Path, help="--scenario: YAML configuration (default: config/default.yaml)")
    scenes.add_argument("--page", type=Path, default=REPO_ROOT / "docs" / "evaluation.md",
                        help="--scenario: the Markdown page; figures and JSON go to the folder of the same name")
    scenes.add_argument("--scene-cache", type=Path, help="--scenario: rendered scenes (default: "
                                                         "$LSI_EDGE_SCENE_CACHE, else ~/.cache/lsi-edge/scenes)")
    scenes.add_argument("--no-ablations", action="store_true", help="--scenario: skip the ablation table")
    scenes.add_argument("--no-sweep", action="store_true", help="--scenario: skip the smoothing sweep")
    parser.add_argument("--confusion", action="store_true",
                        help="measure what the index needs of the model on PublicTest (confusion per face size, "
                             "accuracy against face size) and write it into the model's metadata JSON")
    parser.add_argument("--calibrate", action="store_true",
                        help="fit the model's calibration on PublicTest, write it into its metadata JSON and "
                             "re-measure what --confusion measures (on the new probabilities)")
    parser.add_argument("--framing", action="store_true",
                        help="measure where FER2013's framing lies relative to the detector's box on PublicTest "
                             "(the classifier.crop_margin and crop_offset defaults)")


def _cmd_eval_scenarios(args) -> int:
    from edge.evaluation.scenario_report import evaluate_scenarios, write_evaluation

    cfg = _load_config(args)
    if args.model:
        cfg = cfg.model_copy(update={"classifier": cfg.classifier.model_copy(update={"model": args.model})})
    result = evaluate_scenarios(args.scenario, cfg, shared_dir(args.data_dir), args.scene_cache,
                                ablations=not args.no_ablations, sweep=not args.no_sweep)
    files = write_evaluation(result, args.page, args.page.with_suffix(""))
    print(json.dumps({k: str(v) for k, v in files.items()}, indent=2))
    return 0


def _cmd_eval(args) -> int:
    if args.scenario:
        return _cmd_eval_scenarios(args)
    if args.calibrate:
        from edge.evaluation.calibrate import record_calibration

        print(json.dumps(record_calibration(args.model, shared_dir(args.data_dir)), indent=2))
    if args.confusion or args.calibrate:
        from edge.evaluation.confusion import record

        measured = record(args.model, shared_dir(args.data_dir))
        print(json.dumps(measured["readability"], indent=2))
        return 0
    if args.framing:
        from edge.evaluation.framing import measure_framing

        print(json.dumps(measure_framing(shared_dir(args.data_dir)), indent=2))
        return 0
    from edge.evaluation.report import evaluate, write_report

    result = evaluate(shared_dir(args.data_dir), args.model, args.reference, args.latency_seconds, args.compare)
    files = write_report(result, args.out)
    if args.card:
        from edge.evaluation.card import write_card
        from edge.inference.classifier import DEFAULT_MODEL, ModelMetadata

        metadata = ModelMetadata.read(args.model or DEFAULT_MODEL).raw
        compared = (ModelMetadata.read(args.compare).raw, args.compare_training_log) if args.compare else None
        write_card(result, metadata, args.card, args.out / "sweep.json", args.training_log, compared)
        files["card"] = args.card
    print(json.dumps({k: str(v) for k, v in files.items()}, indent=2))
    return 0


def _add_pipeline_options(parser: argparse.ArgumentParser, realtime_default: str) -> None:
    parser.add_argument("--config", type=Path, help="YAML configuration (default: config/default.yaml)")
    parser.add_argument("--source", help="0, /dev/video0, rtsp://…, a video file, an image folder, or demo")
    parser.add_argument("--realtime", dest="realtime", action="store_true", default=None,
                        help=f"files: pace to the file's frame rate (default: {realtime_default})")
    parser.add_argument("--no-realtime", dest="realtime", action="store_false",
                        help="files: process as fast as possible")
    parser.add_argument("--loop", action=argparse.BooleanOptionalAction, default=None,
                        help="files and folders: start again at the end (source.loop)")
    parser.add_argument("--device-id", help="this appliance's name in the feed (device_id)")
    parser.add_argument("--max-frames", type=int, help="stop after this many processed frames")
    parser.add_argument("--segment", help="start this teaching segment at the beginning "
                                          "(lecture, exercise, discussion, quiz, break, custom)")


# Command-line options that override configuration keys: validated by the same schema as the YAML.
CONFIG_OPTIONS = {"source": ("source", "uri"), "realtime": ("source", "realtime"), "loop": ("source", "loop"),
                  "device_id": ("device_id",), "updates_per_second": ("detection", "updates_per_second")}


def _load_config(args):
    from edge.config import load_config

    overrides: dict = {}
    for option, key in CONFIG_OPTIONS.items():
        value = getattr(args, option, None)
        if value is not None:
            section = overrides
            for part in key[:-1]:
                section = section.setdefault(part, {})
            section[key[-1]] = value
    return load_config(args.config, overrides)


def _run_appliance(args, cfg, sinks, realtime_default: bool) -> int:
    """Runs until the source ends or SIGTERM/SIGINT; after SIGHUP it goes on with the reloaded
    configuration. Exit status 0, or 1 when it gave up on its source (so systemd restarts it)."""
    from edge.appliance import Appliance
    from edge.capture.capture import Capture

    classifier = None
    while True:
        appliance = Appliance(cfg, classifier, extra_sinks=sinks)
        if args.segment:
            appliance.pipeline.start_segment(args.segment, args.segment)
        realtime = cfg.source.realtime if cfg.source.realtime is not None else realtime_default
        capture = Capture(cfg.source, cfg.processing.fps, realtime)
        log.info("device %s, source %s, %g fps processing, realtime %s, database %s", cfg.device_id,
                 capture.source.description, cfg.processing.fps, realtime, _redact_url(cfg.storage.url))
        if cfg.mqtt.enabled:
            log.info("commands must carry this box's token: `lsi-edge token` prints it (kept in %s)",
                     appliance.commands.token.path)
        _handle_signals(args, appliance)
        stats = appliance.run(capture, args.max_frames)
        log.info("done: %d frames, %d faces classified, %d windows, %d scene cuts, %d frame errors, %.1f s",
                 stats.frames, stats.faces_classified, stats.windows, stats.scene_cuts, stats.frame_errors,
                 stats.wall_seconds)
        if appliance.reload_to is None:
            return 1 if appliance.failure else 0
        # The model stays loaded unless its own settings changed.
        classifier = appliance.classifier if appliance.reload_to.classifier == cfg.classifier else None
        cfg = appliance.reload_to


def _redact_url(url: str) -> str:
    import re
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", url)


def _handle_signals(args, appliance) -> None:
    """SIGTERM/SIGINT: close the open window, flush, announce `stopped`, exit 0.
    SIGHUP: reload the configuration when it is valid, else keep the running one and say why."""
    import signal
    import time

    from edge.config import ConfigError
    from edge.service import notify

    def _stop(signum, _frame):
        log.info("%s: stopping", signal.Signals(signum).name)
        notify("STOPPING=1")
        appliance.stop()

    def _reload(_signum, _frame):
        try:
            cfg = _load_config(args)
        except ConfigError as error:
            log.error("SIGHUP: keeping the running configuration: %s", error)
            return
        if cfg == appliance.cfg:
            log.info("SIGHUP: the configuration is unchanged")
            return
        log.info("SIGHUP: reloading the configuration")
        notify(f"RELOADING=1\nMONOTONIC_USEC={time.monotonic_ns() // 1000}")
        appliance.reload(cfg)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGHUP, _reload)


def _run_parser(sub) -> None:
    parser = sub.add_parser("run", help="run the pipeline on a source")
    _add_pipeline_options(parser, "on, except with --print")
    parser.add_argument("--print", action="store_true", help="one JSON object per window on stdout")


def _cmd_run(args) -> int:
    from edge.sinks import JsonLinesSink

    cfg = _load_config(args)
    sinks = [JsonLinesSink()] if args.print else []
    return _run_appliance(args, cfg, sinks, realtime_default=not args.print)


def _up_parser(sub) -> None:
    parser = sub.add_parser("up", help="the one-command appliance: camera if given, else the demo classroom")
    _add_pipeline_options(parser, "on")


def _cmd_up(args) -> int:
    from edge.broker import local_broker
    from edge.sinks import JsonLinesSink

    cfg = _load_config(args)
    if args.loop is None and cfg.source.uri == "demo":  # the demo classroom runs until stopped
        args.loop = True
        cfg = _load_config(args)
    with local_broker(cfg.mqtt):
        return _run_appliance(args, cfg, [JsonLinesSink()], realtime_default=True)


def _bench_parser(sub) -> None:
    parser = sub.add_parser("bench", help="measure speed and print JSON")
    parser.add_argument("--classifier", action="store_true", help="per-face latency of the expression model only")
    parser.add_argument("--model", type=Path, help="model for --classifier (default: the shipped model)")
    parser.add_argument("--seconds", type=float, default=2.0, help="--classifier: measuring time per configuration")
    parser.add_argument("--threads", default="1,2", help="--classifier: comma-separated thread counts")
    parser.add_argument("--batches", default="1,16", help="--classifier: comma-separated batch sizes")
    parser.add_argument("--config", type=Path, help="YAML configuration (default: config/default.yaml)")
    parser.add_argument("--source", default="demo:1280x720:18:30",
                        help="pipeline source (default: the demo classroom, 1280x720, 18 students, 30 s)")
    parser.add_argument("--max-frames", type=int, default=300, help="frames to process (default 300)")
    parser.add_argument("--fps", type=float, help="process this many frames per second of source time, as the "
                                                  "appliance does (default: every frame of the source)")
    parser.add_argument("--updates-per-second", type=float,
                        help="override detection.updates_per_second (how often each known face is re-detected)")
    parser.add_argument("--detections", action="store_true",
                        help="faces found per frame of --source: whole frame vs tiles of several sizes")
    parser.add_argument("--illumination", action="store_true",
                        help="PublicTest accuracy of the shipped model under each illumination normalisation")
    parser.add_argument("--data-dir", help="shared folder (for --illumination)")
    parser.add_argument("--demo-truth", action="store_true",
                        help="detection recall and id switches on the demo classroom (known ground truth)")


def _cmd_bench(args) -> int:
    if args.classifier:
        from edge.evaluation.latency import classifier_latency

        results = classifier_latency(args.model, tuple(int(b) for b in args.batches.split(",")),
                                     tuple(int(t) for t in args.threads.split(",")), args.seconds)
        print(json.dumps({"classifier": results}, indent=2))
        return 0
    from edge.evaluation.bench import bench_pipeline

    cfg = _load_config(args)
    if args.illumination:
        from edge.evaluation.illumination import illumination_accuracy

        print(json.dumps(illumination_accuracy(shared_dir(args.data_dir), args.model), indent=2))
        return 0
    if args.detections:
        from edge.evaluation.demo_truth import detection_counts

        print(json.dumps(detection_counts(cfg, cfg.source), indent=2))
        return 0
    if args.demo_truth:
        from edge.capture.sources import parse_demo
        from edge.evaluation.demo_truth import measure_demo

        print(json.dumps(measure_demo(cfg, parse_demo(args.source)), indent=2))
        return 0
    print(json.dumps(bench_pipeline(cfg, args.max_frames, args.fps), indent=2))
    return 0


def _sweep_parser(sub) -> None:
    parser = sub.add_parser("sweep", help="width x input-size sweep and FER+ ablation (short training runs)")
    _add_data_dir(parser)
    parser.add_argument("--alphas", default="0.5,1.0", help="comma-separated width multipliers")
    parser.add_argument("--sizes", default="48,64,96", help="comma-separated input sizes")
    parser.add_argument("--epochs", type=int, default=3, help="fine-tuning epochs per configuration")
    parser.add_argument("--no-ablation", action="store_true", help="skip the FER+ soft-target ablation")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "docs" / "model-card" / "sweep.json")


def _cmd_sweep(args) -> int:
    from edge.training.sweep import sweep

    results = sweep(shared_dir(args.data_dir), [float(a) for a in args.alphas.split(",")],
                    [int(s) for s in args.sizes.split(",")], args.epochs, not args.no_ablation, args.out)
    print(json.dumps(results, indent=2))
    return 0


def _dashboard_parser(sub) -> None:
    parser = sub.add_parser("dashboard", add_help=False,
                            help="the teacher dashboard (`lsi-dashboard`, started as its own process) for this box: "
                                 "the appliance of --device-config is approved by itself and gets its token")
    parser.add_argument("--device-config", type=Path,
                        help="the appliance's YAML (default: config/default.yaml), for its device id and token")


def _cmd_dashboard(args, rest: list[str]) -> int:
    """Runs `python -m dashboard` in place of this process, so the dashboard imports nothing of the
    appliance's; what it needs of the appliance (its id, its token's file) goes as flags."""
    import os

    from lsi_contract.credentials import token_file

    cfg = _load_config(argparse.Namespace(config=args.device_config))
    local = [] if "--local-device-id" in rest else [
        "--local-device-id", cfg.device_id, "--local-token-file", str(token_file(cfg.mqtt.command_token_file))]
    command = [sys.executable, "-m", "dashboard", *rest, *local]
    if not any(flag in rest for flag in ("--log-level", "--log-json")):
        command += ["--log-level", args.log_level] + (["--log-json"] if args.log_json else [])
    sys.stdout.flush()
    os.execv(sys.executable, command)
    return 0  # not reached


def _token_parser(sub) -> None:
    parser = sub.add_parser("token", help="print this box's command token (made on first start) and where it is "
                                          "kept; --rotate replaces it")
    parser.add_argument("--config", type=Path, help="YAML configuration (default: config/default.yaml)")
    parser.add_argument("--rotate", action="store_true",
                        help="a new token; the old one stops working (an installed box's services are restarted)")


def _cmd_token(args) -> int:
    import shutil
    import subprocess

    from lsi_contract.credentials import ensure_token, token_file, write_token

    cfg = _load_config(args)
    path = token_file(cfg.mqtt.command_token_file)
    token = write_token(path) if args.rotate else ensure_token(path)
    print(token)
    log.info("command token of %s in %s%s", cfg.device_id, path, " (new)" if args.rotate else "")
    # An installed box's services read the token from their systemd credential, copied at start.
    installed = cfg.mqtt.command_token_file is not None and str(path).startswith("/etc/")
    if args.rotate and installed and shutil.which("systemctl") and Path("/run/systemd/system").is_dir():
        subprocess.run(["systemctl", "try-restart", "lsi-edge", "lsi-dashboard"], check=False)
        log.info("restarted lsi-edge and lsi-dashboard, so both use the new token")
    return 0


def _doctor_parser(sub) -> None:
    parser = sub.add_parser("doctor", help="check the installation, model, camera, database and broker")
    parser.add_argument("--config", type=Path, help="YAML configuration (default: config/default.yaml)")
    parser.add_argument("--source", help="source to test (default: the configured one)")


def _cmd_doctor(args) -> int:
    from edge.doctor import run_checks

    checks = run_checks(_load_config(args))
    for check in checks:
        mark = "ok  " if check.ok else ("FAIL" if check.critical else "warn")
        print(f"[{mark}] {check.name}: {check.detail}")
    return 0 if all(c.ok or not c.critical for c in checks) else 1


def _survey_parser(sub) -> None:
    from edge.survey import SURVEY_SECONDS

    parser = sub.add_parser("survey", help="camera placement check: faces found, their size, pose, readability "
                                           "and brightness, and a verdict with the fix (exit 0: good placement, "
                                           "1: something to change)")
    parser.add_argument("--config", type=Path, help="YAML configuration (default: config/default.yaml)")
    parser.add_argument("--source", help="source to survey (default: the configured one)")
    parser.add_argument("--seconds", type=float, default=SURVEY_SECONDS,
                        help=f"seconds of source time to look at (default {SURVEY_SECONDS:g}; files are read "
                             "as fast as they decode)")
    parser.add_argument("--json", action="store_true", help="one JSON object instead of text")


def _cmd_survey(args) -> int:
    from edge.survey import survey, survey_text

    if args.seconds <= 0:
        raise ValueError("--seconds must be positive")
    result = survey(_load_config(args), args.seconds)
    print(json.dumps(result.to_dict(), indent=2) if args.json else survey_text(result))
    return 0 if result.verdict.good else 1


COMMANDS = {"run": (_run_parser, _cmd_run), "up": (_up_parser, _cmd_up),
            "train": (_train_parser, _cmd_train), "eval": (_eval_parser, _cmd_eval),
            "bench": (_bench_parser, _cmd_bench), "sweep": (_sweep_parser, _cmd_sweep),
            "dashboard": (_dashboard_parser, _cmd_dashboard), "doctor": (_doctor_parser, _cmd_doctor),
            "survey": (_survey_parser, _cmd_survey), "token": (_token_parser, _cmd_token)}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lsi-edge", description="LSI Edge classroom appliance")
    parser.add_argument("--version", action="version", version=f"lsi-edge {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for add_parser, _ in COMMANDS.values():
        add_parser(sub)
    for command_parser in sub.choices.values():
        _add_logging_options(command_parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    args, rest = build_parser().parse_known_args(argv)
    if rest and args.command != "dashboard":  # only the dashboard passes flags on (to its own program)
        build_parser().parse_args(argv)  # exits with argparse's message naming them
    setup_logging(args.log_level, args.log_json)
    try:
        if args.command == "dashboard":
            return _cmd_dashboard(args, rest)
        return COMMANDS[args.command][1](args)
    except (FileNotFoundError, ValueError, SourceError) as error:
        log.error("%s", error)
        return 2


if __name__ == "__main__":
    sys.exit(main())
