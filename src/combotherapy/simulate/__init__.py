"""Simulated randomised trials with known truth: the sample data generator.

The package has one module per concern: :mod:`.effects` (the design constants and the true effects),
:mod:`.generator` (the draw), :mod:`.truth` (the true contrasts and claim truths) and :mod:`.publish`
(the committed sample files of ``data/sample/``).

:func:`simulate_trial` draws a trial of physiotherapy, acupuncture, their combination and (optionally)
usual care, with every registry instrument, correlated repeated measures, baseline covariates and
missing-at-random dropout. The true effects are data (:data:`DEFAULT_EFFECTS`, tabulated as
:data:`TRUTH`), so tests and the claims report can check that analyses recover them.
:func:`write_sample_data` writes the committed files of ``data/sample/`` from documented seeds.

The design, in one place (every number below is a module constant or a field of :class:`Effects`):

* Subjects are allocated to arms in the sizes asked (permuted, so ids do not reveal the arm);
  covariates: age (years, normal 50 +/- 13 clipped to 18-80), sex (55 % female), pain duration
  (months since onset, log-normal, median 9, about a fifth acute, i.e. < 3 months), site (4 sites).
* Each visit-level outcome is ``mean(arm, visit, covariates) + sd(visit) * e`` where ``e`` has, over
  visits, the correlation ``c + (1 - c) exp(-|t_i - t_j| / tau)`` (``c = 0.3``, ``tau = 10`` weeks) and
  visit-specific SDs (an unstructured covariance in all but name). Outcomes share a common
  "severity" factor, so pain, disability and quality of life move together.
* The mean change from baseline in arm ``a`` at week ``t`` is
  ``h_control * s_control(t) * (1 + acute) + (h_a - h_control) * s_a(t)`` where ``h`` is the change at
  week 12 of :class:`OutcomeEffect` and ``s`` the trajectory shape (1 at week 12): acute patients
  improve twice as much by natural history, treatment effects are the same in acute and chronic pain.
  Ratio outcomes (CRP, analgesic days) use the same formula on the log scale.
* Values are then rounded and clipped to the instrument's range (``_DESIGN``); CRP is log-normal,
  analgesic days are negative binomial (Poisson with a gamma multiplier) clipped at 28.
* Adherence: the combined arm's pain falls first (shape ``"early"``); the log-odds of attending each
  planned session rises by ``adherence_slope`` per point of pain fallen from baseline to the first
  follow-up visit, so early pain relief mediates the combined arm's better attendance.
* Recovery time: Weibull proportional hazards (shape 1.3) with the hazard ratios of
  ``Effects.recovery_hr`` (and 1.5 for acute pain), censored at dropout or at the last visit.
* Adverse events: Poisson counts per type over the treatment period (the first 12 weeks, shortened by
  dropout); needling events only in arms with acupuncture; none is serious.
* Dropout is monotone and missing at random: between visits ``j - 1`` and ``j`` a subject still in the
  study leaves with probability ``expit(a_j + 0.35 (pain_{j-1} - 5))`` where ``pain_{j-1}`` is the last
  observed pain; ``a_j`` is solved on the draw so that the expected proportion lost by the last visit is
  ``dropout`` (equal expected hazard per interval).
"""

from .effects import (
    ACUTE_HR,
    CLAIMS,
    CRP_MISSING,
    DEFAULT_EFFECTS,
    DEFAULT_VISITS,
    DROPOUT_SLOPE,
    PRIMARY_WEEK,
    SESSIONS_PLANNED,
    SITES,
    VISIT_OUTCOMES,
    Effects,
    OutcomeEffect,
    _check_args,
)
from .generator import _draw, simulate_frame, simulate_trial
from .publish import SAMPLE_DESIGNS, SAMPLE_SEEDS, _csv_text, sample_datapackage, sample_files, write_sample_data
from .truth import TRUTH, claim_truth, report_truth, truth_table

__all__ = [
    "OutcomeEffect", "Effects", "DEFAULT_EFFECTS", "TRUTH", "PRIMARY_WEEK", "DEFAULT_VISITS",
    "SAMPLE_SEEDS", "SAMPLE_DESIGNS", "simulate_trial", "simulate_frame", "truth_table", "claim_truth",
    "report_truth",
    "write_sample_data",
    "sample_datapackage",
    "sample_files",
    # design constants and internals that tests and the CLI read
    "ACUTE_HR", "CLAIMS", "CRP_MISSING", "DROPOUT_SLOPE", "SESSIONS_PLANNED", "SITES", "VISIT_OUTCOMES",
    "_check_args", "_draw", "_csv_text",
]
