"""ct.meta.read_studies runs the identifier guard with kind="study": publication metadata passes, patient
identifiers do not, and no value is echoed."""

from __future__ import annotations

import pandas as pd
import pytest

import combotherapy as ct
from combotherapy.meta.io import read_studies


def studies(**extra) -> pd.DataFrame:
    d = pd.DataFrame({"author": ["Smith J", "Smith J", "Garcia M", "Garcia M"],
                      "study": ["Smith 2004", "Smith 2004", "Garcia 2011", "Garcia 2011"],
                      "year": [2004, 2004, 2011, 2011], "treat": ["A", "B", "A", "B"],
                      "events": [3, 5, 4, 9], "n": [20, 21, 30, 29]})
    return d.assign(**extra)


def test_authors_and_study_labels_are_publication_metadata():
    frame = read_studies(studies())
    assert frame.attrs["layout"] == "arms" and len(frame) == 4


def test_patient_identifiers_in_a_study_file_are_refused_without_values():
    email = ["ann.lee@example.org", "bob.ray@example.org", "cy.hu@example.org", "di.ma@example.org"]
    with pytest.raises(ct.IdentifierError) as err:
        read_studies(studies(contact=email))
    assert "contact" in str(err.value)
    assert not any(e in str(err.value) for e in email)


def test_a_checked_column_can_be_allowed():
    email = ["ann.lee@example.org"] * 4
    assert "contact" in read_studies(studies(contact=email), allow_identifiers=["contact"]).columns


def test_every_bundled_study_level_dataset_passes_the_guard():
    names = ct.datasets.list()
    for name in names.loc[names["kind"] == "studies", "name"]:
        assert len(read_studies(ct.datasets.path(name))) > 0, name
