"""The classroom degradation protocol, the augmentation built on it, and the training data pack."""

import numpy as np
import pytest

from edge.evaluation import degrade
from edge.evaluation.degrade import HELD_OUT_PAIRS, PROTOCOL, by_name, degrade_all
from edge.training.augment import augment_batch, batch_rng
from edge.training.recipe import AugmentConfig


@pytest.fixture(scope="module")
def faces():
    """Smooth synthetic 48 px faces (gradients and blobs), enough texture for codecs and blur."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:48, 0:48]
    out = []
    for _ in range(12):
        cx, cy, r = rng.uniform(12, 36, 2).tolist() + [rng.uniform(6, 14)]
        blob = 120 * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * r * r))
        out.append(np.clip(60 + 2 * x + blob + rng.normal(0, 8, (48, 48)), 0, 255).astype(np.uint8))
    return np.stack(out)


def test_protocol_is_deterministic_and_sizes_are_the_degraded_face_size(faces):
    for condition in PROTOCOL:
        first, second = degrade_all(faces, condition), degrade_all(faces, condition)
        assert all(np.array_equal(a, b) for a, b in zip(first, second)), condition.name
        side = condition.size or 48
        assert all(face.shape == (side, side) and face.dtype == np.uint8 for face in first), condition.name
    assert all(np.array_equal(a, b) for a, b in zip(degrade_all(faces, PROTOCOL[0]), faces))


def test_each_degradation_changes_the_pixels_the_way_it_says(faces):
    face = faces[0]
    assert np.array_equal(degrade.compress(face, 100), degrade.compress(face, 100))
    assert np.abs(degrade.compress(face, 10).astype(int) - face).mean() > np.abs(
        degrade.compress(face, 90).astype(int) - face).mean()
    assert degrade.gaussian_blur(face, 1.5).astype(float).std() < face.astype(float).std()
    noise = degrade.gaussian_noise(np.full((200, 200), 128, np.uint8), 4.0, np.random.default_rng(1))
    assert noise.astype(float).std() == pytest.approx(4.0, rel=0.05)
    flat = np.full((48, 48), 100, np.uint8)
    assert np.array_equal(degrade.downscale(flat, 24), np.full((24, 24), 100, np.uint8))


def test_held_out_conditions_pair_with_trained_ones_of_the_same_size():
    held = [c for c in PROTOCOL if c.held_out]
    assert {c.name for c in held} == set(HELD_OUT_PAIRS)
    for name, trained in HELD_OUT_PAIRS.items():
        assert by_name(name).size == by_name(trained).size and not by_name(trained).held_out
        assert (by_name(name).codec, by_name(name).resampling) != (degrade.TRAINED_CODEC, degrade.TRAINED_RESAMPLING)


def test_held_out_conditions_are_as_hard_as_their_trained_pair(fer2013):
    """Gains are comparable only between equally hard conditions: the full-resolution model, never
    trained on small faces, reads PublicTest about as well under each held-out condition as under
    its trained pair."""
    from edge.inference.classifier import DEFAULT_MODEL, ExpressionClassifier

    classifier = ExpressionClassifier.load(DEFAULT_MODEL)
    val = fer2013["val"]

    def accuracy(name: str) -> float:
        faces = degrade_all(val.images, by_name(name))
        predicted = np.concatenate([classifier.predict(faces[i:i + 256]).argmax(axis=1)
                                    for i in range(0, len(faces), 256)])
        return float(np.mean(predicted == val.labels))

    for held, trained in HELD_OUT_PAIRS.items():
        assert accuracy(held) == pytest.approx(accuracy(trained), abs=0.025), (held, trained)


def test_training_never_applies_a_held_out_codec_or_resampling(faces, monkeypatch):
    import edge.training.augment as augment

    used = set()
    real_compress, real_downscale = augment.compress, augment.downscale
    monkeypatch.setattr(augment, "compress", lambda f, q, codec=degrade.TRAINED_CODEC: (
        used.add(("codec", codec)), real_compress(f, q, codec))[1])
    monkeypatch.setattr(augment, "downscale", lambda f, s, resampling=degrade.TRAINED_RESAMPLING: (
        used.add(("resampling", resampling)), real_downscale(f, s, resampling))[1])
    augment_batch(np.repeat(faces, 20, axis=0), 64, AugmentConfig(), batch_rng(1, 1, 0, 0))
    assert used == {("codec", degrade.TRAINED_CODEC), ("resampling", degrade.TRAINED_RESAMPLING)}


def test_augmentation_is_a_function_of_its_random_stream(faces):
    cfg = AugmentConfig()
    first, face_px = augment_batch(faces, 64, cfg, batch_rng(1, 1, 3, 5))
    assert first.shape == (len(faces), 64, 64, 1) and first.dtype == np.uint8
    assert face_px.shape == (len(faces),) and set(face_px) <= set(range(16, 49))
    assert np.array_equal(first, augment_batch(faces, 64, cfg, batch_rng(1, 1, 3, 5))[0])
    assert not np.array_equal(first, augment_batch(faces, 64, cfg, batch_rng(1, 1, 3, 6))[0])


def test_batches_do_not_depend_on_the_worker_count(faces):
    from edge.training.batches import AugmentedBatches

    targets, weights = np.eye(7, dtype=np.float32)[np.arange(len(faces)) % 7], np.ones(len(faces), np.float32)
    streams = []
    for workers in (0, 1):
        source = AugmentedBatches(faces, targets, weights, 48, AugmentConfig(), seed=3, batch_size=4, stage=1,
                                  workers=workers)
        try:
            stream = source.stream(start_epoch=1)
            streams.append([next(stream) for _ in range(4)])  # crosses an epoch boundary (3 steps each)
        finally:
            source.close()
    for (x0, y0, w0), (x1, y1, w1) in zip(*streams):
        assert x0.dtype == np.float32 and np.array_equal(x0, x1) and np.array_equal(y0, y1) and np.array_equal(w0, w1)


def test_learning_rate_warms_up_then_decays_to_one_percent():
    from edge.training.train import epoch_learning_rate

    rates = [epoch_learning_rate(e, 1e-3, 2, 10) for e in range(10)]
    assert rates[0] < rates[1] < rates[2] == pytest.approx(1e-3)
    assert all(a >= b for a, b in zip(rates[2:], rates[3:]))
    assert rates[-1] == pytest.approx(1e-5)


def test_training_pack_round_trips_the_training_splits(tmp_path):
    from edge.datasets import TRAINING_PACK, load_fer2013, load_training_splits, write_training_pack

    rng = np.random.default_rng(0)
    shared = tmp_path / "shared"
    (shared / "data").mkdir(parents=True)
    counts = {"train": 20, "val": 6, "test": 5}
    arrays = {}
    for name, n in counts.items():
        arrays[f"x_{name}"] = rng.integers(0, 256, (n, 48, 48), dtype=np.uint8)
        arrays[f"y_{name}"] = rng.integers(0, 7, n)
        arrays[f"exact_{name}"] = rng.random(n) > 0.2
    np.savez_compressed(shared / "data" / "fer2013.npz", **arrays)
    columns = ["neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt", "unknown", "NF"]
    rows = [",".join(columns)] + [",".join(str(v) for v in rng.integers(0, 5, len(columns)))
                                  for _ in range(sum(counts.values()))]
    (shared / "data" / "ferplus_votes.csv").write_text("\n".join(rows) + "\n")

    pack_dir = tmp_path / "pack"
    write_training_pack(shared, pack_dir / TRAINING_PACK)
    original, packed = load_fer2013(shared), load_training_splits(pack_dir)
    assert set(packed) == {"train", "val"}
    for name in packed:
        assert np.array_equal(packed[name].images, original[name].images)
        assert np.array_equal(packed[name].labels, original[name].labels)
        assert np.array_equal(packed[name].exact, original[name].exact)
        assert np.array_equal(packed[name].ferplus, original[name].ferplus, equal_nan=True)


def _fake_result(accuracy_by_condition: dict, created: str, model: str) -> dict:
    names = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
    rows = [{"name": c.name, "held_out": c.held_out, "accuracy": accuracy_by_condition.get(c.name, 0.5),
             "macro_f1": 0.5, "ece": 0.02, "recall": {n: 0.4 for n in names}} for c in PROTOCOL]
    return {"model": model, "created": created, "accuracy": rows[0]["accuracy"], "macro_f1": 0.7,
            "ece_calibrated": 0.02, "ece": 0.02, "degradations": rows, "labels": list(names),
            "latency": [{"threads": 1, "batch": 16, "ms_per_face": 0.6, "ms_per_face_fastest": 0.55}]}


def test_held_out_check_and_verdict_compare_the_newer_model_with_the_older():
    from edge.evaluation.card import _classroom_section
    from edge.evaluation.report import held_out_gains

    old = _fake_result({"48 px (as is)": 0.71, "32 px, JPEG 50": 0.49, "32 px, WebP 13 (held out)": 0.59},
                       "2026-01-01T00:00:00+00:00", "old.tflite")
    new = _fake_result({"48 px (as is)": 0.69, "32 px, JPEG 50": 0.66, "32 px, WebP 13 (held out)": 0.67},
                       "2026-02-01T00:00:00+00:00", "new.tflite")
    result = {**old, "compare": {**new, "model": "models/new.tflite"}}  # the older one evaluated, the newer compared
    gains = {g["held_out"]: g for g in held_out_gains(result)}
    webp = gains["32 px, WebP 13 (held out)"]
    assert webp["newer"] == "new.tflite"
    assert webp["held_out_gain"] == pytest.approx(0.08) and webp["trained_gain"] == pytest.approx(0.17)
    text = "\n".join(_classroom_section(result))
    assert "| top-1, 32 px, JPEG 50 | ≥ 0.64 | 0.4900 **not met** | 0.6600 met |" in text
    assert "the shipped model stays" in text and "top-1, 48 px (as is)" in text


def test_each_teacher_teaches_only_faces_at_least_its_measured_size_floor(faces):
    from edge.paths import MODELS_DIR
    from edge.training.teachers import Teachers, teacher_paths

    paths = teacher_paths("models/expression_int8.tflite, models/expression_int8_classroom.tflite")
    teachers = Teachers.load(paths)
    assert teachers.floors[0] > 24 >= teachers.floors[1]  # the full-resolution model reads small faces badly
    pixels, _ = augment_batch(faces[:6], 96, AugmentConfig(), batch_rng(1, 2, 0, 0))
    taught = teachers.probabilities(pixels, np.array([48, 48, 48, 24, 24, 24]))
    each = [c.predict(list(pixels[..., 0])) for c in teachers.classifiers]
    assert np.allclose(taught[:3], (each[0][:3] + each[1][:3]) / 2, atol=1e-6)
    assert np.allclose(taught[3:], each[1][3:], atol=1e-6)
    with pytest.raises(ValueError, match="--refine-teachers"):
        teacher_paths(str(MODELS_DIR / "missing.tflite"))


def test_taught_targets_mix_labels_and_teachers(faces):
    from edge.training.batches import AugmentedBatches
    from edge.training.teachers import teacher_paths

    targets, weights = np.eye(7, dtype=np.float32)[np.arange(len(faces)) % 7], np.ones(len(faces), np.float32)
    source = AugmentedBatches(faces, targets, weights, 96, AugmentConfig(), seed=3, batch_size=4, stage=2, workers=0,
                              teachers=teacher_paths("models/expression_int8_classroom.tflite"), distill_weight=0.5)
    try:
        _, mixed, _ = next(source.stream())
    finally:
        source.close()
    assert np.allclose(mixed.sum(axis=1), 1.0, atol=1e-5)
    assert np.all(mixed.max(axis=1) >= 0.5) and np.all(mixed.max(axis=1) < 1.0)
