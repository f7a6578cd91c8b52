"""The dashboard's broker connection over TLS with a client certificate, against a real Mosquitto
that requires one (certificates made by openssl in the test's folder)."""

import getpass
import shutil
import subprocess
import time

import pytest

from dashboard import create_app
from dashboard.config import DashboardConfig
from edge.broker import broker_listening
from tests.mjpeg_server import free_port
from tests.mqtt_helpers import wait_for


def _openssl(folder, *args):
    subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True, timeout=60)


def _certificates(folder):
    """A CA, the broker's certificate for 127.0.0.1 and a client certificate, all signed by the CA."""
    _openssl(folder, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test school CA",
             "-keyout", "ca.key", "-out", "ca.crt")
    for name, extension in (("broker", "subjectAltName=IP:127.0.0.1"), ("dashboard", "extendedKeyUsage=clientAuth")):
        _openssl(folder, "req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}", "-keyout", f"{name}.key",
                 "-out", f"{name}.csr")
        (folder / f"{name}.ext").write_text(extension + "\n")
        _openssl(folder, "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                 "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.crt")


@pytest.fixture
def tls_broker(tmp_path):
    assert shutil.which("openssl"), "openssl not installed"
    _certificates(tmp_path)
    port = free_port()
    (tmp_path / "mosquitto.conf").write_text(
        f"user {getpass.getuser()}\nlistener {port} 127.0.0.1\nallow_anonymous true\n"
        f"cafile {tmp_path / 'ca.crt'}\ncertfile {tmp_path / 'broker.crt'}\nkeyfile {tmp_path / 'broker.key'}\n"
        "require_certificate true\n")
    process = subprocess.Popen([shutil.which("mosquitto") or "/usr/sbin/mosquitto", "-c",
                                str(tmp_path / "mosquitto.conf")], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wait_for(lambda: broker_listening("127.0.0.1", port) or process.poll() is not None, 10, "mosquitto")
    assert process.poll() is None, process.stderr.read().decode()
    yield port
    process.terminate()
    process.wait(timeout=10)


def _dashboard(tmp_path, port, name, **tls):
    cfg = DashboardConfig(database_url=f"sqlite:///{tmp_path / f'{name}.db'}", secret_key_file=tmp_path / "key",
                          mqtt_host="127.0.0.1", mqtt_port=port, mqtt_client_id=name, **tls)
    return create_app(cfg)


def test_the_dashboard_connects_with_its_certificate_and_not_without(tmp_path, tls_broker):
    with_certificate = _dashboard(tmp_path, tls_broker, "with-cert", mqtt_ca_file=tmp_path / "ca.crt",
                                  mqtt_cert_file=tmp_path / "dashboard.crt", mqtt_key_file=tmp_path / "dashboard.key")
    without = _dashboard(tmp_path, tls_broker, "without-cert", mqtt_ca_file=tmp_path / "ca.crt")
    try:
        wait_for(lambda: with_certificate.config["INGEST"].connected, 15, "the TLS connection")
        time.sleep(1.0)  # both started together: the other has had as long, and more
        assert not without.config["INGEST"].connected  # the broker requires a client certificate
    finally:
        with_certificate.config["INGEST"].stop()
        without.config["INGEST"].stop()


def test_a_client_certificate_needs_its_key_and_a_ca():
    with pytest.raises(ValueError, match="mqtt_cert_file and mqtt_key_file go together"):
        DashboardConfig(mqtt_cert_file="a.crt", mqtt_ca_file="ca.crt")
    with pytest.raises(ValueError, match="needs TLS"):
        DashboardConfig(mqtt_cert_file="a.crt", mqtt_key_file="a.key")
