"""`lsi-edge` command line."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import fields
from pathlib import Path

from edge import __version__
from edge.paths import MODELS_DIR, REPO_ROOT, shared_dir

log = logging.getLogger("lsi_edge")


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _add_data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", help="shared folder holding data/ and weights/ "
                                           "(default: $LSI_EDGE_SHARED, else ../shared)")


def _train_parser(sub) -> None:
    from edge.training.recipe import Recipe  # light: no TensorFlow import

    parser = sub.add_parser("train", help="train, export INT8, calibrate and evaluate the expression model")
    _add_data_dir(parser)
    parser.add_argument("--run-dir", type=Path, default=REPO_ROOT / "runs" / "expression",
                        help="checkpoints and log; an existing run with the same recipe is resumed")
    parser.add_argument("--output", type=Path, default=MODELS_DIR / "expression_int8.tflite",
                        help="where the INT8 model (and its .json metadata) goes")
    parser.add_argument("--report-dir", type=Path, help="evaluation report folder (default: RUN_DIR/report)")
    defaults = Recipe()
    for field in fields(Recipe):
        if field.name == "augment":
            continue
        flag = "--" + field.name.replace("_", "-")
        default = getattr(defaults, field.name)
        if isinstance(default, bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=default)
        else:
            kind = type(default) if default is not None else int
            parser.add_argument(flag, type=kind, default=default, help=f"(default: {default})")


def _cmd_train(args) -> int:
    from edge.evaluation.report import evaluate, write_report
    from edge.training.recipe import Recipe
    from edge.training.ship import record_headline, ship
    from edge.training.train import train

    recipe = Recipe(**{f.name: getattr(args, f.name) for f in fields(Recipe) if f.name != "augment"})
    shared = shared_dir(args.data_dir)
    model = train(recipe, shared, args.run_dir)
    output, fp32 = ship(model, recipe, shared, args.run_dir, args.output)
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


def _cmd_eval(args) -> int:
    from edge.evaluation.report import evaluate, write_report

    result = evaluate(shared_dir(args.data_dir), args.model, args.reference, args.latency_seconds)
    files = write_report(result, args.out)
    print(json.dumps({k: str(v) for k, v in files.items()}, indent=2))
    return 0


def _bench_parser(sub) -> None:
    parser = sub.add_parser("bench", help="measure speed and print JSON")
    parser.add_argument("--classifier", action="store_true", help="per-face latency of the expression model")
    parser.add_argument("--model", type=Path, help="model for --classifier (default: the shipped model)")
    parser.add_argument("--seconds", type=float, default=2.0, help="measuring time per configuration")
    parser.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    parser.add_argument("--batches", default="1,16", help="comma-separated batch sizes")


def _cmd_bench(args) -> int:
    from edge.evaluation.latency import classifier_latency

    if not args.classifier:
        print("lsi-edge bench: only --classifier exists so far", file=sys.stderr)
        return 2
    results = classifier_latency(args.model, tuple(int(b) for b in args.batches.split(",")),
                                 tuple(int(t) for t in args.threads.split(",")), args.seconds)
    print(json.dumps({"classifier": results}, indent=2))
    return 0


COMMANDS = {"train": (_train_parser, _cmd_train), "eval": (_eval_parser, _cmd_eval),
            "bench": (_bench_parser, _cmd_bench)}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lsi-edge", description="LSI Edge classroom appliance")
    parser.add_argument("--version", action="version", version=f"lsi-edge {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    for add_parser, _ in COMMANDS.values():
        add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _setup_logging(args.verbose)
    try:
        return COMMANDS[args.command][1](args)
    except (FileNotFoundError, ValueError) as error:
        log.error("%s", error)
        return 2


if __name__ == "__main__":
    sys.exit(main())
