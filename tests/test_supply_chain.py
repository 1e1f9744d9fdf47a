"""Supply chain: the lock file pins everything with hashes, CI installs from it, and no locked version nor minimum
version of pyproject.toml has a known advisory in the committed snapshot of the Python advisory database.

Refresh the advisories with `python3 .ci/refresh_advisories.py /path/to/advisory-database` (see that script).
"""

from __future__ import annotations

import json
import re
import tomllib

import pytest
from conftest import REPO
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

LOCK_TEXT = (REPO / "requirements-lock.txt").read_text(encoding="utf-8")
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
ADVISORIES = json.loads((REPO / ".ci" / "advisories.json").read_text(encoding="utf-8"))


def _lock() -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes) from the pip-compile style lock (a requirement and its continuation lines)."""
    out = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", LOCK_TEXT):
        m = re.match(r"([A-Za-z0-9_.\-]+)==([^\s\\;]+)", block)
        if m:
            out[canonicalize_name(m.group(1))] = (m.group(2), re.findall(r"--hash=sha256:([0-9a-f]{64})", block))
    return out


LOCK = _lock()
EXTRAS = PROJECT["project"]["optional-dependencies"]
DIRECT = [Requirement(r) for r in PROJECT["project"]["dependencies"] + EXTRAS["test"] + EXTRAS["notebooks"]]


def _in(version: str, values: list[str]) -> bool:
    v = Version(version)
    for x in values:
        try:
            if Version(x) == v:
                return True
        except InvalidVersion:
            continue
    return False


def affected_by(package: str, version: str) -> list[str]:
    """The advisories of ``package`` (from the committed snapshot) that cover ``version``, as readable lines."""
    v = Version(version)
    found = []
    for adv in ADVISORIES["packages"].get(canonicalize_name(package), []):
        hit = _in(version, adv["versions"])
        for rng in adv["ranges"]:
            try:
                low = Version(rng.get("introduced", "0"))
                if "fixed" in rng:
                    hit |= low <= v < Version(rng["fixed"])
                elif "last_affected" in rng:
                    hit |= low <= v <= Version(rng["last_affected"])
                else:
                    hit |= low <= v
            except InvalidVersion:
                continue
        if hit:
            fixed = sorted({r["fixed"] for r in adv["ranges"] if "fixed" in r}, key=Version)
            found.append(f"{package} {version}: {adv['id']} ({', '.join(adv['aliases'])}) {adv['summary']} "
                         f"- fixed in {', '.join(fixed) or 'no release'}")
    return found


def test_every_locked_requirement_is_pinned_with_hashes():
    assert len(LOCK) > 40
    unhashed = sorted(name for name, (_, hashes) in LOCK.items() if not hashes)
    assert not unhashed, f"locked without --hash: {unhashed}"
    lines = [ln for ln in LOCK_TEXT.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    assert all("==" in ln or ln.lstrip().startswith("--hash=") for ln in lines)


def test_lock_covers_the_package_and_its_test_and_notebooks_extras():
    for req in DIRECT:
        name = canonicalize_name(req.name)
        assert name in LOCK, f"{req.name} (pyproject.toml) is not in requirements-lock.txt"
        assert req.specifier.contains(LOCK[name][0], prereleases=True), (
            f"locked {req.name}=={LOCK[name][0]} does not satisfy pyproject's {req}")


def test_lock_keeps_the_versions_that_made_the_results():
    # figure bytes in results/ depend on these: change them only with a regenerated results/
    assert {k: LOCK[k][0] for k in ("pandas", "numpy", "matplotlib")} == {
        "pandas": "3.1.1", "numpy": "2.4.6", "matplotlib": "3.11.2"}


def test_readme_test_command_is_what_ci_runs():
    command = next(ln for ln in (REPO / ".ci" / "run").read_text().splitlines() if ln.startswith("python3 -m pip"))
    assert command in (REPO / "README.md").read_text()
    assert "--require-hashes -r requirements-lock.txt" in command and "--no-deps -e ." in command


def test_advisories_cover_every_locked_package():
    missing = sorted(set(LOCK) - set(ADVISORIES["packages"]))
    assert not missing, (f"no advisories recorded for {missing}: refresh .ci/advisories.json "
                         "(python3 .ci/refresh_advisories.py /path/to/advisory-database)")
    assert re.fullmatch(r"[0-9a-f]{40}", ADVISORIES["commit"]) and ADVISORIES["source"].endswith("advisory-database")


def test_no_locked_version_has_a_known_advisory():
    found = [line for name, (version, _) in sorted(LOCK.items()) for line in affected_by(name, version)]
    assert not found, "locked versions with known advisories:\n" + "\n".join(found)


def test_no_minimum_version_has_a_known_advisory():
    """A `>=` lower bound in pyproject.toml (dependencies, extras, build backend) admits no vulnerable release."""
    reqs = DIRECT + [Requirement(r) for r in PROJECT["build-system"]["requires"]]
    found = []
    for req in reqs:
        for spec in req.specifier:
            if spec.operator == ">=":
                found += affected_by(req.name, spec.version)
    assert not found, "minimum versions with known advisories (raise the bound):\n" + "\n".join(found)


@pytest.mark.parametrize("package, version, expected", [
    ("pyarrow", "14.0.0", "CVE-2023-47248"),   # the reproduction: code execution reading Parquet
    ("pillow", "9.0.0", "PYSEC-"),
    ("setuptools", "65.0.0", "CVE-2022-40897"),
])
def test_the_check_finds_known_advisories(package, version, expected):
    assert any(expected in line for line in affected_by(package, version))
    assert not affected_by("pyarrow", "14.0.1")
