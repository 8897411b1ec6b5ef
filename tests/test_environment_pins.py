"""environment.yml (conda users) and requirements.txt (pip, make) pin the same packages at the same versions."""
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _requirement_pins(lines):
    pins = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, separator, version = line.partition("==")
        assert separator, f"requirement {line!r} is not pinned with =="
        pins[name.strip().lower()] = version.strip()
    return pins


def test_requirements_are_exact_pins():
    pins = _requirement_pins((ROOT / "requirements.txt").read_text().splitlines())
    assert pins["tensorflow-cpu"] == "2.21.0"
    assert pins["keras"].startswith("3.")
    major, minor, *_ = pins["jupyter-book"].split(".")
    assert (int(major), int(minor)) >= (1, 0) and int(major) < 2


def test_environment_yml_matches_requirements():
    requirements = _requirement_pins((ROOT / "requirements.txt").read_text().splitlines())
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_sections = [entry["pip"] for entry in environment["dependencies"] if isinstance(entry, dict) and "pip" in entry]
    assert len(pip_sections) == 1, "environment.yml needs exactly one pip: section"
    conda_pins = _requirement_pins(pip_sections[0])
    missing = sorted(set(requirements) - set(conda_pins))
    extra = sorted(set(conda_pins) - set(requirements))
    different = sorted(n for n in set(requirements) & set(conda_pins) if requirements[n] != conda_pins[n])
    assert not (missing or extra or different), (
        f"environment.yml drifted from requirements.txt: missing {missing}, extra {extra}, different versions {different}"
    )
    assert "python=3.11" in environment["dependencies"]


def test_lock_file_agrees_with_requirements():
    lock = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==", 1)
            lock[name.strip().lower().replace("_", "-")] = version.strip()
    requirements = _requirement_pins((ROOT / "requirements.txt").read_text().splitlines())
    for name, version in requirements.items():
        assert lock.get(name) == version, f"constraints.txt has {name}=={lock.get(name)}, requirements.txt {version}: run make lock"
