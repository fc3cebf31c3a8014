"""``ivig patient add`` / ``show`` / ``measure`` as a coordinator uses them."""

from __future__ import annotations

from tests.cli.helpers import assert_refused
from tests.conftest import Ivig
from tests.factories import course_in, register


def _add(*extra: str, mrn: str = "M7") -> list[str]:
    return [
        "patient",
        "add",
        "--mrn",
        mrn,
        "--name",
        "Ada Example",
        "--birth-date",
        "1961-02-03",
        "--sex",
        "male",
        "--weight-kg",
        "74.5",
        *extra,
    ]


def test_add_prints_the_patient_with_its_mrn(ivig: Ivig) -> None:
    doc = ivig.ok(*_add("--height-cm", "180", "--diabetes", "type1"))

    assert doc["mrn"] == "M7"
    assert doc["birth_date"] == "1961-02-03"
    assert doc["sex"] == "male"
    assert doc["weight_kg"] == 74.5
    assert doc["height_cm"] == 180
    assert doc["diabetes"] == "type1"


def test_add_without_diabetes_or_height_defaults_to_none(ivig: Ivig) -> None:
    doc = ivig.ok(*_add())

    assert doc["mrn"] == "M7"
    assert doc["diabetes"] == "none"
    assert doc["height_cm"] is None


def test_registered_patient_can_be_shown_again(ivig: Ivig) -> None:
    added = ivig.ok(*_add())

    shown = ivig.ok("patient", "show", "M7")
    assert shown.pop("measurements") == []
    assert shown == added


def test_every_sex_and_diabetes_value_is_accepted(ivig: Ivig) -> None:
    for i, (sex, diabetes) in enumerate(
        [("female", "none"), ("male", "type1"), ("other", "type2"), ("unknown", "none")]
    ):
        args = _add("--diabetes", diabetes, mrn=f"S{i}")
        args[args.index("--sex") + 1] = sex
        doc = ivig.ok(*args)
        assert (doc["sex"], doc["diabetes"]) == (sex, diabetes)


def test_duplicate_mrn_is_refused_and_the_first_patient_kept(ivig: Ivig) -> None:
    first = register(ivig, "M1")

    assert_refused(ivig, _add(mrn="M1"), code=1, names=["mrn"])
    assert {**first, "measurements": []} == ivig.ok("patient", "show", "M1")


def test_measure_records_hba1c_and_monofilament(ivig: Ivig) -> None:
    register(ivig, "M1")

    doc = ivig.ok(
        "patient",
        "measure",
        "M1",
        "--date",
        "2026-11-02",
        "--hba1c",
        "7.4",
        "--monofilament-sites-felt",
        "8",
        "--actor",
        "nurse.nia",
    )

    assert doc["mrn"] == "M1"
    assert doc["date"] == "2026-11-02"
    assert doc["hba1c_percent"] == 7.4
    assert doc["monofilament_sites_felt"] == 8
    assert doc["actor"] == "nurse.nia"


def test_measure_completes_the_patients_hba1c_follow_up_and_schedules_the_next(
    ivig: Ivig,
) -> None:
    # Diabetic patient, last infusion L = 2026-10-05: hba1c due 2027-01-05.
    course_in(ivig, "monitoring")
    ivig.now("2027-01-03T10:00:00+00:00")

    ivig.ok("patient", "measure", "M1", "--date", "2027-01-03", "--hba1c", "6.9")

    hba1c = [f for f in ivig.ok("followups", "list", "--mrn", "M1") if f["kind"] == "hba1c"]
    assert [(f["due_date"], f["status"]) for f in hba1c] == [
        ("2027-01-05", "done"),
        ("2027-04-03", "scheduled"),
    ]


def test_measure_for_an_unregistered_mrn_is_refused(ivig: Ivig) -> None:
    register(ivig, "M1")

    assert_refused(
        ivig,
        ["patient", "measure", "NOPE", "--date", "2026-11-02", "--hba1c", "7"],
        code=1,
        names=["mrn"],
    )
