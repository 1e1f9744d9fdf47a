"""Is an unknown arm or visit label safe to print in a message?

A loader that meets an arm or visit label it cannot map says so; the label is listed only when nothing about it
looks like a person: a word of the person-name lexicon (``Smith``, ``Maria``), an e-mail address, a calendar date
in any common rendering (``2024-03-01``, ``01.03.24``, ``3/1/2024``, ``Mar 2024``), a telephone-like digit run.
A false alarm only makes the message say "not shown"; a miss would print an identifier, so the test errs that way.
"""

from __future__ import annotations

import re

__all__ = ["label_names_a_person"]

# trial words that are also in the name lexicon or look like one: never a reason to hide a label
_TRIAL_WORDS = frozenset("""care usual group arm control therapy physio physiotherapy acupuncture combined treatment
placebo sham standard exercise active drug waitlist wait list week weeks visit baseline screening follow up day days
month months end study both none laser massage manual dry needling yoga tens heat cold education advice surgery
injection usual low high dose mild moderate severe early late period phase part cycle""".split())
_DATE = re.compile(
    r"\b\d{1,4}[./-]\d{1,2}[./-]\d{2,4}\b"                      # 2024-03-01, 01.03.24, 3/1/2024
    r"|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s*\d{2,4}\b"  # Mar 2024, March 24
    r"|\b\d{1,2}\s*(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\b",    # 1 Mar, 01MAR2024
    re.I)
_PHONE_OR_NUMBER = re.compile(r"\d[\d ()./-]{5,}\d")


def label_names_a_person(label: object) -> bool:
    """True when ``label`` may identify a person and must not be printed.

    Parameters
    ----------
    label : object
        An arm or visit label as read.

    Returns
    -------
    bool

    Example
    -------
    >>> [label_names_a_person(x) for x in ("Smith", "Week 4", "2024-03-01", "Usual care", "Group B")]
    [True, False, True, False, False]
    """
    from .names import lexicon

    s = str(label)
    if "@" in s or _DATE.search(s) or _PHONE_OR_NUMBER.search(s):
        return True
    given, surnames = lexicon()
    words = [w.lower() for w in re.findall(r"[A-Za-zÀ-ÿ'’-]{2,}", s)]
    return any(w not in _TRIAL_WORDS and (w in given or w in surnames) for w in words)
