"""The public datasets that ship with combotherapy: list them, find their files, load each with one call.

Each dataset lives in a folder of this package (``src/combotherapy/datasets/<folder>/``) beside a ``SOURCE.md``
giving its origin, citation, licence and data dictionary. Trials load as a mapped, validated
:class:`~combotherapy.trial.Trial` (the mappings are the ones README shows); study-level sets (meta-analysis
inputs from metafor/metadat and netmeta) load as a DataFrame, as published.

Only permissively licensed data (Apache 2.0) are in the wheel. Data under the GPL or non-commercial terms stay in
the source repository (the same folders under ``src/combotherapy/datasets/``): they are there in a clone or an
editable install, and :func:`path` says where to get them when they are absent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..errors import DataError
from ..instruments import Instrument

if TYPE_CHECKING:
    from ..trial import Trial

__all__ = ["list", "path", "load", "source", "vickers", "fev_data", "bcva_data", "neck_pain", "antidepressant",
           "HERE", "REPOSITORY_FOLDER"]

#: the folder holding the dataset folders (inside the installed package)
HERE = Path(__file__).resolve().parent
#: where the datasets are in the source repository (for data that the wheel does not ship)
REPOSITORY_FOLDER = "src/combotherapy/datasets"

_APACHE = "Apache-2.0"
_GPL = "GPL-2.0-or-later"
_VICKERS_TERMS = "CC BY-NC-SA 4.0 (teaching documentation); research and teaching use with attribution"


@dataclass(frozen=True)
class _Dataset:
    """One file of a public dataset: where it is, what it is, its terms, and how it loads."""

    folder: str
    file: str
    description: str
    licence: str
    origin: str
    kind: str = "studies"  # "trial": a mapped Trial; "studies": a study-level DataFrame as published
    mapping: dict[str, Any] = field(default_factory=dict)

    @property
    def in_wheel(self) -> bool:
        # only permissive terms may be redistributed in the wheel (pyproject's package-data says the same)
        return self.licence == _APACHE


# outcomes are Instruments (immutable) built once here; ct.load copies what it needs
_REGISTRY: dict[str, _Dataset] = {
    "vickers_headache": _Dataset(
        "vickers_acupuncture_headache", "acupuncture.csv",
        "Vickers et al. (BMJ 2004): acupuncture vs usual care for chronic headache, 401 patients, wide "
        "(baseline, 3 and 12 months)", _VICKERS_TERMS,
        "Vickers AJ. Trials 2006;7:15 (supplementary file); the trial: BMJ 2004;328:744", "trial",
        dict(columns={"subject": "id", "arm": "group", "headache_w0": "pk1", "headache_w13": "pk2",
                      "headache_w52": "pk5"},
             arms={1: "acupuncture", 0: "control"},
             outcomes={"headache": Instrument(low=0, better="lower", units="points", label="Headache score")})),
    "fev_data": _Dataset(
        "mmrm_fev_data", "fev_data.csv",
        "R mmrm's fev_data (artificial): 200 subjects x 4 visits, FEV1, baseline as a column", _APACHE,
        "R package mmrm (openpharma/mmrm), data/fev_data.rda", "trial",
        dict(columns={"subject": "USUBJID", "arm": "ARMCD", "visit": "AVISIT", "fev1": "FEV1",
                      "fev1_baseline": "FEV1_BL"},
             arms={"PBO": "control", "TRT": "treatment"}, visits={"VIS1": 1, "VIS2": 2, "VIS3": 3, "VIS4": 4},
             outcomes={"fev1": Instrument(low=0, better="higher", units="%")})),
    "bcva_data": _Dataset(
        "mmrm_bcva_data", "bcva_data.csv",
        "R mmrm's bcva_data (artificial): 1,000 subjects x 10 visits, BCVA change from baseline", _APACHE,
        "R package mmrm (openpharma/mmrm), data/bcva_data.rda", "trial",
        dict(columns={"subject": "USUBJID", "arm": "ARMCD", "visit": "VISITN", "bcva_change": "BCVA_CHG"},
             arms={"CTL": "control", "TRT": "treatment"},
             outcomes={"bcva_change": Instrument(better="higher", units="letters")})),
    "neck_pain": _Dataset(
        "ordinalcont_neck_pain_laser", "neck_pain.csv",
        "Chow et al. (Pain 2006): low-level laser vs sham for neck pain, 90 patients, long, VAS 0-1", _GPL,
        "R package ordinalCont, data/neck_pain.rda", "trial",
        dict(columns={"subject": "id", "arm": "laser", "visit": "time"}, arms={1: "laser", 2: "control"},
             visits={1: 0, 2: 7, 3: 12}, outcomes={"vas": Instrument(low=0, high=1, better="lower")})),
    "antidepressant": _Dataset(
        "rbmi_antidepressant", "antidepressant_data.csv",
        "rbmi's antidepressant trial: 172 patients, HAMD-17 change at weeks 1, 2, 4, 6, drug vs placebo, "
        "monotone dropout (missing visits have no row)", _APACHE,
        "R package rbmi (openpharma/rbmi), data/antidepressant_data.rda", "trial",
        dict(columns={"subject": "PATIENT", "arm": "THERAPY", "visit": "VISIT", "hamd17_change": "CHANGE",
                      "hamd17_baseline": "BASVAL", "sex": "GENDER", "site": "POOLINV"},
             arms={"PLACEBO": "control", "DRUG": "treatment"}, visits={"4": 1, "5": 2, "6": 4, "7": 6},
             outcomes={"hamd17_change": Instrument(better="lower", units="points",
                                                   label="HAMD-17 change from baseline")})),
    "bcg": _Dataset("metafor_dat_bcg", "dat_bcg.csv", "BCG vaccine trials: 13 studies, 2x2 tables", _GPL,
                    "R package metadat, dat.bcg"),
    "hasselblad1998": _Dataset(
        "metafor_dat_hasselblad1998", "dat_hasselblad1998.csv",
        "Smoking cessation: 24 trials of 4 interventions, long arm layout", _GPL,
        "R package metadat, dat.hasselblad1998"),
    "lee2004": _Dataset("metafor_dat_lee2004", "dat_lee2004.csv",
                        "Acupoint P6 stimulation for nausea: 16 trials, 2x2 tables", _GPL,
                        "R package metadat, dat.lee2004"),
    "konstantopoulos2011": _Dataset(
        "metafor_dat_konstantopoulos2011", "dat_konstantopoulos2011.csv",
        "Modified school calendars: 56 studies (schools) in 11 districts, SMD (three-level)", _GPL,
        "R package metadat, dat.konstantopoulos2011"),
    "assink2016": _Dataset("metafor_dat_assink2016", "dat_assink2016.csv",
                           "Recidivism and mental health: 100 effect sizes in 17 studies, SMD (three-level)", _GPL,
                           "R package metadat, dat.assink2016"),
    "berkey1998": _Dataset("metafor_dat_berkey1998", "dat_berkey1998.csv",
                           "Periodontal disease: 5 trials x 2 correlated outcomes with their covariances (multivariate)",
                           _GPL, "R package metadat, dat.berkey1998"),
    "senn2013": _Dataset("netmeta_Senn2013", "senn2013.csv",
                         "Senn et al. 2013: glucose-lowering drugs, 26 trials, contrast-based (MD, SE)", _GPL,
                         "R package netmeta, Senn2013"),
    "senn2013_arms": _Dataset("netmeta_Senn2013", "senn2013_arms.csv",
                              "Senn et al. 2013, arm-based (n, mean, SD)", _GPL, "R package metabook, Senn2013"),
    "smokingcessation": _Dataset(
        "netmeta_smokingcessation", "smokingcessation.csv",
        "Smoking cessation: 24 trials, 4 treatments A-D, wide arm layout", _GPL, "R package netmeta, smokingcessation"),
    "linde2016": _Dataset("netmeta_Linde2016", "linde2016.csv",
                          "Linde et al. 2016: 22 depression treatments in primary care, 93 trials, arm-based", _GPL,
                          "R package netmeta, Linde2016"),
    "linde2016_contrasts": _Dataset("netmeta_Linde2016", "linde2016_contrasts.csv",
                                    "Linde et al. 2016, contrast-based (log odds ratios)", _GPL,
                                    "R package metabook, Linde2016"),
    "baker2009": _Dataset("netmeta_Baker2009", "baker2009.csv",
                          "Baker et al. 2009: COPD drugs and 2 combinations, 39 trials, arm-based", _GPL,
                          "R package netmeta, Baker2009"),
    "discomb_example": _Dataset("netmeta_discomb_example", "discomb_example.csv",
                                "netmeta's artificial disconnected network with combination treatments", _GPL,
                                "R package netmeta, help page of discomb()"),
    "lalonde": _Dataset("matchit_lalonde", "lalonde.csv",
                        "LaLonde / Dehejia-Wahba: NSW job training vs PSID comparison, 614 men (observational)",
                        _GPL, "R package MatchIt, lalonde"),
}


def list() -> pd.DataFrame:  # noqa: A001  (the name the module's users call: ct.datasets.list())
    """Every dataset: its name, what it is, its licence, whether the wheel ships it and whether it is here.

    Returns
    -------
    DataFrame
        Columns ``name, description, licence, in_wheel, available, kind, folder, file`` (``kind``: ``"trial"``
        loads as a Trial, ``"studies"`` as a study-level DataFrame).

    Example
    -------
    >>> import combotherapy as ct
    >>> table = ct.datasets.list()
    >>> table.loc[table["in_wheel"], "name"].tolist()
    ['fev_data', 'bcva_data', 'antidepressant']
    """
    rows = [{"name": name, "description": d.description, "licence": d.licence, "in_wheel": d.in_wheel,
             "available": (HERE / d.folder / d.file).is_file(), "kind": d.kind, "folder": d.folder, "file": d.file}
            for name, d in _REGISTRY.items()]
    return pd.DataFrame(rows)


def _entry(name: str) -> _Dataset:
    if name not in _REGISTRY:
        raise DataError(f"unknown dataset '{name}'; the datasets are {sorted(_REGISTRY)} (ct.datasets.list())")
    return _REGISTRY[name]


def path(name: str) -> Path:
    """The file of dataset ``name``.

    Parameters
    ----------
    name : str
        A name from :func:`list`.

    Returns
    -------
    Path
        The CSV file inside the installed package.

    Raises
    ------
    DataError
        Unknown name, or a dataset that is not installed: data whose terms keep them out of the wheel (GPL,
        non-commercial) are in the source repository; the message says where.

    Example
    -------
    >>> import combotherapy as ct
    >>> ct.datasets.path("fev_data").name
    'fev_data.csv'
    """
    d = _entry(name)
    file = HERE / d.folder / d.file
    if not file.is_file():
        raise DataError(
            f"dataset '{name}' is not installed here: its terms ({d.licence}) keep it out of the combotherapy "
            f"wheel. It is in the combotherapy source repository under {REPOSITORY_FOLDER}/{d.folder}/{d.file} "
            f"(with SOURCE.md: origin, citation, terms); install from a clone (pip install -e .) or download it "
            f"from its origin: {d.origin}.")
    return file


def source(name: str) -> str:
    """The text of the dataset's ``SOURCE.md``: origin, citation, licence terms and data dictionary."""
    d = _entry(name)
    file = HERE / d.folder / "SOURCE.md"
    if not file.is_file():
        path(name)  # raises the message saying where the dataset is
    return file.read_text(encoding="utf-8")


def load(name: str) -> Trial | pd.DataFrame:
    """Load dataset ``name`` with one call: a mapped Trial for trials, a DataFrame for study-level data.

    Parameters
    ----------
    name : str
        A name from :func:`list`.

    Returns
    -------
    Trial or DataFrame
        Trials go through :func:`combotherapy.load` with the mapping README shows (validated, identifier guard);
        study-level sets are returned as published (one row per study, arm or contrast).

    Example
    -------
    >>> import combotherapy as ct
    >>> ct.datasets.load("fev_data").n_subjects
    200
    """
    d = _entry(name)
    file = path(name)
    if d.kind == "trial":
        from ..io import load as load_file  # lazy: the loaders import the whole reading stack

        return load_file(file, **d.mapping)
    # UTF-8 (a byte-order mark, if any, dropped); R's write.csv quotes text and writes NA for missing
    return pd.read_csv(file, encoding="utf-8-sig")


def vickers() -> Trial:
    """Vickers et al. (BMJ 2004), acupuncture for chronic headache: ``headache`` at weeks 0, 13 and 52, as a Trial.

    The wheel does not ship these data (non-commercial terms); they are in the source repository.

    Example
    -------
    >>> import combotherapy as ct
    >>> ct.datasets.vickers().n_subjects
    401
    """
    return load("vickers_headache")


def fev_data() -> Trial:
    """R mmrm's ``fev_data`` as a Trial: ``fev1`` at visits 1-4, ``fev1_baseline``, arms control/treatment.

    Example
    -------
    >>> import combotherapy as ct
    >>> ct.datasets.fev_data().n_subjects
    200
    """
    return load("fev_data")


def bcva_data() -> Trial:
    """R mmrm's ``bcva_data`` as a Trial: ``bcva_change`` at visits 1-10, arms control/treatment.

    Example
    -------
    >>> import combotherapy as ct
    >>> ct.datasets.bcva_data().n_subjects
    1000
    """
    return load("bcva_data")


def neck_pain() -> Trial:
    """Chow et al. (Pain 2006), laser vs sham for neck pain, as a Trial: ``vas`` at weeks 0, 7 and 12.

    The wheel does not ship these data (GPL); they are in the source repository.

    Example
    -------
    >>> import combotherapy as ct
    >>> ct.datasets.neck_pain().n_subjects
    90
    """
    return load("neck_pain")


def antidepressant() -> Trial:
    """rbmi's antidepressant trial as a Trial: ``hamd17_change`` at weeks 1, 2, 4 and 6, arms control/treatment.

    Example
    -------
    >>> import combotherapy as ct
    >>> ct.datasets.antidepressant().n_subjects
    172
    """
    return load("antidepressant")
