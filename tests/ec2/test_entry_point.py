"""consortium-ec2 where boto3 cannot be imported: one line on stderr, exit status 1."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import consortium_ec2

PACKAGE = Path(consortium_ec2.__file__).parent
# consortium-ec2/, where the distribution's pyproject.toml sits beside src/.
PROJECT = PACKAGE.parent.parent

# Refuses to import the modules in BLOCKED (and their submodules), as if not installed.
BLOCKER = """\
class Blocker:
    def find_spec(self, name, path=None, target=None):
        if any(name == b or name.startswith(b + ".") for b in BLOCKED):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, Blocker())
"""

# Should the command get as far as calling EC2, a closed loopback port answers.
COMMAND = ["consortium-ec2", "--endpoint-url", "http://127.0.0.1:9", "list"]


def console_script(*, site: bool = True, blocked: tuple[str, ...] = ()) -> list[str]:
    """A command that runs the consortium-ec2 entry point its pyproject.toml declares, as
    the script pip writes for it does, with the package's directory first on sys.path.

    ``site=False``: without site-packages (-S), where neither boto3 nor botocore is.
    """
    scripts = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]["scripts"]
    module, function = scripts["consortium-ec2"].split(":")
    code = (
        f"import sys; sys.path.insert(0, {str(PACKAGE.parent)!r})\n"
        f"BLOCKED = {blocked!r}\n{BLOCKER}"
        f"from {module} import {function}\n"
        f"sys.argv = {COMMAND!r}\n"
        f"sys.exit({function}())"
    )
    return [sys.executable, "-I", *([] if site else ["-S"]), "-c", code]


def run(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def test_without_site_packages_there_is_no_boto3() -> None:
    """What a test below relies on: -S leaves boto3 out."""
    assert run([sys.executable, "-I", "-S", "-c", "import boto3"]).returncode == 1


def test_with_boto3_the_entry_point_runs_the_command() -> None:
    result = run(console_script())
    assert result.stderr.startswith("consortium-ec2: error: no answer from the EC2 endpoint")
    assert result.returncode == 1


@pytest.mark.parametrize(
    ("site", "blocked", "missing"),
    [
        (False, (), "botocore"),
        (True, ("boto3",), "boto3"),
        (True, ("boto3", "botocore"), "botocore"),
    ],
)
def test_missing_boto3_is_one_line(site: bool, blocked: tuple[str, ...], missing: str) -> None:
    result = run(console_script(site=site, blocked=blocked))
    assert "Traceback" not in result.stderr
    assert result.stderr == (
        f"consortium-ec2: error: boto3 is not installed (no module named {missing}); "
        "run scripts/setup --deploy, or pip install -e consortium-ec2\n"
    )
    assert result.stdout == ""
    assert result.returncode == 1  # as for no credentials or no region (README)


def test_other_missing_modules_are_not_hidden() -> None:
    """A module missing from the package itself is a bug to see, not a set-up to blame."""
    result = run(console_script(blocked=("consortium_ec2.members",)))
    assert "Traceback" in result.stderr
    assert "No module named 'consortium_ec2.members'" in result.stderr
    assert result.returncode == 1
