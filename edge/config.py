"""The one validated configuration object. YAML in, typed sections out; unknown keys are errors."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from edge.datasets import FER2013_LABELS
from edge.paths import CLASSROOM_MODEL, REPO_ROOT, data_dir
from lsi_contract.scale import DEFAULT_LSI_WEIGHTS
from lsi_contract.settings import ConfigError, describe
from lsi_contract.settings import reference_markdown as schema_reference
from lsi_contract.topics import DASHBOARD_ACCOUNT, DEVICE_ID_PATTERN, PREFIX_PATTERN

DEFAULT_CONFIG = REPO_ROOT / "config" / "default.yaml"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceConfig(_Section):
    uri: str = Field("demo", description="camera index (0), /dev/videoN, rtsp:// or http(s):// URL, "
                                         "video file, image folder, or 'demo'")
    realtime: bool | None = Field(None, description="files: pace to the file's frame rate "
                                                    "(default: true for `up`, false for `run --print`)")
    loop: bool = Field(False, description="files and folders: start again at the end instead of stopping")
    width: int | None = Field(None, ge=160, description="cameras: requested capture width")
    height: int | None = Field(None, ge=120, description="cameras: requested capture height")
    folder_fps: float = Field(5.0, gt=0, description="image folders: frames per second of the sequence")
    stall_seconds: float = Field(5.0, gt=0, description="live source counts as down after this long without a frame")
    reconnect_initial_seconds: float = Field(0.5, gt=0, description="first reconnect delay; doubles per failure")
    reconnect_max_seconds: float = Field(30.0, gt=0, description="longest reconnect delay")
    give_up_seconds: float = Field(60.0, gt=0, description="live sources: after this long without a frame the "
                                                           "daemon exits non-zero, so systemd restarts it")


class ProcessingConfig(_Section):
    fps: float = Field(8.0, gt=0, le=60, description="frames processed per second of source time; "
                                                     "the newest frame is taken, older ones dropped")


class DetectionConfig(_Section):
    min_confidence: float = Field(0.5, gt=0, lt=1, description="detector score threshold")
    tile_sizes: list[int] = Field([128, 384], min_length=1, description=(
        "sides (frame pixels) of the square tiles of a discovery sweep; each tile is read by BlazeFace "
        "short-range at 128 px, which finds faces of 22–70 px in its input: 128 px tiles find faces of "
        "20–60 px, 384 px tiles faces of 65–200 px"))
    tile_overlap: float = Field(0.25, ge=0, lt=0.9, description="overlap of neighbouring tiles, fraction of the tile")
    whole_frame_pass: bool = Field(True, description="also scan the whole frame with BlazeFace full-range, "
                                                     "for faces larger than the largest tile")
    updates_per_second: float = Field(4.0, gt=0, le=30, description=(
        "each known face is re-detected (and, when readable, classified) this often, from a tile "
        "around it at its own scale; also the tracker's update rate"))
    redetect_every: int = Field(2, ge=1, le=8, description=(
        "a confirmed face is looked for by the detector every N updates; in between, its last "
        "detection is carried forward (seated students move little) and the face is still read"))
    sweep_seconds: float = Field(5.0, gt=0, description=(
        "a discovery sweep over every tile, for faces not tracked yet, is spread over this much "
        "source time (after start and after a scene cut: one whole sweep at once)"))
    nms_iou: float = Field(0.3, gt=0, lt=1, description="overlap above which two detections are one face")
    min_face_px: int = Field(16, ge=8, description="faces smaller than this are dropped (too few pixels)")

    @field_validator("tile_sizes")
    @classmethod
    def _tile_sizes(cls, sizes):
        if any(size < 64 for size in sizes):
            raise ValueError("tile sides below 64 px magnify noise, not faces; use 128 or more")
        return sorted(set(sizes))


class PrivacyConfig(_Section):
    min_faces: int = Field(5, ge=1, description="aggregates over fewer faces are suppressed (k-anonymity)")
    masks: list[list[tuple[float, float]]] = Field(
        default_factory=list, description="polygons in frame-relative coordinates (0–1); faces whose "
                                          "centre is inside are dropped before anything else sees them")

    @field_validator("masks")
    @classmethod
    def _polygons(cls, masks):
        for index, polygon in enumerate(masks):
            if len(polygon) < 3:
                raise ValueError(f"masks[{index}] needs at least 3 points")
            if any(not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0) for x, y in polygon):
                raise ValueError(f"masks[{index}]: coordinates are fractions of the frame, 0 to 1")
        return masks


class TrackingConfig(_Section):
    confirm_hits: int = Field(3, ge=1, description="detections before a track counts")
    max_unseen_seconds: float = Field(6.0, gt=0, description="a track ends after this long unseen (and counts "
                                                              "as present until then: a head bent over a desk "
                                                              "or an expression the detector misses for a few "
                                                              "seconds keeps its track)")
    distance_threshold: float = Field(0.8, gt=0, description="max normalised centre distance (in face "
                                                            "sizes) to match a detection to a track")
    scene_cut_threshold: float = Field(0.2, gt=0, le=1, description="histogram distance above which "
                                                                    "the scene counts as cut: all tracks end")


class ClassifierConfig(_Section):
    model: Path | None = Field(None, description="INT8 .tflite expression model (default: "
                                                 "models/expression_int8_classroom.tflite, trained for the small, "
                                                 "compressed faces of classroom cameras: it reads the scripted "
                                                 "classrooms best, docs/evaluation.md; "
                                                 "models/expression_int8.tflite is the full-resolution model, "
                                                 "docs/model-card.md)")
    threads: int | None = Field(None, ge=1, le=16, description="interpreter threads (default: up to 4)")
    crop_margin: float = Field(0.08, ge=0, le=1, description="margin around the detected box, as a fraction of "
                                                             "its size; with crop_offset it frames the face as "
                                                             "FER2013 does (measured: lsi-edge eval --framing)")
    crop_offset: float = Field(-0.05, ge=-0.5, le=0.5, description="shift of the crop along the face's vertical "
                                                                  "axis, as a fraction of the detected box "
                                                                  "(negative: up; FER2013's faces sit higher in "
                                                                  "their frame than in the detector's box)")
    align: bool = Field(True, description="level the eyes (from the detector's keypoints) before cropping")
    illumination: Literal["standardize", "clahe", "equalize", "none"] = Field(
        "standardize", description="illumination normalisation of the face crop: standardize (to FER2013's "
                                   "mean and contrast; no accuracy cost), clahe / equalize (local / global "
                                   "histogram; ~1 point less accurate on FER2013, see docs/performance.md)")

    @property
    def model_path(self) -> Path:
        """The model the appliance loads."""
        return self.model or CLASSROOM_MODEL


class AnalysisConfig(_Section):
    mode: Literal["expression", "attention"] = Field(
        "expression", description="expression: LSI and class shares from readable faces, plus presence and "
                                  "attention; attention: presence and attention only, no expression model is "
                                  "opened (for schools in the EU: AI Act Art. 5(1)(f), see docs/legal-and-ethics.md)")


class ReadabilityConfig(_Section):
    max_yaw: float = Field(40.0, gt=0, le=90, description="faces turned further than this (degrees, estimated "
                                                          "from the detector's keypoints) are not read")
    min_pitch: float = Field(-25.0, ge=-90, le=0, description="faces looking down further than this are not "
                                                             "read (a face bent over a desk reads as sad)")
    max_pitch: float = Field(30.0, ge=0, le=90, description="faces looking up further than this are not read")
    min_face_px: float | None = Field(None, ge=8, description="smaller faces are not read; default: the "
                                                              "smallest size the shipped model reads well, "
                                                              "from its metadata (else 20)")
    min_sharpness: float | None = Field(None, ge=0, description="faces whose crop holds less detail than this "
                                                                "(blur, defocus, motion; edge/readability/"
                                                                "sharpness.py) are not read; default: the least "
                                                                "sharp face the shipped model reads well, from its "
                                                                "metadata (0: no floor)")
    heads_up_max_yaw: float = Field(45.0, gt=0, le=90, description="attention: a face turned less than this "
                                                                   "faces the front")
    heads_up_min_pitch: float = Field(-25.0, ge=-90, le=0, description="attention: a face looking down less "
                                                                       "than this has its head up")


class SmoothingConfig(_Section):
    method: Literal["ema", "window", "none"] = Field("ema", description="ema (exponential), window (sliding mean) "
                                                                  "or none (frame-wise, for comparison)")
    time_aware: bool = Field(True, description="ema: scale the weight of each update to the time since the "
                                               "previous one (false: the same alpha per update)")
    switch_margin: float = Field(0.5, ge=0, lt=1, description="a face's dominant class changes only when another "
                                                              "class's smoothed probability exceeds it by this much")
    alpha: float = Field(0.3, gt=0, le=1, description="EMA weight of a new observation at reference_fps "
                                                      "(smaller: steadier but slower; see docs/evaluation.md)")
    reference_fps: float = Field(8.0, gt=0, description="rate at which alpha applies; other rates get "
                                                        "the same time constant")
    window_seconds: float = Field(3.0, gt=0, le=30, description="sliding window length (method: window)")
    min_confidence: float = Field(0.3, ge=0, lt=1, description="observations whose top probability is "
                                                               "below this are down-weighted")
    low_confidence_weight: float = Field(0.0, ge=0, le=1, description="weight of such observations (0: ignored)")




class LsiConfig(_Section):
    weights: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_LSI_WEIGHTS), description="LSI weight per class name; the index maps the lowest weight to 0 and the highest to 100")
    window_seconds: float = Field(5.0, gt=0, description="aggregation window")
    shares: Literal["adjusted", "em", "average", "count"] = Field(
        "em", description="how a window's class shares are estimated from its readable faces: adjusted "
                                "(corrected for the model's measured confusion at each face size), em (prior "
                                "re-estimation), average (mean probabilities), count (each face's top class); "
                                "compared in docs/evaluation.md")
    shares_from: Literal["readings", "smoothed"] = Field(
        "readings", description="rows the window's class shares are estimated from: readings (each update's "
        "calibrated probabilities, what the estimators assume; the window already averages over time) or smoothed "
        "(each face's EMA state, which lags across window boundaries); the smoothed state always drives the "
        "face's dominant class")
    em_support_rank: int = Field(
        2, ge=0, le=len(FER2013_LABELS), description="em shares: no class's share exceeds the share of the "
        "window's readings that rank it among their this many most likely classes, so a camera on which the model "
        "is less confident than calibrated cannot conjure a class no face shows; 0 lifts the limit")

    @field_validator("weights")
    @classmethod
    def _known_classes(cls, weights):
        unknown = set(weights) - set(FER2013_LABELS)
        if unknown:
            raise ValueError(f"unknown class(es) {sorted(unknown)}; use {', '.join(FER2013_LABELS)}")
        missing = set(FER2013_LABELS) - set(weights)
        if missing:
            raise ValueError(f"give a weight for every class; missing {sorted(missing)}")
        if max(weights.values()) == min(weights.values()):
            raise ValueError("weights must not all be equal (the index would be constant)")
        return weights


class AlertConfig(_Section):
    drop_points: float = Field(15.0, gt=0, description="alert when the class LSI stays this far below "
                                                       "the segment baseline")
    negative_share: float = Field(0.4, gt=0, le=1, description="alert when this share of faces is negative")
    sustain_seconds: float = Field(30.0, gt=0, description="how long a condition must hold before alerting")
    baseline_seconds: float = Field(60.0, gt=0, description="segment time used to form the baseline")


class TlsConfig(_Section):
    ca_file: Path | None = Field(None, description="CA certificate (PEM) that signed the broker's certificate")
    cert_file: Path | None = Field(None, description="client certificate (PEM), for brokers that require one")
    key_file: Path | None = Field(None, description="client private key (PEM)")
    insecure: bool = Field(False, description="skip hostname verification (testing only)")


class MqttConfig(_Section):
    enabled: bool = Field(True, description="publish over MQTT (storage works either way)")
    host: str = Field("localhost", description="broker host")
    port: int = Field(1883, ge=1, le=65535, description="broker port (8883 is usual with TLS)")
    client_id: str | None = Field(None, description="MQTT client id (default: lsi-edge-<device_id>)")
    username: str | None = Field(None, description="broker user name")
    password_env: str = Field("LSI_EDGE_MQTT_PASSWORD", description="environment variable holding the password")
    password_file: Path | None = Field(None, description="file holding the password (first line); "
                                                         "wins over password_env. Never logged")
    tls: TlsConfig | None = Field(None, description="TLS settings; absent = plain TCP")
    keepalive: int = Field(30, ge=5, le=3600, description="MQTT keepalive in seconds")
    topic_prefix: str = Field("lsi", pattern=PREFIX_PATTERN, description="first topic level")
    command_token_file: Path | None = Field(None, description="file of the token every command must carry "
                                                              "(made with a random token on first start; "
                                                              "`lsi-edge token` prints it, `--rotate` replaces "
                                                              "it). Default: the service's credential "
                                                              "command-token, else command-token in the data "
                                                              "directory")
    stats_seconds: float = Field(30.0, ge=1, description="period of the stats topic")
    state_seconds: float = Field(5.0, ge=0.5, description="period of the retained state topic")
    reconnect_max_seconds: float = Field(30.0, ge=1, description="longest reconnect delay")
    max_backlog_seconds: float = Field(600.0, gt=0, description="health says degraded while the oldest message "
                                                                "not yet acknowledged by the broker is older "
                                                                "than this")
    max_inflight: int = Field(20, ge=1, le=1000, description="QoS 1 messages awaiting PUBACK at once")
    home_assistant: bool = Field(False, description="publish Home Assistant MQTT discovery for LSI and faces")
    discovery_prefix: str = Field("homeassistant", description="Home Assistant discovery prefix")


class HealthConfig(_Section):
    enabled: bool = Field(True, description="serve /healthz and Prometheus /metrics over HTTP")
    host: str = Field("127.0.0.1", description="listen address (127.0.0.1: this machine only; the address of the "
                                               "school network for a Prometheus server elsewhere)")
    port: int = Field(9808, ge=0, le=65535, description="listen port (0: any free port, logged at start)")


class StorageConfig(_Section):
    url: str = Field(None, validate_default=True,
                     description="SQLAlchemy database URL (postgresql+psycopg://user@host/db for PostgreSQL); "
                                 "default: SQLite file lsi-edge.db in the data directory ($LSI_EDGE_DATA_DIR, "
                                 "else /var/lib/lsi-edge for the service, else ~/.local/share/lsi-edge)")
    retention_days: float = Field(90.0, gt=0, description="rows older than this are deleted")
    outbox_max: int = Field(100_000, ge=10, description="undelivered messages kept for publishing; when full, "
                                                        "the oldest are given up (they stay in the database)")
    memory_queue_max: int = Field(720, ge=1, description="while storing fails (e.g. a full disk), messages kept "
                                                         "in memory until it works again (720 = an hour of "
                                                         "windows); they are published live meanwhile, marked "
                                                         "\"stored\": false")

    @field_validator("url", mode="before")
    @classmethod
    def _default_in_data_dir(cls, url):
        return f"sqlite:///{data_dir() / 'lsi-edge.db'}" if url is None else url


class Config(_Section):
    device_id: str = Field("lsi-edge", pattern=DEVICE_ID_PATTERN,
                           description="this appliance's name (room), used in MQTT topics and as its broker "
                                       f"account; letters, digits, '_' and '-' ('{DASHBOARD_ACCOUNT}' is reserved)")
    source: SourceConfig = SourceConfig()
    processing: ProcessingConfig = ProcessingConfig()
    detection: DetectionConfig = DetectionConfig()
    privacy: PrivacyConfig = PrivacyConfig()
    tracking: TrackingConfig = TrackingConfig()
    classifier: ClassifierConfig = ClassifierConfig()
    analysis: AnalysisConfig = AnalysisConfig()
    readability: ReadabilityConfig = ReadabilityConfig()
    smoothing: SmoothingConfig = SmoothingConfig()
    lsi: LsiConfig = LsiConfig()
    alerts: AlertConfig = AlertConfig()
    mqtt: MqttConfig = MqttConfig()
    storage: StorageConfig = Field(default_factory=StorageConfig)  # its default path reads the environment
    health: HealthConfig = HealthConfig()

    @model_validator(mode="after")
    def _consistent(self):
        if self.device_id == DASHBOARD_ACCOUNT:
            raise ValueError(f"device_id {DASHBOARD_ACCOUNT!r} is the dashboard's broker account; choose another")
        if self.source.reconnect_max_seconds < self.source.reconnect_initial_seconds:
            raise ValueError("source.reconnect_max_seconds must be ≥ source.reconnect_initial_seconds")
        if self.source.give_up_seconds <= self.source.stall_seconds:
            raise ValueError("source.give_up_seconds must be > source.stall_seconds")
        return self


def load_config(path: str | Path | None = None, overrides: dict | None = None) -> Config:
    """Read YAML (default: config/default.yaml), apply overrides (nested dict), validate."""
    path = Path(path) if path else DEFAULT_CONFIG
    if not path.is_file():
        raise ConfigError(f"configuration file {path} not found")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise ConfigError(f"{path} is not valid YAML: {error}") from error
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections")
    for key, value in (overrides or {}).items():
        if isinstance(value, dict):
            data[key] = {**(data.get(key) or {}), **value}
        else:
            data[key] = value
    try:
        return Config.model_validate(data)
    except ValidationError as error:
        raise ConfigError(f"{path}: {describe(error, 'docs/configuration.md')}") from error


REFERENCE_HEADER = ["# Configuration reference", "",
                    "One YAML file (default `config/default.yaml`; pass another with `--config`). Every key is",
                    "optional; unknown keys and bad values stop start-up with a message naming the key.",
                    "This page is generated from `edge/config.py` (`python -m edge.config > docs/configuration.md`).",
                    ""]


def reference_markdown() -> str:
    """docs/configuration.md."""
    return schema_reference(Config, REFERENCE_HEADER)


if __name__ == "__main__":
    print(reference_markdown())
