"""Figures: functions that draw a trial or a fitted result (never refitting) and return a Figure.

``import combotherapy as ct`` then ``ct.plot.<function>``. Every function takes ``ax=`` to draw
into an existing axes, draws inside the house :func:`style` (Okabe–Ito colours, one per arm,
DejaVu Sans) without touching global rcParams, and never imports :mod:`matplotlib.pyplot`.
:func:`save` writes PNG/SVG/PDF whose bytes are the same on every run.

Each figure has a pure function that computes its numbers (``consort_counts``,
``waterfall_data``, ``responder_curve_data``, ...) so they can be checked and tabulated.
"""

from . import meta as meta  # ct.plot.meta: figures of the evidence across trials (meta-analysis, NMA)
from .claims import claims, claims_data
from .consort import ConsortCounts, consort, consort_counts
from .forest import forest, forest_data
from .power import power_curve, power_curve_data
from .responders import ResponderCurve, responder_curve, responder_curve_data
from .save import figure_bytes, save
from .sensitivity import sensitivity, sensitivity_data
from .style import ARM_COLORS, OKABE_ITO, arm_colors, arm_markers, style
from .survival import KMPlotData, survival, survival_data
from .tipping_point import tipping_point, tipping_point_data
from .trajectory import trajectory, trajectory_data
from .waterfall import waterfall, waterfall_data

__all__ = [
    "style", "save", "figure_bytes", "arm_colors", "arm_markers", "ARM_COLORS", "OKABE_ITO",
    "consort", "consort_counts", "ConsortCounts",
    "waterfall", "waterfall_data",
    "responder_curve", "responder_curve_data", "ResponderCurve",
    "trajectory", "trajectory_data",
    "forest", "forest_data",
    "survival", "survival_data", "KMPlotData",
    "claims", "claims_data",
    "tipping_point", "tipping_point_data", "sensitivity", "sensitivity_data",
    "power_curve", "power_curve_data",
]
