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
    blur_probability: float = 0.2
    noise_std_max: float = 6.0  # grey levels
    occlusion_probability: float = 0.25
    occlusion_max_side: float = 0.4  # fraction of the side


@dataclass
class Recipe:
    """Everything that determines a trained model; stored beside it and in its metadata."""

    input_size: int = 64
    alpha: float = 1.0
    pretrained: bool = True
    batch_size: int = 64
    head_epochs: int = 1
    finetune_epochs: int = 30
    head_lr: float = 2e-3
    finetune_lr: float = 1e-3
    warmup_epochs: float = 1.0
    weight_decay: float = 0.02
    fine_tune_from: str = "block_1_expand"
    refine_epochs: int = 10  # third stage: a second cosine cycle from the best weights
    refine_lr: float = 4e-4
    # Progressive resizing: the refine stage may train at a larger input than the first two
    # (the network is fully convolutional, so the weights carry over); the shipped model
    # then takes this size. Most of the epochs run at the cheaper size.
    refine_input_size: int | None = 96
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
            return replace(recipe, refine_epochs=0, refine_lr=0.0, refine_input_size=None)
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
