"""Dashboard settings: state in the data directory, a client id that survives restarts, the
reference page generated from the schema."""

from dashboard.config import DashboardConfig, reference_markdown
from edge.paths import REPO_ROOT


def test_state_goes_to_the_data_directory_and_the_client_id_is_stable(tmp_path, monkeypatch):
    monkeypatch.setenv("LSI_EDGE_DATA_DIR", str(tmp_path))
    first, second = DashboardConfig(), DashboardConfig()
    assert first.database_url == f"sqlite:///{tmp_path / 'lsi-dashboard.db'}"
    assert first.secret_key_file == tmp_path / "lsi-dashboard.secret"
    assert first.mqtt_client_id == second.mqtt_client_id and first.mqtt_client_id.startswith("lsi-dashboard-")
    assert DashboardConfig(mqtt_client_id="dashboard-1").mqtt_client_id == "dashboard-1"


def test_the_reference_page_is_current():
    documented = (REPO_ROOT / "docs" / "dashboard.md").read_text()
    assert documented.strip() == reference_markdown().strip(), \
        "docs/dashboard.md is stale: python -m dashboard.config > docs/dashboard.md"
    for key in DashboardConfig.model_fields:
        assert f"`{key}`" in documented
