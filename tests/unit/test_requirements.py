"""environment.yml (conda) and requirements.txt (pip) pin the same packages."""

from __future__ import annotations

import yaml

from course.settings import COURSE_ROOT


def pins(lines: list[str]) -> dict[str, str]:
    found = {}
    for raw in lines:
        line = raw.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            found[name.lower()] = version
    return found


def test_environment_yml_and_requirements_txt_agree() -> None:
    requirements = pins((COURSE_ROOT / "requirements.txt").read_text().splitlines())
    environment = yaml.safe_load((COURSE_ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in environment["dependencies"] if isinstance(d, dict))
    assert pins(pip_section) == requirements
    conda = [d for d in environment["dependencies"] if isinstance(d, str)]
    assert any(d.startswith("redis-server") for d in conda), "conda users get redis-server too"
    assert "conda-forge" in environment["channels"]


def test_every_requirement_is_pinned_exactly() -> None:
    for raw in (COURSE_ROOT / "requirements.txt").read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        assert not line or "==" in line, f"unpinned: {line}"
