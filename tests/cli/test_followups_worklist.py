"""``ivig followups list`` as a worklist, and ``ivig followups plan``."""

from __future__ import annotations

from tests.conftest import Ivig
from tests.factories import course_in


def test_worklist_is_sorted_by_due_date_with_days_overdue_as_of_a_date(ivig: Ivig) -> None:
    course = course_in(ivig, "monitoring")  # last infusion 2026-10-05
    rows = ivig.ok("followups", "list", "--as-of", "2026-11-05")
    assert [(r["kind"], r["due_date"], r["when"]) for r in rows] == [
        ("reassess_2w", "2026-10-19", "overdue"),
        ("reassess_1m", "2026-11-05", "due today"),
        ("hba1c", "2027-01-05", "upcoming"),
        ("monofilament", "2027-10-05", "upcoming"),
    ]
    assert rows[0]["days_overdue"] == 17 and rows[1]["days_overdue"] == 0
    for row in rows:
        assert {"id", "kind", "mrn", "course_id", "due_date", "status"} <= set(row)
    assert rows[0]["course_id"] == course and rows[2]["course_id"] is None

    today = ivig.ok("followups", "list")  # the clock says 2026-11-20
    assert [r["days_overdue"] for r in today[:2]] == [32, 15]


def test_worklist_for_one_patient_one_course_or_everyone(ivig: Ivig) -> None:
    first = course_in(ivig, "monitoring", mrn="M1")
    course_in(ivig, "monitoring", mrn="M2")
    assert len(ivig.ok("followups", "list")) == 8
    assert {r["mrn"] for r in ivig.ok("followups", "list", "--mrn", "M2")} == {"M2"}
    by_course = ivig.ok("followups", "list", "--course", str(first))
    assert [r["kind"] for r in by_course] == ["reassess_2w", "reassess_1m"]


def test_human_worklist_groups_overdue_due_today_and_upcoming(ivig: Ivig) -> None:
    course_in(ivig, "monitoring")
    result = ivig("followups", "list", "--as-of", "2026-11-05")
    assert result.code == 0
    out = result.out
    assert out.index("Overdue (1)") < out.index("Due today (1)") < out.index("Upcoming (2)")
    assert "17 d" in out and "4 follow-up(s)" in out


def test_closed_followups_are_labelled_closed(ivig: Ivig) -> None:
    course_in(ivig, "completed")
    rows = ivig.ok("followups", "list", "--status", "cancelled")
    assert rows and {r["when"] for r in rows} == {"closed"}
    assert {r["days_overdue"] for r in rows} == {None}


def test_a_malformed_as_of_is_refused(ivig: Ivig) -> None:
    result = ivig("followups", "list", "--as-of", "2026-13-01")
    assert result.code == 2 and "as-of" in result.err


def test_plan_names_each_kind_with_its_source(ivig: Ivig) -> None:
    plan = ivig.ok("followups", "plan")
    by_kind = {p["kind"]: p for p in plan}
    assert list(by_kind) == ["reassess_2w", "reassess_1m", "hba1c", "monofilament", "renal_check"]
    assert by_kind["renal_check"]["safety_only"] and not by_kind["hba1c"]["safety_only"]
    assert by_kind["reassess_2w"]["due"] == "L + 14 days"
    assert by_kind["reassess_1m"]["due"] == "L + 1 month"
    assert by_kind["hba1c"]["repeats"] == "measurement date + 3 months"
    assert by_kind["monofilament"]["due"] == "L + 12 months"
    assert by_kind["hba1c"]["diabetes_only"] and not by_kind["reassess_2w"]["diabetes_only"]
    assert all(p["source"].startswith("seed ") for p in plan)
    human = ivig("followups", "plan")
    assert human.code == 0 and "source: seed 003" in human.out and "escalated once" in human.out
