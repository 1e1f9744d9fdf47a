"""Publishing the committed sample files of ``data/sample/``: the two trials from documented seeds, their
Frictionless data package and the README stating the true effects."""

from __future__ import annotations

import json
import platform
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd

from ..arms import CANONICAL_ARMS
from ..files import write_text
from ..instruments import instrument_for
from .effects import _DESIGN, DEFAULT_EFFECTS
from .generator import simulate_frame
from .truth import claim_truth, truth_table

#: seeds of the committed files
SAMPLE_SEEDS = MappingProxyType({"three_arm": 20240301, "factorial": 20240302})
#: designs of the committed files (arguments of simulate_frame)
SAMPLE_DESIGNS = MappingProxyType({
    "three_arm": dict(arms=("physio", "acupuncture", "combined"), n_per_arm=120, dropout=0.15, id_prefix="T"),
    "factorial": dict(arms=("control", "physio", "acupuncture", "combined"), n_per_arm=100, dropout=0.15,
                      id_prefix="F"),
})
SAMPLE_TITLES = {
    "three_arm": "Three-arm trial: physiotherapy, acupuncture, combined (simulated)",
    "factorial": "2x2 factorial trial: usual care, physiotherapy, acupuncture, combined (simulated)",
}
_INTEGER_COLUMNS = ("age", "rmdq", "analgesic_days", "phq9", "sessions_attended", "sessions_planned", "recovered",
                    "adverse_events")


def _is_integer_column(c: str) -> bool:
    """Columns written as whole numbers (counts, flags, and outcomes the simulator rounds to units)."""
    return c in _INTEGER_COLUMNS or c.startswith("ae_") or (c in _DESIGN and _DESIGN[c]["decimals"] == 0)


def _csv_text(frame: pd.DataFrame) -> str:
    """Deterministic CSV: integers without decimals, floats already rounded (shortest repr), NA blank."""
    out = frame.copy()
    out["arm"] = out["arm"].astype(str)
    ints = [c for c in out.columns if _is_integer_column(c)
            or (c == "visit" and bool(np.all(np.mod(out[c], 1) == 0)))]
    for c in ints:
        out[c] = out[c].astype("Int64")
    return out.to_csv(index=False, lineterminator="\n", na_rep="")


_FIELD_TEXT = {
    "subject": ("string", "Subject identifier (simulated)", None),
    "arm": ("string", "Randomised arm", None),
    "visit": ("number", "Visit, weeks since randomisation (0 = baseline)", "weeks"),
    "age": ("integer", "Age at randomisation", "years"),
    "sex": ("string", "Sex", None),
    "pain_duration": ("number", "Time since onset of the current episode of back pain (< 3 = acute)", "months"),
    "site": ("string", "Recruiting site", None),
}


#: what a column means in the simulated files, beyond the registry's description
_SIM_NOTES = {
    "pain": "missing after dropout (monotone, missing at random given the last observed pain).",
    "crp": "log-normal; about 3 % of samples lost at random.",
    "analgesic_days": "negative binomial (shape 2.5) clipped at 28.",
    "sessions_attended": "treatment sessions attended in the first 12 weeks: physiotherapy, acupuncture, or both "
                         "at one visit in the combined arm; blank in usual care (no sessions).",
    "sessions_planned": "12 weekly treatment sessions in every active arm; blank in usual care.",
    "recovery_time": "censored at dropout or at week 26.",
    "adverse_events": "sum of the ae_<type> columns; none serious.",
    "ae_": "count over the 12-week treatment period (shortened by dropout); not serious.",
}


def _schema(frame: pd.DataFrame) -> dict:
    fields = []
    for c in frame.columns:
        cons: dict = {}
        if c in _FIELD_TEXT:
            typ, desc, unit = _FIELD_TEXT[c]
            if c in ("subject", "arm", "visit"):
                cons["required"] = True
            if c == "age":
                cons.update(minimum=18, maximum=80)
            if c == "visit":
                cons["minimum"] = 0
            if c == "pain_duration":
                cons["minimum"] = 0
        else:
            inst = instrument_for(c)
            typ = "integer" if (inst.integer or _is_integer_column(c)) else "number"
            desc = f"{inst.label}: {inst.description}"
            unit = inst.units
            if c in _DESIGN and not inst.integer:
                dec = _DESIGN[c]["decimals"]
                desc += " (recorded as whole numbers)" if dec == 0 else f" (recorded to {dec} decimal{'s' * (dec > 1)})"
            note = _SIM_NOTES.get("ae_" if c.startswith("ae_") else c)
            if note:
                desc += f". Simulation: {note}"
            lo, hi = inst.low, inst.high
            if c in _DESIGN:  # the simulator's own limits where tighter than the registry's
                d = _DESIGN[c]
                lo = d["lo"] if lo is None else max(lo, d["lo"])
                hi = d["hi"] if hi is None else (hi if d["hi"] is None else min(hi, d["hi"]))
            if lo is not None:
                cons["minimum"] = int(lo) if typ == "integer" else lo
            if hi is not None:
                cons["maximum"] = int(hi) if typ == "integer" else hi
        if c in ("arm", "sex", "site"):
            cons["enum"] = [str(x) for x in (frame[c].cat.categories if c == "arm" else sorted(frame[c].unique()))]
        f = {"name": c, "type": typ, "description": desc}
        if unit:
            f["unit"] = unit
        if cons:
            f["constraints"] = cons
        fields.append(f)
    return {"fields": fields, "primaryKey": ["subject", "visit"], "missingValues": [""]}


def _versions() -> dict:
    return {"python": platform.python_version(), "numpy": np.__version__, "pandas": pd.__version__}


def sample_datapackage(frames: Mapping[str, pd.DataFrame], texts: Mapping[str, str],
                       versions: Mapping[str, str] | None = None) -> dict:
    """The Frictionless Data Package descriptor of the sample files (``versions``: of the writing software)."""
    import hashlib

    resources = []
    for name, frame in frames.items():
        design = SAMPLE_DESIGNS[name]
        data = texts[name].encode("utf-8")
        resources.append({
            "name": name.replace("_", "-"),
            "path": f"{name}.csv",
            "profile": "tabular-data-resource",
            "title": SAMPLE_TITLES[name],
            "description": (f"Simulated by combotherapy.simulate.simulate_frame(arms={list(design['arms'])}, "
                            f"n_per_arm={design['n_per_arm']}, dropout={design['dropout']}, "
                            f"seed={SAMPLE_SEEDS[name]}). Long layout: one row per subject and visit; "
                            "subject-level columns repeat on every row of the subject."),
            "format": "csv", "mediatype": "text/csv", "encoding": "utf-8",
            "bytes": len(data), "hash": "sha256:" + hashlib.sha256(data).hexdigest(),
            "schema": _schema(frame),
        })
    return {
        "name": "combotherapy-sample",
        "title": "combotherapy sample trials (simulated, with known truth)",
        "description": "Simulated randomised trials of physiotherapy, acupuncture and both for low back pain. "
                       "Not real patients. True effects: README.md.",
        "licenses": [{"name": "CC0-1.0", "title": "CC0 1.0", "path": "https://creativecommons.org/publicdomain/zero/1.0/"}],
        "profile": "tabular-data-package",
        "resources": resources,
        "x-combotherapy": {"generator": "combotherapy.simulate.write_sample_data", "seeds": dict(SAMPLE_SEEDS),
                           "versions": dict(versions or _versions())},
    }


def _truth_markdown(arms: Sequence[str]) -> str:
    tab = truth_table(arms)
    lines = ["| claim | outcome | measure | contrast | true value | direction | truth |", "|---|---|---|---|---|---|---|"]
    for r in tab.itertuples(index=False):
        lines.append(f"| {r.claim or ''} | {r.outcome} | {r.measure} | {r.contrast} | {r.value:.4g} | {r.direction} "
                     f"| {r.truth} |")
    return "\n".join(lines)


def _effects_markdown() -> str:
    arms = list(CANONICAL_ARMS)
    lines = ["| outcome | scale | " + " | ".join(arms) + " | shapes |", "|---|---|" + "---|" * len(arms) + "---|"]
    for name, oe in DEFAULT_EFFECTS.outcomes.items():
        vals = " | ".join(f"{oe.change[a]:.4g}" for a in arms)
        shapes = ", ".join(f"{a}: {oe.shape[a]}" for a in arms)
        lines.append(f"| {name} | {'ratio to baseline' if oe.scale == 'ratio' else 'change'} | {vals} | {shapes} |")
    lines.append("| recovery (hazard ratio vs control) | ratio | "
                 + " | ".join(f"{DEFAULT_EFFECTS.recovery_hr[a]:.4g}" for a in arms) + " | Weibull, shape 1.3 |")
    for k, r in DEFAULT_EFFECTS.adverse_rates.items():
        lines.append(f"| ae_{k} (events per subject, 12 weeks) | rate | " + " | ".join(f"{r[a]:.3g}" for a in arms)
                     + " | Poisson |")
    return "\n".join(lines)


def _claims_sentence() -> str:
    ct_ = claim_truth()
    held = ", ".join(str(c) for c in ct_.loc[ct_["truth"] == "true", "claim"])
    not_held = ", ".join(str(c) for c in ct_.loc[ct_["truth"] == "null", "claim"])
    return f"claims {held} hold; {not_held} do not"


def _readme(frames: Mapping[str, pd.DataFrame], versions: Mapping[str, str] | None = None) -> str:
    v = dict(versions or _versions())
    parts = [
        "# Sample data (simulated, with known truth)",
        "",
        "Two simulated randomised trials for low back pain, written by `combotherapy.simulate.write_sample_data`. "
        "They are not real patients. Regenerate them with",
        "",
        "```bash",
        "python -c \"import combotherapy.simulate as s; s.write_sample_data('data/sample')\"",
        "```",
        "",
        f"Written with Python {v['python']}, numpy {v['numpy']} and pandas {v['pandas']}. numpy does not promise the "
        "same random streams across versions, so another numpy may write different (equally valid) numbers; "
        "`tests/test_simulate.py` checks the bytes only under the recorded numpy version.",
        "",
        "| file | design | subjects | seed |",
        "|---|---|---|---|",
    ]
    for name, frame in frames.items():
        d = SAMPLE_DESIGNS[name]
        parts.append(f"| `{name}.csv` | {SAMPLE_TITLES[name]}; {d['n_per_arm']} per arm, visits 0, 4, 8, 12, 26 weeks, "
                     f"{d['dropout']:.0%} expected dropout | {frame['subject'].nunique()} | {SAMPLE_SEEDS[name]} |")
    parts += [
        "",
        "`datapackage.json` is the data dictionary (a Frictionless Data Package with a Table Schema per file: "
        "types, units, ranges, the allowed arms, sexes and sites, primary key `subject, visit`).",
        "",
        "## Layout",
        "",
        "Long: one row per subject and visit, canonical column names. Visit-level outcomes are blank after "
        "a subject drops out (rows are kept); subject-level columns (covariates, `sessions_*`, `recovery_time`, "
        "`recovered`, `adverse_events`, `ae_<type>`) repeat on every row of the subject. About 3 % of CRP "
        "samples are missing at random (lost samples). Usual care has no planned sessions: `sessions_planned` "
        "and `sessions_attended` are blank in the `control` arm. In the other arms 12 weekly sessions are "
        "planned (physiotherapy, acupuncture, or both in one visit in the combined arm).",
        "",
        "## Design",
        "",
        "* Covariates: age (normal 50 +/- 13, 18-80), sex (55 % female), pain duration (log-normal, median 9 "
        "months; about 20 % acute, under 3 months), site (4 sites; sites shift severity).",
        "* Repeated measures: mean trajectory + visit-specific SD x a correlated error, correlation "
        "0.3 + 0.7 exp(-|t - u| / 10 weeks) between visits; outcomes share a common severity factor. Values are "
        "rounded and clipped to the instrument's range. CRP is log-normal; analgesic days are negative binomial "
        "(shape 2.5) clipped at 28.",
        "* Natural history (usual care) improves everyone; acute patients improve twice as much. Treatment effects "
        "are the same in acute and chronic pain (physiotherapy helps after years of pain).",
        "* Pain, disability and analgesic use fall early in the combined arm (most of the effect by week 4). "
        f"Attendance rises with the fall in pain by week 4 ({DEFAULT_EFFECTS.adherence_slope:g} log-odds per point), "
        "so the combined arm's better "
        "adherence is mediated by early pain relief (no direct effect).",
        "* Recovery: Weibull proportional hazards, censored at dropout or week 26.",
        "* Dropout: monotone, missing at random given the last observed pain (0.35 log-odds per point).",
        "* Adverse events: Poisson counts over the 12-week treatment period; needling events (bruising, "
        "needle pain, more dizziness) only with acupuncture, muscle soreness with physiotherapy; none serious.",
        "",
        "## True effects",
        "",
        "Change from baseline at week 12 by arm (control = usual care, i.e. natural history; for ratio outcomes "
        "the ratio of the week-12 mean to baseline). Versus usual care the combination is additive (log scale for "
        "ratios and hazards) except for the null claims: CRP (no arm changes it), endurance (physiotherapy only) "
        "and PHQ-9 (all active arms equal: sub-additive).",
        "",
        _effects_markdown(),
        "",
        "The true contrasts (latent scale; clipping at range limits attenuates observed differences slightly; "
        "the adherence difference is without dropout). `truth` marks the claims of the claims report: `true` = "
        "combined is better than that monotherapy, `null` = it is not; a claim holds when every row of it is "
        f"`true` (`combotherapy.simulate.claim_truth()`: {_claims_sentence()}). "
        "`direction` says whether the first arm of the contrast is better on the instrument's own scale.",
        "",
        _truth_markdown(CANONICAL_ARMS),
        "",
    ]
    return "\n".join(parts)


def sample_files(versions: Mapping[str, str] | None = None) -> dict[str, str]:
    """The text of every file of ``data/sample/`` as the simulator writes it (file name -> text).

    ``versions`` (``{"python": ..., "numpy": ..., "pandas": ...}``) replaces the running versions in the
    README and data package, so a test can compare everything but the recorded versions.
    """
    frames = {name: simulate_frame(seed=SAMPLE_SEEDS[name], **SAMPLE_DESIGNS[name]) for name in SAMPLE_DESIGNS}
    texts = {name: _csv_text(f) for name, f in frames.items()}
    files = {f"{name}.csv": t for name, t in texts.items()}
    files["datapackage.json"] = json.dumps(sample_datapackage(frames, texts, versions), indent=2) + "\n"
    files["README.md"] = _readme(frames, versions)
    return files


def write_sample_data(folder: str | Path) -> list[Path]:
    """Write the sample trials, their data package and README into ``folder`` (atomically, file by file).

    Example
    -------
    >>> from combotherapy.simulate import write_sample_data
    >>> write_sample_data("data/sample")  # doctest: +SKIP
    """
    folder = Path(folder)
    return [write_text(folder / name, text) for name, text in sample_files().items()]
