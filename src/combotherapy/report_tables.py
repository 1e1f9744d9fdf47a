"""Tables as journals print them, for the HTML report: human headers, ``p < 0.001``, CIs as "a to b".

Example
-------
>>> format_p(0.0000229), format_p(0.0451), format_p(0.5)
('< 0.001', '0.045', '0.5')
>>> format_ci(-1.234, float("inf"))
'-1.23 to ∞'
"""

from __future__ import annotations

import html
import math

import pandas as pd

from .export import format_value

__all__ = ["format_p", "format_ci", "journal_frame", "journal_html", "ADJUST_NAMES"]

ADJUST_NAMES = {"holm": "Holm", "bonferroni": "Bonferroni", "hochberg": "Hochberg", "hommel": "Hommel",
                "fdr": "BH", "bh": "BH", "by": "BY", "fixed-sequence": "fixed sequence", "mvt": "multivariate t",
                "tukey": "Tukey", "sidak": "Šidák", "dunnett": "Dunnett"}
_HEADERS = {"estimate": "Estimate", "se": "SE", "statistic": "Statistic", "p": "p", "arm": "Arm", "visit": "Week",
            "first": "Arm", "second": "vs", "contrast": "Contrast", "term": "Term", "id": "Claim", "claim": "Text",
            "outcome": "Outcome", "measure": "Measure", "units": "Units", "mid": "MID", "verdict": "Verdict",
            "reason": "Reason", "n": "n", "n_excluded": "n excluded", "df": "df", "type": "Type"}
# columns a reader of a journal table does not need (kept in the exported CSV/JSON)
_DROP = {"log_estimate", "std_effect", "std_ci_low", "std_ci_high", "std_mid", "model", "statistic"}


def format_p(p: object) -> str:
    """A p-value as journals print it: ``< 0.001`` below 0.001, otherwise 2 significant digits."""
    try:
        value = float(p)
    except (TypeError, ValueError):
        return ""
    if not math.isfinite(value):
        return ""
    return "< 0.001" if value < 0.001 else f"{value:.2g}"


def _bound(v: float, digits: int) -> str:
    if math.isinf(v):
        return "∞" if v > 0 else "−∞"
    return format_value(v, digits)


def format_ci(low: object, high: object, digits: int = 3) -> str:
    """An interval as ``a to b`` (infinite one-sided ends as ∞); blank when missing."""
    try:
        lo, hi = float(low), float(high)
    except (TypeError, ValueError):
        return ""
    if math.isnan(lo) or math.isnan(hi):
        return ""
    return f"{_bound(lo, digits)} to {_bound(hi, digits)}"


def journal_frame(frame: pd.DataFrame, *, adjust: str | None = None, alpha: float | None = None,
                  digits: int = 3) -> pd.DataFrame:
    """The table with human headers, formatted p-values and one CI column (text cells)."""
    out = pd.DataFrame(index=frame.index)
    level = f"{100 * (1 - (alpha if alpha else 0.05)):g}% CI"
    adj = (adjust or "").lower()
    same_p = "p" in frame and "p_adj" in frame and frame["p"].equals(frame["p_adj"])
    for col in frame.columns:
        if col in _DROP or col == "ci_high":
            continue
        if col == "df" and pd.to_numeric(frame[col], errors="coerce").map(
                lambda v: not math.isfinite(v) if pd.notna(v) else True).all():
            continue  # z tests: "df inf" says nothing
        if col == "ci_low" and "ci_high" in frame:
            out[level] = [format_ci(a, b, digits) for a, b in zip(frame["ci_low"], frame["ci_high"])]
        elif col in ("p", "p_adj"):
            if col == "p_adj" and (same_p or adj in ("", "none")):
                continue
            name = "p" if col == "p" else f"p ({ADJUST_NAMES.get(adj, adj)})"
            out[name] = frame[col].map(format_p)
        else:
            header = _HEADERS.get(col, str(col).replace("_", " "))
            out[header] = frame[col].map(lambda v: "" if v is None or (isinstance(v, float) and math.isnan(v))
                                         else format_value(v, digits))
    return out


def journal_html(frame: pd.DataFrame, *, caption: str = "", adjust: str | None = None,
                 alpha: float | None = None, digits: int = 3) -> str:
    """A journal table as HTML (class ``combotherapy journal``; long text cells get class ``long``)."""
    t = journal_frame(frame, adjust=adjust, alpha=alpha, digits=digits)
    head = "".join(f'<th scope="col">{html.escape(str(c))}</th>' for c in t.columns)
    body = []
    for row in t.itertuples(index=False, name=None):
        cells = "".join(('<td class="long">' if len(str(v)) > 40 else "<td>") + f"{html.escape(str(v))}</td>"
                        for v in row)
        body.append(f"<tr>{cells}</tr>")
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return (f'<table class="combotherapy journal">{cap}<thead><tr>{head}</tr></thead><tbody>'
            + "".join(body) + "</tbody></table>\n")


def result_html(result, digits: int = 3, *, estimand: bool = True) -> str:
    """A result (title, what was fitted, headline, estimand, tables, notes) with journal tables; ``estimand=False``
    leaves the estimand out (the report shows it in its own section)."""
    parts = result.parts()
    if parts:  # a bundle (the primary analysis): each part, then what was skipped and why
        return ("\n".join(result_html(r, digits, estimand=estimand) for r in parts)
                + "".join(f"<p>{html.escape(line)}</p>\n" for line in getattr(result, "skipped", [])))
    fitted = result.fitted
    adjust, alpha = getattr(fitted, "adjust", None), getattr(fitted, "alpha", None)
    out = [f'<div class="combotherapy-result"><h3>{html.escape(result.title)}</h3>',
           "<ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in fitted.lines()) + "</ul>"]
    out += [f"<p><strong>{html.escape(line)}</strong></p>" for line in result.headline()]
    if estimand:
        from .estimand import Estimand
        from .results import estimand_html

        if isinstance(getattr(result, "estimand", None), Estimand):
            out.append(estimand_html(result.estimand))
    for name, frame in result.frames().items():
        out.append(journal_html(frame, caption=name, adjust=adjust, alpha=alpha, digits=digits))
    if result.notes:
        out.append("<p>Notes:</p><ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in result.notes) + "</ul>")
    out.append("</div>")
    return "\n".join(out) + "\n"
