"""The shell scripts an admin runs (set-up, tests, install, uninstall, CI) pass ShellCheck."""

import subprocess

from edge.paths import REPO_ROOT


def test_shellcheck_finds_no_warning():
    scripts = sorted(str(p) for p in (REPO_ROOT / "scripts").glob("*.sh")) + [str(REPO_ROOT / ".ci" / "run")]
    result = subprocess.run(["shellcheck", "--severity=warning", *scripts], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout
