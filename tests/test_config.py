import pytest

from edge.config import DEFAULT_CONFIG, Config, ConfigError, load_config, reference_markdown
from edge.paths import REPO_ROOT


def test_default_file_is_valid_and_matches_the_schema_defaults():
    cfg = load_config()
    assert cfg.source.uri == "demo" and cfg.privacy.min_faces == 5
    assert DEFAULT_CONFIG.is_file()


def test_unknown_key_names_the_key_and_the_fix(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("detection:\n  tile_sise: 300\n")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert "detection.tile_sise" in str(error.value) and "unknown key" in str(error.value)


def test_bad_value_names_the_key(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("smoothing:\n  alpha: 1.5\nprivacy:\n  min_faces: 0\n")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    message = str(error.value)
    assert "smoothing.alpha" in message and "privacy.min_faces" in message


def test_not_yaml_and_missing_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("source: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(path)
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.yaml")


def test_overrides_are_validated_too():
    assert load_config(overrides={"source": {"uri": "0"}}).source.uri == "0"
    with pytest.raises(ConfigError, match="processing.fps"):
        load_config(overrides={"processing": {"fps": -1}})


def test_every_key_is_documented_and_the_reference_is_current():
    documented = (REPO_ROOT / "docs" / "configuration.md").read_text()
    assert documented.strip() == reference_markdown().strip(), \
        "docs/configuration.md is stale: python -m edge.config > docs/configuration.md"
    for section, model in Config.model_fields.items():
        annotation = model.annotation
        keys = annotation.model_fields if hasattr(annotation, "model_fields") else {section: None}
        for key in keys:
            name = f"{section}.{key}" if hasattr(annotation, "model_fields") else section
            assert f"`{name}`" in documented, f"{name} is not documented"


def test_the_raspberry_pi_settings_are_valid():
    cfg = load_config(REPO_ROOT / "config" / "raspberry-pi.yaml")
    assert cfg.processing.fps == 5 and cfg.detection.updates_per_second == 2.5
