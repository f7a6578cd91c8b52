"""The training recipe: everything that determines a trained model (no TensorFlow import)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class AugmentConfig:
    max_rotation_deg: float = 12.0
    max_shift: float = 0.08  # fraction of the side
    zoom_range: float = 0.10  # ±
    brightness: float = 0.15  # ± fraction of full scale
    contrast: float = 0.25  # ± factor around 1
    gamma: float = 0.25  # log-uniform ± around 1
    blur_probability: float = 0.2  # faces left at full resolution: mild softness
    noise_std_max: float = 6.0  # grey levels at the model's input scale, half of the faces
    occlusion_probability: float = 0.25
    occlusion_max_side: float = 0.4  # fraction of the side
    # Classroom degradations (edge.evaluation.degrade), on this share of the faces; the rest stay
    # at full resolution so the full-resolution accuracy does not regress.
    degrade_probability: float = 0.6
    min_face_px: float = 16.0  # face side drawn log-uniformly in [min, max]
    max_face_px: float = 48.0
    degrade_blur_probability: float = 0.3
    degrade_blur_sigma_max: float = 1.5  # pixels at the degraded face's scale
    degrade_noise_probability: float = 0.3
    degrade_noise_sigma_max: float = 6.0  # grey levels at the degraded face's scale
    jpeg_probability: float = 0.8
    jpeg_quality_min: int = 30
    jpeg_quality_max: int = 90


def _option(default, help_text: str):
    """A recipe field with its command-line help."""
    return field(default=default, metadata={"help": help_text})


@dataclass
class Recipe:
    """Everything that determines a trained model; stored beside it and in its metadata."""

    input_size: int = _option(96, "model input side in pixels (faces are resized to it)")
    alpha: float = _option(1.0, "MobileNetV2 width multiplier")
    pretrained: bool = _option(True, "start from the ImageNet weights in the shared folder")
    batch_size: int = _option(64, "faces per training step")
    head_epochs: int = _option(1, "epochs of the first stage: the new classification head alone")
    finetune_epochs: int = _option(80, "epochs of the second stage: the upper backbone and the head")
    head_lr: float = _option(2e-3, "learning rate of the head stage")
    finetune_lr: float = _option(1e-3, "peak learning rate of the fine-tuning stage")
    # Per epoch, so the schedule is a callback (same on every Keras backend) and a time-budgeted
    # run can fix its epoch count after the warm-up without changing what came before.
    warmup_epochs: int = _option(2, "linear warm-up epochs, then cosine decay to 1 %% of the peak")
    weight_decay: float = _option(0.02, "AdamW weight decay")
    fine_tune_from: str = _option("block_1_expand", "first backbone layer trained in the fine-tuning stage")
    refine_epochs: int = _option(0, "epochs of an optional third stage: a second cosine cycle from the best "
                                    "weights; added to a finished run, it does not retrain what came before")
    refine_lr: float = _option(4e-4, "peak learning rate of the refine stage")
    # Progressive resizing: the network is fully convolutional, so most epochs can run at the
    # cheaper size and the weights carry over.
    refine_input_size: int | None = _option(None, "input side of the refine stage and of the shipped model "
                                                  "(default: input-size)")
    # Stochastic weight averaging (Izmailov et al., 2018): costs one validation pass, nothing at inference.
    refine_average: bool = _option(False, "ship the mean of the refine stage's starting and epoch-end weights "
                                          "when it scores better on PublicTest than every single epoch")
    refine_teachers: str = _option("", "distillation: comma-separated trained .tflite models whose probabilities "
                                       "on each augmented face join its target in the refine stage, each teacher "
                                       "only on faces at least its measured size floor (edge/training/teachers.py)")
    refine_distill_weight: float = _option(0.5, "share of each target that comes from the teachers")
    label_smoothing: float = _option(0.1, "label smoothing of the cross-entropy")
    ferplus_weight: float = _option(0.3, "w in the target (1 − w)·one-hot(FER2013) + w·FER+ vote shares")
    class_weight_power: float = _option(0.5, "class weights ∝ (1/frequency)^power, normalised to mean 1")
    dropout: float = _option(0.3, "dropout before the classification layer")
    # Keras' MobileNetV2 default; short runs need ~0.99 for usable moving statistics.
    bn_momentum: float = _option(0.999, "batch-normalisation momentum")
    seed: int = _option(1, "seed of the data order, the augmentation and the initialisation")
    max_train_images: int | None = _option(None, "use only this many training faces (smoke tests)")
    max_val_images: int | None = _option(None, "use only this many PublicTest faces (smoke tests)")
    augment: AugmentConfig = field(default_factory=AugmentConfig)

    def extends(self, stored: "Recipe") -> bool:
        """Same run with only the refine stage added or changed: its finished stages stay valid."""
        from dataclasses import replace
        def first_stages(recipe: Recipe) -> Recipe:
            return replace(recipe, refine_epochs=0, refine_lr=0.0, refine_input_size=None, refine_average=False,
                           refine_teachers="", refine_distill_weight=0.0)
        return first_stages(self) == first_stages(stored)

    @property
    def final_input_size(self) -> int:
        """The input size of the model that comes out of the run."""
        if self.refine_epochs > 0 and self.refine_input_size:
            return self.refine_input_size
        return self.input_size

    @classmethod
    def from_dict(cls, values: dict) -> "Recipe":
        values = dict(values)
        values["augment"] = AugmentConfig(**values.get("augment", {}))
        return cls(**values)


def add_recipe_arguments(parser) -> None:
    """One command-line flag per recipe field (`lsi-edge train` and `python -m edge.training`)."""
    import argparse
    from dataclasses import fields

    defaults = Recipe()
    for item in fields(Recipe):
        if item.name == "augment":
            continue
        flag = "--" + item.name.replace("_", "-")
        default = getattr(defaults, item.name)
        text = item.metadata.get("help", "")
        if isinstance(default, bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=default, help=text)
        else:
            kind = type(default) if default is not None else int
            parser.add_argument(flag, type=kind, default=default, help=f"{text} (default: {default})")


def recipe_from_arguments(args) -> Recipe:
    from dataclasses import fields

    return Recipe(**{item.name: getattr(args, item.name) for item in fields(Recipe) if item.name != "augment"})


def add_run_arguments(parser) -> None:
    """How a run is executed (not part of the recipe: they do not change the model)."""
    parser.add_argument("--workers", type=int, default=None,
                        help="augmentation worker processes (default: all cores but one; 0 on ≤ 2 cores)")
    parser.add_argument("--time-budget-minutes", type=float, default=None,
                        help="wall-clock limit: the fine-tuning epochs are fixed after the warm-up to fit it "
                             "(recorded in recipe.json), and every stage stops in time with its best weights saved")
