"""Refresh .ci/advisories.json: the known vulnerabilities of combotherapy's dependencies, from a snapshot of the
public Python advisory database (https://github.com/pypa/advisory-database, OSV format, one folder per package).

The package index's vulnerability API is not reachable from CI, so the advisories are committed and
tests/test_supply_chain.py checks the locked versions (requirements-lock.txt) and the minimum versions of
pyproject.toml against them offline. Refresh the list from time to time and after changing the lock:

    git clone --depth 1 https://github.com/pypa/advisory-database .advisory-database
    python3 .ci/refresh_advisories.py .advisory-database        # needs PyYAML (pip install pyyaml)

Only the folders of the packages in requirements-lock.txt and of the build backend are read.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / ".ci" / "advisories.json"


def normalise(name: str) -> str:
    """PEP 503 name: the advisory database names its folders this way."""
    return re.sub(r"[-_.]+", "-", name).lower()


def dependencies() -> list[str]:
    """Every package of the lock file, the project's direct dependencies and its build backend."""
    lock = (REPO / "requirements-lock.txt").read_text(encoding="utf-8")
    names = set(re.findall(r"^([A-Za-z0-9_.\-]+)==", lock, flags=re.M))
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    specs = list(project["build-system"]["requires"]) + list(project["project"]["dependencies"])
    for extra in project["project"].get("optional-dependencies", {}).values():
        specs += extra
    names |= {re.match(r"[A-Za-z0-9_.\-]+", s).group(0) for s in specs}
    return sorted({normalise(n) for n in names})


def _ranges(affected: dict) -> list[dict]:
    """ECOSYSTEM ranges as {introduced, fixed | last_affected} (GIT ranges name commits, not versions)."""
    out = []
    for rng in affected.get("ranges", []):
        if rng.get("type") != "ECOSYSTEM":
            continue
        current: dict = {}
        for event in rng.get("events", []):
            if "introduced" in event:
                current = {"introduced": str(event["introduced"])}
            elif "fixed" in event or "last_affected" in event:
                key = "fixed" if "fixed" in event else "last_affected"
                out.append({**(current or {"introduced": "0"}), key: str(event[key])})
                current = {}
        if current:  # introduced and never fixed
            out.append(current)
    return out


def read_advisories(database: Path, package: str) -> list[dict]:
    import yaml  # only the refresh needs it; CI reads the JSON

    folder = database / "vulns" / package
    advisories = []
    for file in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        doc = yaml.safe_load(file.read_text(encoding="utf-8"))
        if doc.get("withdrawn"):
            continue
        for affected in doc.get("affected", []):
            if normalise(affected.get("package", {}).get("name", "")) != package:
                continue
            advisories.append({
                "id": doc["id"],
                "aliases": sorted(doc.get("aliases", []) or []),
                "summary": (doc.get("summary") or (doc.get("details") or "").strip().split("\n")[0])[:200],
                "ranges": _ranges(affected),
                "versions": [str(v) for v in affected.get("versions", []) or []],
            })
    return advisories


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("database", type=Path, help="a checkout (or an extract of vulns/<package>/) of "
                                               "pypa/advisory-database")
    p.add_argument("--commit", help="the database's commit (default: read with git from the checkout)")
    p.add_argument("--date", help="the commit's date (default: read with git from the checkout)")
    args = p.parse_args(argv)
    commit, date = args.commit, args.date
    if commit is None or date is None:
        log = subprocess.run(["git", "-C", str(args.database), "log", "-1", "--format=%H %cI"], capture_output=True,
                             text=True, check=True).stdout.split()
        commit, date = commit or log[0], date or log[1]
    packages = dependencies()
    data = {
        "source": "https://github.com/pypa/advisory-database",
        "commit": commit,
        "date": date,
        "refresh": "python3 .ci/refresh_advisories.py /path/to/advisory-database (see the script's docstring)",
        "packages": {name: read_advisories(args.database, name) for name in packages},
    }
    OUT.write_text(json.dumps(data, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    n = sum(len(v) for v in data["packages"].values())
    print(f"{OUT.relative_to(REPO)}: {n} advisories for {len(packages)} packages (database {commit[:12]}, {date})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
