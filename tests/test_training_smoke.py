"""The training code cannot rot: a few hundred images, one short epoch per stage, INT8 export."""

import json

import numpy as np
import pytest

pytest.importorskip("tensorflow", reason="training needs the [train] extra (tensorflow-cpu)")


@pytest.mark.slow
def test_train_export_calibrate_evaluate_end_to_end(fer2013, shared, tmp_path):
    from edge.cli import main
    from edge.inference import ExpressionClassifier

    output = tmp_path / "models" / "smoke_int8.tflite"
    code = main(["train", "--data-dir", str(shared), "--run-dir", str(tmp_path / "run"),
                 "--output", str(output), "--input-size", "48", "--max-train-images", "320",
                 "--max-val-images", "200", "--batch-size", "32", "--head-epochs", "1",
                 "--finetune-epochs", "1", "--fine-tune-from", "block_13_expand",
                 "--refine-epochs", "1", "--refine-input-size", "56"])
    assert code == 0
    metadata = json.loads(output.with_suffix(".json").read_text())
    # Progressive resizing: stages 1–2 at 48 px, the refine stage (and the shipped model) at 56 px.
    assert metadata["input"]["size"] == 56 and len(metadata["labels"]) == 7
    stages = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert [(e["stage"], e["input_size"]) for e in stages] == [("head", 48), ("finetune", 48), ("refine", 56)]
    # Every epoch is also measured at the monitored classroom degradation, and says where it ran.
    assert all("val_accuracy_monitor" in e and e["backend"] == "tensorflow" for e in stages)
    assert metadata["calibration"]["temperature"] > 0
    # What the index needs of the new model is measured with it (confusion per face size, size and
    # sharpness floors).
    assert len(metadata["confusion"]["matrices"]) == len(metadata["confusion"]["crop_px"])
    assert metadata["readability"]["min_crop_px"] > 0 and metadata["readability"]["min_sharpness"] >= 0
    assert len(metadata["readability"]["accuracy_by_sharpness"]) == 10
    assert "accuracy" in metadata["metrics"] and "fp32_accuracy" in metadata["metrics"]
    assert output.stat().st_size < 4_000_000
    report = json.loads((tmp_path / "run" / "report" / "report.json").read_text())
    assert report["n"] == 3589 and (tmp_path / "run" / "report" / "reliability.png").stat().st_size > 0
    conditions = {row["name"]: row for row in report["degradations"]}
    assert "32 px, JPEG 50" in conditions and any(row["held_out"] for row in report["degradations"])
    assert set(conditions["32 px, JPEG 50"]["recall"]) == set(metadata["labels"])

    classifier = ExpressionClassifier.load(output, threads=1)
    probabilities = classifier.predict([fer2013["test"].images[0], np.zeros((100, 80, 3), np.uint8)])
    assert probabilities.shape == (2, 7) and probabilities.dtype == np.float32
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)

    # Same run directory, same recipe: resumes (every stage already complete) instead of retraining.
    # The training stage alone (`python -m edge.training`, as on a GPU machine) shares the resume logic.
    from edge.training.__main__ import main as train_only

    log_lines = len((tmp_path / "run" / "log.jsonl").read_text().splitlines())
    assert train_only(["--data-dir", str(shared), "--run-dir", str(tmp_path / "run"), "--input-size", "48",
                       "--max-train-images", "320", "--max-val-images", "200", "--batch-size", "32",
                       "--head-epochs", "1", "--finetune-epochs", "1", "--fine-tune-from", "block_13_expand",
                       "--refine-epochs", "1", "--refine-input-size", "56"]) == 0
    assert len((tmp_path / "run" / "log.jsonl").read_text().splitlines()) == log_lines  # no epoch ran again
    # Weight averaging added to a finished run: no epoch runs again, the refine stage's starting and
    # epoch-end weights are averaged and measured once.
    assert train_only(["--data-dir", str(shared), "--run-dir", str(tmp_path / "run"), "--input-size", "48",
                       "--max-train-images", "320", "--max-val-images", "200", "--batch-size", "32",
                       "--head-epochs", "1", "--finetune-epochs", "1", "--fine-tune-from", "block_13_expand",
                       "--refine-epochs", "1", "--refine-input-size", "56", "--refine-average"]) == 0
    added = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()][log_lines:]
    assert [(e["stage"], e["checkpoints"], e["input_size"]) for e in added] == [("average", 2, 56)]
    # A different recipe in the same directory is refused rather than silently mixed.
    assert main(["train", "--data-dir", str(shared), "--run-dir", str(tmp_path / "run"),
                 "--output", str(output), "--input-size", "64", "--max-train-images", "320"]) == 2


def test_weight_average_is_the_mean_of_float_variables_and_keeps_integer_state(tmp_path):
    from edge.training.train import average_weights

    files = []
    for index, (weight, state) in enumerate([(1.0, 7), (3.0, 9)]):
        path = tmp_path / f"refine.epoch{index:03d}.weights.npz"
        np.savez(path, names=np.array(["kernel", "seed"]), w000=np.full((2, 2), weight, np.float32),
                 w001=np.array([state], np.uint32))
        files.append(path)
    kernel, seed = average_weights(files)
    assert kernel.dtype == np.float32 and np.allclose(kernel, 2.0)
    assert seed.dtype == np.uint32 and seed.tolist() == [9]
