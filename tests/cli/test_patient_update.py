"""``ivig patient update``: a patient's record is corrected, and the history keeps
what it was (the proof action of the catalogue: one entry + one service function)."""

from __future__ import annotations

import pytest

from tests.cli.helpers import assert_refused
from tests.conftest import Ivig
from tests.factories import register


def test_update_changes_only_the_fields_given_and_keeps_old_and_new(ivig: Ivig) -> None:
    register(ivig)
    before = ivig.ok("patient", "show", "M1")

    doc = ivig.ok(
        "patient", "update", "M1", "--weight-kg", "79.5", "--diabetes", "none",
        "--reason", "re-weighed; diabetes was entered in error",
    )  # fmt: skip

    assert doc["weight_kg"] == 79.5 and doc["diabetes"] == "none"
    assert doc["name"] == before["name"] and doc["height_cm"] == before["height_cm"]
    history = ivig.ok("patient", "history", "M1")
    assert [e["trigger"] for e in history] == ["register", "update"]
    assert history[-1]["reason"] == "re-weighed; diabetes was entered in error"
    assert history[-1]["changes"] == {
        "weight_kg": {"old": before["weight_kg"], "new": 79.5},
        "diabetes": {"old": before["diabetes"], "new": "none"},
    }


def test_update_of_name_and_height(ivig: Ivig) -> None:
    register(ivig)
    doc = ivig.ok(
        "patient", "update", "M1", "--name", "Test Patient-Smith", "--height-cm", "171",
        "--reason", "married name; measured",
    )  # fmt: skip
    assert doc["name"] == "Test Patient-Smith" and doc["height_cm"] == 171


def test_an_update_that_changes_nothing_is_refused(ivig: Ivig) -> None:
    patient = register(ivig)
    weight = f"{patient['weight_kg']:g}"
    assert_refused(
        ivig, ["patient", "update", "M1", "--weight-kg", weight, "--reason", "x"],
        code=1, names=["update"],
    )  # fmt: skip


def test_an_update_without_any_field_is_malformed(ivig: Ivig) -> None:
    register(ivig)
    assert_refused(ivig, ["patient", "update", "M1", "--reason", "x"], code=2, names=["update"])


@pytest.mark.parametrize(
    ("option", "value"),
    [("--weight-kg", "-3"), ("--weight-kg", "900"), ("--height-cm", "5"), ("--name", "  ")],
)
def test_bad_values_exit_2_naming_the_field(ivig: Ivig, option: str, value: str) -> None:
    register(ivig)
    assert_refused(
        ivig, ["patient", "update", "M1", option, value, "--reason", "x"], code=2, names=[option]
    )


def test_an_unknown_diabetes_value_is_a_usage_error(ivig: Ivig) -> None:
    register(ivig)
    assert_refused(
        ivig, ["patient", "update", "M1", "--diabetes", "type3", "--reason", "x"],
        code=2, names=["--diabetes"],
    )  # fmt: skip


def test_the_reason_is_required(ivig: Ivig) -> None:
    register(ivig)
    assert_refused(ivig, ["patient", "update", "M1", "--weight-kg", "70"], code=2, names=["reason"])


def test_an_unknown_mrn_is_refused(ivig: Ivig) -> None:
    assert_refused(
        ivig, ["patient", "update", "NOPE", "--weight-kg", "70", "--reason", "x"],
        code=1, names=["mrn"], mrns=(),
    )  # fmt: skip
