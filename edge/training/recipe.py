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


@dataclass
class Recipe:
    """Everything that determines a trained model; stored beside it and in its metadata."""

    input_size: int = 96
    alpha: float = 1.0
    pretrained: bool = True
    batch_size: int = 64
    head_epochs: int = 1
    finetune_epochs: int = 80
    head_lr: float = 2e-3
    finetune_lr: float = 1e-3
    # Learning rate per epoch: linear warm-up over these epochs, then cosine to 1 % of the peak.
    # Epoch granularity keeps the schedule a callback (same on every Keras backend) and lets a
    # time-budgeted run fix its epoch count after the warm-up without changing what came before.
    warmup_epochs: int = 2
    weight_decay: float = 0.02
    fine_tune_from: str = "block_1_expand"
    refine_epochs: int = 0  # optional third stage: a second cosine cycle from the best weights
    refine_lr: float = 4e-4
    # Progressive resizing: the refine stage may train at a larger input than the first two
    # (the network is fully convolutional, so the weights carry over); the shipped model
    # then takes this size. Most of the epochs run at the cheaper size.
    refine_input_size: int | None = None
    # Stochastic weight averaging (Izmailov et al., 2018): the mean of the refine stage's starting
    # weights and of its epoch-end weights ships instead of the best single epoch when it scores
    # better on PublicTest. It costs one validation pass, and nothing at inference.
    refine_average: bool = False
    # Distillation in the refine stage: comma-separated trained .tflite models (relative to the
    # repository) whose probabilities on each augmented face, each teacher only on faces at least
    # its measured size floor (edge/training/teachers.py), make up this share of the target.
    refine_teachers: str = ""
    refine_distill_weight: float = 0.5
    label_smoothing: float = 0.1
    ferplus_weight: float = 0.3  # soft target = (1−w)·one-hot(FER2013) + w·FER+ vote shares
    class_weight_power: float = 0.5  # weights ∝ (1/frequency)^power, normalised to mean 1
    dropout: float = 0.3
    bn_momentum: float = 0.999  # Keras' MobileNetV2 default; short runs need ~0.99 for usable moving statistics
    seed: int = 1
    max_train_images: int | None = None  # smoke tests
    max_val_images: int | None = None
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
        if isinstance(default, bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=default)
        else:
            kind = type(default) if default is not None else int
            parser.add_argument(flag, type=kind, default=default, help=f"(default: {default})")


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
