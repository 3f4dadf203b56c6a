"""The README documents every script and every configuration variable."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("script", sorted(p.name for p in (ROOT / "scripts").glob("*.py")))
def test_every_script_is_documented(script):
    assert script in README


def config_variables():
    """Every NIANBAO_* environment variable named in the code."""
    names = set()
    for folder in ("index", "qa", "ui", "web"):
        for path in (ROOT / folder).rglob("*.py"):
            names |= set(re.findall(r"NIANBAO_[A-Z_]+", path.read_text(encoding="utf-8")))
    return sorted(names)


@pytest.mark.parametrize("name", config_variables())
def test_every_setting_is_documented(name):
    assert name in README


def test_readme_gives_the_two_setup_commands_and_ci_runs_the_test_one():
    assert "make run" in README and "make test" in README
    assert "make test" in (ROOT / ".ci" / "run").read_text()
