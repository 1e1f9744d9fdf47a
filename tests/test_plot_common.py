"""Plot house style, palette, deterministic saving; also the small trials the plot tests share.

The trials are built directly with ``Trial(frame, instruments)`` from a seeded generator (not
with ``ct.simulate_trial``) so the image baselines do not move when the simulator is tuned.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import matplotlib as mpl
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

import combotherapy as ct
from combotherapy.arms import arm_order
from combotherapy.instruments import REGISTRY
from combotherapy.plot.save import DPI
from combotherapy.plot.style import ARM_COLORS, OKABE_ITO, arm_colors, arm_markers, style

BASELINES = Path(__file__).resolve().parent / "baseline_images"


def make_trial(arms=("physio", "acupuncture", "combined"), n_per_arm=12, visits=(0.0, 4.0, 8.0, 12.0), *,
               seed=1, dropout=0.2, intermittent=0.1, effect=None) -> ct.Trial:
    """A small long-form trial with pain (lower better) and rom (higher better).

    Each subject drops out after a random visit with probability ``dropout`` (monotone), and
    misses single post-baseline visits with probability ``intermittent``.
    """
    rng = np.random.default_rng(seed)
    sizes = dict(zip(arms, n_per_arm)) if not isinstance(n_per_arm, int) else dict.fromkeys(arms, n_per_arm)
    order = arm_order(list(arms))
    arm = np.repeat(list(sizes), list(sizes.values()))
    n = arm.size
    subj = np.array([f"P{i:03d}" for i in range(n)])
    v = np.asarray(visits, dtype=float)
    effect = effect or {"control": 0.0, "physio": 1.2, "acupuncture": 1.0, "combined": 2.2}
    gain = np.array([effect.get(a, 0.8) for a in arm])
    base_pain = np.clip(rng.normal(6.5, 1.2, n), 0, 10)
    frac = v / v.max()
    pain = np.clip(base_pain[:, None] - gain[:, None] * frac[None, :] + rng.normal(0, 1.0, (n, v.size))
                   * (frac[None, :] > 0), 0, 10)
    rom = np.clip(55 + 6 * gain[:, None] * frac[None, :] + rng.normal(0, 8, (n, v.size)), 0, 180)
    # monotone dropout: after visit index k, nothing is recorded
    drops = rng.random(n) < dropout
    last = np.where(drops, rng.integers(0, v.size - 1, n), v.size - 1)
    keep = np.arange(v.size)[None, :] <= last[:, None]
    miss = (rng.random((n, v.size)) < intermittent) & (np.arange(v.size)[None, :] > 0) \
        & (np.arange(v.size)[None, :] < last[:, None])
    pain = np.where(miss, np.nan, pain)
    frame = pd.DataFrame({
        "subject": np.repeat(subj, v.size).astype(str),
        "arm": pd.Categorical(np.repeat(arm, v.size), categories=order, ordered=True),
        "visit": np.tile(v, n),
        "pain": pain.ravel().round(1),
        "rom": rom.ravel().round(0),
    })
    frame = frame.loc[keep.ravel()].reset_index(drop=True)
    frame["subject"] = frame["subject"].astype("str")
    return ct.Trial(frame, {"pain": REGISTRY["pain"], "rom": REGISTRY["rom"]}, source="test")


def figure_texts(fig: Figure) -> list[str]:
    """Every visible text of a drawn figure (labels, tick labels, legend entries, numbers in boxes), in order."""
    from matplotlib.text import Text

    return [t.get_text() for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]


def check_image(fig: Figure, name: str, tmp_path: Path, tol: float = 3.0) -> None:
    """Compare ``fig`` with tests/baseline_images/<name>.png (RMS tolerance ``tol``) and its texts with <name>.json.

    The pixel tolerance lets anti-aliasing differences between FreeType builds pass, but it also lets a
    changed digit pass (one count changed in a CONSORT box moves the RMS by less than 3), so the figure's
    texts are compared exactly as well.

    Regenerate baselines deliberately with ``COMBOTHERAPY_UPDATE_BASELINES=1 pytest tests/test_plot*.py``
    (see tests/baseline_images/README.md); CI never sets it, so a missing baseline fails.
    """
    import json

    from matplotlib.testing.compare import compare_images

    expected = BASELINES / f"{name}.png"
    expected_texts = BASELINES / f"{name}.json"
    if os.environ.get("COMBOTHERAPY_UPDATE_BASELINES") == "1":
        ct.plot.save(fig, expected)
        expected_texts.write_text(json.dumps(figure_texts(fig), indent=1, ensure_ascii=False) + "\n",
                                  encoding="utf-8")
        pytest.skip(f"baseline {expected.name} regenerated")
    assert expected.exists() and expected_texts.exists(), \
        f"no baseline {expected} / {expected_texts.name}; see tests/baseline_images/README.md"
    actual = tmp_path / f"{name}.png"
    ct.plot.save(fig, actual)  # draws the figure, which sets the tick labels
    assert figure_texts(fig) == json.loads(expected_texts.read_text(encoding="utf-8"))
    diff = compare_images(str(expected), str(actual), tol=tol)
    assert diff is None, diff


# --- palette -------------------------------------------------------------------------------
def test_canonical_arms_keep_their_colour_whatever_the_trial():
    assert arm_colors(["combined", "physio"]) == {"physio": ARM_COLORS["physio"], "combined": ARM_COLORS["combined"]}
    four = arm_colors(["combined", "control", "acupuncture", "physio"])
    assert list(four) == ["control", "physio", "acupuncture", "combined"]
    assert four == ARM_COLORS
    assert set(ARM_COLORS.values()) <= set(OKABE_ITO.values())


def test_declared_arms_take_the_remaining_colours_in_order():
    cols = arm_colors(["physio", "yoga", "walking"])
    assert cols["physio"] == ARM_COLORS["physio"]
    assert cols["yoga"] == OKABE_ITO["vermillion"] and cols["walking"] == OKABE_ITO["reddish_purple"]
    eight = arm_colors(list(ARM_COLORS) + ["a", "b", "c", "d"])
    assert len(set(eight.values())) == 8
    markers = arm_markers(list(ARM_COLORS) + ["a"])
    assert len(set(markers.values())) == 5


def test_too_many_declared_arms_is_a_data_error():
    with pytest.raises(ct.DataError, match="palette has room for 4"):
        arm_colors(["a", "b", "c", "d", "e"])


# --- style ---------------------------------------------------------------------------------
def test_style_restores_rcparams_even_after_an_error():
    before = dict(mpl.rcParams)
    with style({"font.size": 13}):
        assert mpl.rcParams["font.sans-serif"][0] == "DejaVu Sans"
        assert mpl.rcParams["font.size"] == 13
    assert dict(mpl.rcParams) == before
    with pytest.raises(RuntimeError), style():
        raise RuntimeError("boom")
    assert dict(mpl.rcParams) == before


def test_plot_functions_leave_rcparams_and_pyplot_alone():
    import matplotlib.pyplot as plt

    before = dict(mpl.rcParams)
    n_open = len(plt.get_fignums())
    ct.plot.consort(make_trial())
    ct.plot.waterfall(make_trial(), "pain", 12)
    assert dict(mpl.rcParams) == before
    assert len(plt.get_fignums()) == n_open  # library figures are not pyplot-managed windows


def test_importing_combotherapy_imports_no_pyplot_and_changes_no_rcparams():
    # read rcParams with _get: plain item access of 'backend' would itself import pyplot
    code = ("import sys, matplotlib as mpl; snap = lambda: {k: mpl.rcParams._get(k) for k in mpl.rcParams}; "
            "before = snap(); import combotherapy as ct; "
            "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'; "
            "assert snap() == before, 'rcParams changed'; assert callable(ct.plot.consort)")
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


# --- deterministic files -------------------------------------------------------------------
def _sample_figure() -> Figure:
    with style():
        fig = Figure(figsize=(4, 3))
        ax = fig.add_subplot()
        ax.plot([0, 1, 2], [2, 1, 3], label="physio", color=ARM_COLORS["physio"])
        ax.set_title("Pain — café ±")
        ax.legend()
    return fig


@pytest.mark.parametrize("fmt", ["png", "svg", "pdf"])
def test_same_figure_saved_twice_gives_identical_bytes(fmt, tmp_path):
    fig = ct.plot.consort(make_trial())
    a, b = tmp_path / f"a.{fmt}", tmp_path / f"b.{fmt}"
    ct.plot.save(fig, a)
    ct.plot.save(fig, b)
    assert a.read_bytes() == b.read_bytes()
    assert len(a.read_bytes()) > 1000


def test_bytes_are_identical_across_processes(tmp_path):
    # a new process draws a new random SVG salt unless save() fixes it: the real test of determinism
    script = (
        "import sys, hashlib; sys.path.insert(0, sys.argv[1]); import matplotlib; matplotlib.use('Agg');\n"
        "from test_plot_common import make_trial; import combotherapy as ct\n"
        "fig = ct.plot.responder_curve(make_trial(), 'pain', 12, thresholds=[2])\n"
        "print(' '.join(hashlib.sha256(ct.plot.figure_bytes(fig, f)).hexdigest() for f in ('png', 'svg', 'pdf')))\n"
    )
    here = str(Path(__file__).resolve().parent)
    other = subprocess.run([sys.executable, "-c", script, here], check=True, capture_output=True, text=True).stdout
    fig = ct.plot.responder_curve(make_trial(), "pain", 12, thresholds=[2])
    this = " ".join(hashlib.sha256(ct.plot.figure_bytes(fig, f)).hexdigest() for f in ("png", "svg", "pdf"))
    assert other.split() == this.split()


def test_files_carry_no_dates_or_software_versions():
    fig = _sample_figure()
    svg = ct.plot.figure_bytes(fig, "svg")
    pdf = ct.plot.figure_bytes(fig, "pdf")
    png = ct.plot.figure_bytes(fig, "png")
    assert b"<dc:date>" not in svg and b"Matplotlib v" not in svg
    assert b"/CreationDate" not in pdf and b"/Producer" not in pdf and b"/Creator" not in pdf
    assert b"Software" not in png and b"matplotlib" not in png.lower()
    # fixed resolution: the PNG is figsize x DPI pixels
    import io

    from PIL import Image

    assert Image.open(io.BytesIO(png)).size == (4 * DPI, 3 * DPI)


def test_save_formats_and_suffixes(tmp_path):
    fig = _sample_figure()
    out = ct.plot.save(fig, tmp_path / "sub" / "fig1", formats=["png", "svg", "pdf"])
    assert [p.name for p in out] == ["fig1.png", "fig1.svg", "fig1.pdf"]
    assert out[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert out[1].read_bytes().startswith(b"<?xml") and out[2].read_bytes().startswith(b"%PDF")
    # a suffix in the path is replaced, not doubled
    assert ct.plot.save(fig, tmp_path / "fig2.png", formats="svg")[0].name == "fig2.svg"
    # nothing temporary is left behind
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["fig1.pdf", "fig1.png", "fig1.svg"]


def test_save_rejects_unknown_formats_without_writing(tmp_path):
    fig = _sample_figure()
    with pytest.raises(ValueError, match="cannot tell the format"):
        ct.plot.save(fig, tmp_path / "fig.jpeg")
    with pytest.raises(ValueError, match="unsupported formats"):
        ct.plot.save(fig, tmp_path / "fig", formats=["png", "tiff"])
    with pytest.raises(TypeError, match="matplotlib Figure"):
        ct.plot.figure_bytes("not a figure", "png")
    assert list(tmp_path.iterdir()) == []
