"""House style: one colour per arm, readable fonts, applied by a context manager.

Nothing here touches the global ``matplotlib.rcParams`` on import: :func:`style` is a
context manager (built on :func:`matplotlib.rc_context`) that every plotting function of
:mod:`combotherapy.plot` enters while it draws, and that users may enter around their own
figures. The font is DejaVu Sans, which ships inside matplotlib, so a figure renders the
same glyphs on every machine.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import matplotlib as mpl

from ..arms import CANONICAL_ARMS, arm_order
from ..errors import DataError

__all__ = ["OKABE_ITO", "ARM_COLORS", "ARM_MARKERS", "arm_colors", "arm_markers", "style", "HOUSE_RC"]

#: the Okabe–Ito colour-blind-safe palette (Okabe & Ito 2008), by name
OKABE_ITO: dict[str, str] = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}

#: one fixed colour per canonical arm, the same in every figure
ARM_COLORS: dict[str, str] = {
    "control": OKABE_ITO["black"],
    "physio": OKABE_ITO["blue"],
    "acupuncture": OKABE_ITO["orange"],
    "combined": OKABE_ITO["bluish_green"],
}

# declared (non-canonical) arms take these in order; yellow last because it is faint on white
_EXTRA_COLORS = (OKABE_ITO["vermillion"], OKABE_ITO["reddish_purple"], OKABE_ITO["sky_blue"], OKABE_ITO["yellow"])

#: one marker per canonical arm, so curves stay distinguishable in greyscale print
ARM_MARKERS: dict[str, str] = {"control": "o", "physio": "s", "acupuncture": "^", "combined": "D"}
_EXTRA_MARKERS = ("v", "P", "X", "h")

#: the house rcParams entered by :func:`style`
HOUSE_RC: dict[str, Any] = {
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],
    "font.size": 9.0,
    "axes.titlesize": 10.0,
    "axes.labelsize": 9.0,
    "xtick.labelsize": 8.0,
    "ytick.labelsize": 8.0,
    "legend.fontsize": 8.0,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.linewidth": 0.8,
    "axes.grid": False,
    "axes.prop_cycle": mpl.cycler(color=list(OKABE_ITO.values())),
    "lines.linewidth": 1.5,
    "lines.markersize": 5.0,
    "figure.dpi": 100.0,
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "savefig.facecolor": "white",
    "savefig.dpi": 200.0,
    "savefig.bbox": None,
    # fixed hinting so glyph rasterisation does not depend on a user's matplotlibrc
    "text.hinting": "force_autohint",
    "text.antialiased": True,
    "text.usetex": False,
    "mathtext.fontset": "dejavusans",
    "axes.unicode_minus": True,
}


def _extra_arms(arms: Sequence[str]) -> list[str]:
    return [a for a in arm_order(list(arms)) if a not in CANONICAL_ARMS]


def arm_colors(arms: Sequence[str]) -> dict[str, str]:
    """Colour of each arm: canonical arms keep their fixed colour, declared arms take the rest in order.

    Parameters
    ----------
    arms : sequence of str
        The arms of one trial (any order; duplicates ignored).

    Returns
    -------
    dict
        Arm name to hex colour, in display order (:func:`combotherapy.arms.arm_order`).

    Notes
    -----
    The palette is Okabe–Ito; with the four canonical arms fixed, four colours remain for
    declared arms, so a trial with more than four declared arms cannot be coloured
    unambiguously and raises :class:`~combotherapy.DataError`.

    References
    ----------
    Okabe M, Ito K. Color Universal Design (CUD): how to make figures and presentations
    that are friendly to colorblind people. 2008. https://jfly.uni-koeln.de/color/

    Example
    -------
    >>> arm_colors(["physio", "combined", "walking"])
    {'physio': '#0072B2', 'combined': '#009E73', 'walking': '#D55E00'}
    """
    extra = _extra_arms(arms)
    if len(extra) > len(_EXTRA_COLORS):
        raise DataError(f"{len(extra)} arms besides the canonical ones ({', '.join(extra)}): the colour-blind-safe "
                        f"palette has room for {len(_EXTRA_COLORS)}; plot a subset of the arms")
    extra_map = dict(zip(extra, _EXTRA_COLORS))
    return {a: ARM_COLORS.get(a) or extra_map[a] for a in arm_order(list(arms))}


def arm_markers(arms: Sequence[str]) -> dict[str, str]:
    """Marker of each arm (fixed for canonical arms, then declared arms in order)."""
    extra = _extra_arms(arms)
    extra_map = {a: _EXTRA_MARKERS[i % len(_EXTRA_MARKERS)] for i, a in enumerate(extra)}
    return {a: ARM_MARKERS.get(a) or extra_map[a] for a in arm_order(list(arms))}


@contextmanager
def style(rc: Mapping[str, Any] | None = None) -> Iterator[None]:
    """Enter the house style for the duration of a ``with`` block.

    Parameters
    ----------
    rc : mapping, optional
        rcParams to set on top of the house style (e.g. ``{"font.size": 11}``).

    Notes
    -----
    Built on :func:`matplotlib.rc_context`: every rcParam is restored on exit, including
    after an exception. Most rcParams are read when an artist is created, so create the
    figure inside the block.

    Example
    -------
    >>> import combotherapy as ct
    >>> with ct.plot.style():
    ...     fig = ct.plot.new_figure((4, 3))
    """
    with mpl.rc_context({**HOUSE_RC, **dict(rc or {})}):
        yield
