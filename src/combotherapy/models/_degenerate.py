"""Checks for degenerate data that the model modules call at their entry points.

Each check either raises :class:`~combotherapy.errors.ModelError` (``kind="degenerate"``) naming the cause, or
returns notes that a model appends to its ``fitted.notes``, so that data with nothing to estimate give a clear
message or a stated handling, never a raw linear-algebra error or rounding noise presented as a result. The checks
live here (not inside each model) so that the models keep one-line calls. No value of the data is echoed except
visit weeks and event times, which are design values.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from ..errors import ModelError

__all__ = ["require_two_arms", "check_event_times", "empty_visit_notes", "single_level_notes"]


def require_two_arms(arms: Sequence[str], outcome: str, visit: float | None, model: str) -> None:
    """Raise a ModelError when fewer than two arms have data to compare.

    Parameters
    ----------
    arms : sequence of str
        The arms with analysed subjects.
    outcome : str
        Outcome name (for the message).
    visit : float or None
        Visit in weeks (for the message).
    model : str
        What was asked, e.g. ``"ANCOVA"``.

    Raises
    ------
    ModelError
        ``kind="degenerate"``: one arm (or none) has analysed subjects.

    Example
    -------
    >>> require_two_arms(["combined", "physio"], "pain", 12, "ANCOVA")   # two arms: nothing happens
    """
    arms = list(arms)
    if len(arms) >= 2:
        return
    at = f" at week {visit:g}" if visit is not None else ""
    found = f"only the arm '{arms[0]}' has" if arms else "no arm has"
    raise ModelError(f"the {model} compares arms, but {found} subjects with '{outcome}'{at} (a single-arm subset "
                     "of the trial?); there is no between-arm difference to estimate. Describe the arm instead "
                     "(ct.table_one) or analyse a subset with at least two arms.", kind="degenerate", column=outcome)


def check_event_times(time: np.ndarray, event: np.ndarray, time_name: str, event_name: str) -> None:
    """Raise a ModelError when every event happens at one and the same time.

    With a single distinct event time the survival curves fall in one step: there is no order of events for the
    log-rank test or the Cox partial likelihood to use beyond a comparison of proportions, the proportional
    hazards check (residuals against time) is not defined, and when every subject has the event at that time the
    log-rank variance is exactly zero.

    Parameters
    ----------
    time, event : ndarray
        Follow-up time and event indicator (1 = event) of the analysed subjects.
    time_name, event_name : str
        Column names (for the message).

    Raises
    ------
    ModelError
        ``kind="degenerate"``.

    Example
    -------
    >>> import numpy as np
    >>> check_event_times(np.array([3.0, 5.0, 5.0]), np.array([1, 1, 0]), "recovery_time", "recovered")
    """
    time, event = np.asarray(time, float), np.asarray(event, float)
    at = np.unique(time[event > 0])
    if len(at) != 1:
        return
    n_ev = int((event > 0).sum())
    everyone = "every subject has the event" if n_ev == len(time) else f"all {n_ev} events happen"
    raise ModelError(f"in '{time_name}', {everyone} at the same time ({at[0]:g}; '{event_name}' = 1): with a single "
                     "event time the survival curves fall in one step, so there is no order of events for the "
                     "log-rank test, the Cox model or the proportional-hazards check to use. Compare the "
                     f"proportion of subjects with '{event_name}' between arms instead (a binary outcome).",
                     kind="degenerate", column=time_name)


def empty_visit_notes(visits: Iterable[float], analysed: Iterable[float], outcome: str) -> list[str]:
    """Notes naming the post-baseline visits of the trial that a repeated-measures model leaves out for lack of data.

    Parameters
    ----------
    visits : iterable of float
        The trial's visits (weeks).
    analysed : iterable of float
        The post-baseline visits in the model.
    outcome : str
        Outcome name.

    Returns
    -------
    list of str
        One note, or none when every post-baseline visit is in the model.

    Example
    -------
    >>> empty_visit_notes([0, 4, 8, 12], [4, 12], "pain")
    ["week 8: no subject has a value of 'pain' at this visit, so the model leaves it out (no LS means or contrasts at week 8)"]
    """
    have = np.asarray(list(analysed), float)
    empty = [float(v) for v in visits if v > 0 and not np.isclose(have, float(v)).any()]
    if not empty:
        return []
    weeks = ", ".join(f"{v:g}" for v in empty)
    return [f"week{'s' if len(empty) > 1 else ''} {weeks}: no subject has a value of '{outcome}' at "
            f"{'these visits' if len(empty) > 1 else 'this visit'}, so the model leaves "
            f"{'them' if len(empty) > 1 else 'it'} out (no LS means or contrasts at week{'s' if len(empty) > 1 else ''} "
            f"{weeks})"]


def single_level_notes(variable: str, levels: Sequence[str]) -> list[str]:
    """A note when a subgroup variable has one fitted level: its rows repeat the overall contrasts.

    Parameters
    ----------
    variable : str
        The subgroup variable.
    levels : sequence of str
        Its levels fitted (each with at least 2 subjects in every arm).

    Returns
    -------
    list of str

    Example
    -------
    >>> single_level_notes("sex", ["female"])[0][:40]
    "'sex': a single level among the analysed"
    """
    if len(levels) != 1:
        return []
    return [f"'{variable}': a single level among the analysed subjects, so there are no subgroups to compare: "
            "its rows repeat the overall contrasts and there is no interaction test (interaction p left empty)"]
