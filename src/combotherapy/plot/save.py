"""Deterministic figure files: the same figure gives the same bytes on every run.

Matplotlib stamps files with things that change between runs or installations: the SVG
element ids are salted randomly, PDF and SVG carry a creation date, and every format names
the producing software and its version. :func:`save` removes each of these, fixes the
resolution and the font handling, and writes through :mod:`combotherapy.files` so a
failed save never leaves a half-written file.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path

import matplotlib as mpl
from matplotlib.figure import Figure

from ..files import write_bytes

__all__ = ["save", "figure_bytes", "FORMATS", "DPI"]

#: formats :func:`save` can write
FORMATS = ("png", "svg", "pdf")

#: raster resolution (dots per inch) of PNG files
DPI = 200

# metadata keys each backend understands; None tells matplotlib to leave the key out
_METADATA = {
    "png": {"Software": None},
    "svg": {"Date": None, "Creator": None},
    "pdf": {"Creator": None, "Producer": None, "CreationDate": None},
}

# rcParams that shape the written bytes, independent of the user's matplotlibrc
_SAVE_RC = {
    "svg.hashsalt": "combotherapy",   # SVG ids are hashes salted by this; a fixed salt gives fixed ids
    "svg.fonttype": "path",           # glyphs as paths: the SVG looks the same without the font installed
    "svg.image_inline": True,
    "svg.id": None,
    "pdf.fonttype": 42,               # embed TrueType subsets: selectable text, identical glyphs
    "pdf.compression": 6,
    "pdf.use14corefonts": False,
    "savefig.facecolor": "white",
    "savefig.edgecolor": "white",
    "savefig.transparent": False,
    "savefig.bbox": None,
    "savefig.pad_inches": 0.1,
}


def figure_bytes(fig: Figure, fmt: str) -> bytes:
    """The bytes :func:`save` would write for ``fig`` in format ``fmt`` (``png``, ``svg`` or ``pdf``).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    fmt : {"png", "svg", "pdf"}

    Returns
    -------
    bytes

    Example
    -------
    >>> from matplotlib.figure import Figure
    >>> fig = Figure(); _ = fig.add_subplot().plot([0, 1])
    >>> figure_bytes(fig, "svg") == figure_bytes(fig, "svg")
    True
    """
    fmt = fmt.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r} is not supported; choose from {', '.join(FORMATS)}")
    if not isinstance(fig, Figure):
        raise TypeError(f"expected a matplotlib Figure, not {type(fig).__name__}")
    buf = io.BytesIO()
    # SOURCE_DATE_EPOCH would also fix dates, but dropping the keys keeps files free of any date
    with mpl.rc_context(_SAVE_RC):
        fig.savefig(buf, format=fmt, dpi=DPI, metadata=_METADATA[fmt])
    return buf.getvalue()


def save(fig: Figure, path: str | os.PathLike, *, formats: Sequence[str] | None = None) -> list[Path]:
    """Write a figure to files whose bytes do not change from run to run.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure, e.g. from :func:`combotherapy.plot.consort`.
    path : str or path-like
        Target file. With ``formats=None`` its suffix chooses the format (``.png``, ``.svg``
        or ``.pdf``); with ``formats`` given, one file per format is written next to it with
        the suffix replaced (``fig1`` + ``["png", "pdf"]`` gives ``fig1.png`` and ``fig1.pdf``).
    formats : sequence of str, optional
        Formats to write.

    Returns
    -------
    list of Path
        The files written, in the order of ``formats``.

    Notes
    -----
    Same bytes on the same versions of matplotlib, FreeType and the fonts: SVG ids are hashed
    with a fixed salt (``svg.hashsalt``), dates and software names are left out of the
    metadata, PNGs are rendered at a fixed 200 dpi (``DPI``) and text is drawn with DejaVu Sans from
    matplotlib's own font folder (inside :func:`combotherapy.plot.style`). Each file is
    written to a temporary file and renamed into place.

    Example
    -------
    >>> import combotherapy as ct
    >>> ct.plot.save(fig, "out/consort", formats=["png", "svg", "pdf"])  # doctest: +SKIP
    """
    path = Path(path)
    if formats is None:
        suffix = path.suffix.lower().lstrip(".")
        if suffix not in FORMATS:
            raise ValueError(f"cannot tell the format of '{path.name}' from its suffix; use a .png, .svg or .pdf "
                             f"suffix or pass formats=[...]")
        targets = [(suffix, path)]
    else:
        if isinstance(formats, str):
            formats = [formats]
        fmts = [f.lower().lstrip(".") for f in formats]
        bad = [f for f in fmts if f not in FORMATS]
        if bad or not fmts:
            raise ValueError(f"unsupported formats {bad or '[]'}; choose from {', '.join(FORMATS)}")
        stem = path.with_suffix("") if path.suffix.lower().lstrip(".") in FORMATS else path
        targets = [(f, stem.with_name(f"{stem.name}.{f}")) for f in dict.fromkeys(fmts)]
    written = []
    for fmt, target in targets:
        # render fully in memory first, then one atomic write
        written.append(write_bytes(target, figure_bytes(fig, fmt)))
    return written
