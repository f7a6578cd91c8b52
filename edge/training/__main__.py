"""`python -m edge.training`: the training stage of `lsi-edge train` alone (no export, no evaluation).

For machines that have Keras and a backend but not the appliance's runtime (a GPU machine with
JAX or PyTorch): the run directory it writes is resumed by `lsi-edge train --run-dir DIR` with
the same recipe options, which then finds every stage complete and exports, calibrates and
evaluates the model.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from edge.paths import REPO_ROOT, shared_dir
from edge.training.recipe import add_recipe_arguments, add_run_arguments, recipe_from_arguments


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m edge.training", description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="shared folder holding data/ and weights/")
    parser.add_argument("--run-dir", type=Path, default=REPO_ROOT / "runs" / "expression")
    add_run_arguments(parser)
    add_recipe_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from edge.training.train import train

    _, recipe = train(recipe_from_arguments(args), shared_dir(args.data_dir), args.run_dir,
                      args.workers, args.time_budget_minutes)
    print(json.dumps({"run_dir": str(args.run_dir), "finetune_epochs": recipe.finetune_epochs}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
