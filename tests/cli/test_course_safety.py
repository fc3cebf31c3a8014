"""Patient safety in the course itself (issue 11), from outside through the CLI on
SQLite and PostgreSQL: dose ceilings, the dosing weight, one active course, dates in
order, gaps between infusion days, approvals that lapse, lots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli.helpers import assert_refused
from tests.conftest import Ivig
from tests.factories import approve, course_in, infuse_all, register, request, request_doc


def _rules(course: dict[str, Any]) -> dict[str, str]:
    return {f["rule"]: f["severity"] for f in course["recommendation"]["findings"]}


def _request_args(mrn: str = "M1", **overrides: Any) -> tuple[list[str], str]:
    return ["course", "request", "--file", "-"], json.dumps(request_doc(mrn, **overrides))


# --- review rules -------------------------------------------------------------------


def test_25_times_the_dose_is_not_supported(ivig: Ivig) -> None:
    register(ivig)
    course = request(ivig, dose_g_per_kg_per_day=5, days=10)
    assert course["recommendation"]["outcome"] == "not_supported"
    assert _rules(course)["dose.ceiling"] == "block"


def test_a_dosing_weight_far_from_the_registered_one_blocks(ivig: Ivig) -> None:
    register(ivig, **{"weight_kg": "71.5"})
    course = request(ivig, weight_kg=95)
    finding = next(
        f for f in course["recommendation"]["findings"] if f["rule"] == "dose.weight_mismatch"
    )
    assert finding["severity"] == "block"
    assert "95 kg" in finding["message"] and "71.5 kg" in finding["message"]


@pytest.mark.parametrize(
    ("request_kg", "blocks"), [(78.65, False), (78.66, True), (64.35, False), (64.34, True)]
)
def test_the_weight_check_is_10_percent_either_way(
    ivig: Ivig, request_kg: float, blocks: bool
) -> None:
    register(ivig, **{"weight_kg": "71.5"})
    assert ("dose.weight_mismatch" in _rules(request(ivig, weight_kg=request_kg))) is blocks


def test_correcting_the_registration_then_amending_clears_the_weight_mismatch(ivig: Ivig) -> None:
    register(ivig, **{"weight_kg": "71.5"})
    cid = request(ivig, weight_kg=95)["id"]
    ivig.ok("patient", "update", "M1", "--weight-kg", "95", "--reason", "weighed again")
    amend = ["course", "amend", str(cid), "--file", "-", "--note", "registration corrected"]
    course = ivig.ok(*amend, stdin=json.dumps(request_doc(weight_kg=95)))
    assert "dose.weight_mismatch" not in _rules(course)


def test_an_obese_adult_is_dosed_on_adjusted_weight_and_the_course_says_why(ivig: Ivig) -> None:
    register(ivig, **{"weight_kg": "120"})  # 170 cm: BMI 41.5
    course = request(ivig, weight_kg=120)
    dose = course["dose"]
    assert dose["weight_rule"].startswith("adjusted (BMI 41.5")
    assert dose["dosing_weight_kg"] < 120
    assert dose["grams_per_day"] == round(dose["dosing_weight_kg"] * 0.4, 2)


def test_pregnancy_keeps_actual_weight(ivig: Ivig) -> None:
    register(ivig, **{"weight_kg": "120"})
    course = request(ivig, weight_kg=120, pregnant=True)
    assert (course["dose"]["dosing_weight_kg"], course["dose"]["weight_rule"]) == (
        120,
        "actual (pregnant)",
    )


def test_height_unknown_warns_and_uses_actual_weight(ivig: Ivig) -> None:
    ivig.ok(
        *("patient", "add", "--mrn", "M1", "--name", "No Height", "--birth-date", "1960-01-01"),
        *("--sex", "male", "--weight-kg", "82", "--diabetes", "type2"),
    )
    course = request(ivig)
    assert _rules(course)["dose.height_unknown"] == "warn"
    assert course["dose"]["weight_rule"] == "actual (height unknown)"


def test_a_non_boolean_pregnant_is_malformed(ivig: Ivig) -> None:
    register(ivig)
    args, doc = _request_args(pregnant="maybe")
    assert_refused(ivig, args, stdin=doc, code=2, names=["pregnant"])


# --- one active course ----------------------------------------------------------------


def test_a_second_request_while_one_is_under_way_is_refused(ivig: Ivig) -> None:
    for state in ("requested", "reviewed", "infusing"):
        mrn = f"A-{state}"
        cid = course_in(ivig, state, mrn=mrn)
        args, doc = _request_args(mrn)
        result = assert_refused(ivig, args, stdin=doc, code=1, names=[f"course {cid}"], mrns=[mrn])
        assert state in result.err


def test_a_request_after_a_relapse_points_to_retreat(ivig: Ivig) -> None:
    cid = course_in(ivig, "relapsed")
    args, doc = _request_args()
    result = assert_refused(ivig, args, stdin=doc, code=1, names=[f"course retreat {cid}"])
    assert "relapsed" in result.err


def test_a_request_while_one_is_in_monitoring_warns_of_the_overlap(ivig: Ivig) -> None:
    first = course_in(ivig, "monitoring")
    course = request(ivig)
    assert _rules(course)["course.overlap"] == "warn"
    assert f"course {first}" in next(
        f["message"] for f in course["recommendation"]["findings"] if f["rule"] == "course.overlap"
    )


def test_after_a_final_state_a_new_request_is_allowed(ivig: Ivig) -> None:
    course_in(ivig, "cancelled")
    assert "course.overlap" not in _rules(request(ivig))


def test_two_courses_never_both_infuse_one_patient_on_one_day(ivig: Ivig) -> None:
    first = course_in(ivig, "monitoring")  # infusions 2026-10-01 .. 10-05
    second = int(request(ivig)["id"])
    approve(ivig, second)
    assert_refused(
        ivig,
        ["course", "infuse", str(second), "--date", "2026-10-05", "--grams", "32.8"],
        code=1,
        names=[f"course {first}", "2026-10-05"],
    )
    ivig.ok("course", "infuse", str(second), "--date", "2026-10-06", "--grams", "32.8")


# --- dates in order -------------------------------------------------------------------


def test_a_review_dated_before_the_request_is_refused(ivig: Ivig) -> None:
    cid = course_in(ivig, "requested")  # requested on 2026-09-25
    assert_refused(
        ivig,
        [
            *("course", "review", str(cid), "--decision", "approve", "--reviewer", "dr.r"),
            *("--note", "ok", "--date", "2026-09-24"),
        ],
        code=1,
        names=["date", "2026-09-25"],
    )


def test_a_first_infusion_before_the_approval_is_refused(ivig: Ivig) -> None:
    register(ivig)
    cid = int(request(ivig)["id"])  # requested on 2026-09-25
    approve(ivig, cid, on="2026-09-28")
    assert_refused(
        ivig,
        ["course", "infuse", str(cid), "--date", "2026-09-27", "--grams", "32.8"],
        code=1,
        names=["approval", "2026-09-28"],
    )


def test_relapse_and_close_before_the_last_infusion_are_refused(ivig: Ivig) -> None:
    cid = course_in(ivig, "monitoring")  # last infusion 2026-10-05
    for command in ("relapse", "close"):
        assert_refused(
            ivig,
            ["course", command, str(cid), "--date", "2026-10-04"],
            code=1,
            names=["date", "2026-10-05"],
        )


def test_an_assessment_before_the_infusions_is_refused(ivig: Ivig) -> None:
    cid = course_in(ivig, "monitoring")
    assert_refused(
        ivig,
        ["course", "assess", str(cid), "--date", "2026-09-30", "--vas", "3"],
        code=1,
        names=["date"],
    )


def test_a_gap_between_infusion_days_needs_an_override(ivig: Ivig) -> None:
    cid = course_in(ivig, "infusing")  # day 1 on 2026-10-01
    args = ["course", "infuse", str(cid), "--date", "2026-10-05", "--grams", "32.8"]
    result = assert_refused(ivig, args, code=1, names=["override-reason", "4 days"])
    assert "3" in result.err
    course = ivig.ok(*args, "--override-reason", "patient unwell on days 2-4")
    assert course["infusions"][-1]["override_reason"] == "patient unwell on days 2-4"
    # Three days later is within the gap.
    ivig.ok("course", "infuse", str(cid), "--date", "2026-10-08", "--grams", "32.8")


def test_an_infusion_day_above_the_ceiling_needs_an_override_even_as_planned(ivig: Ivig) -> None:
    register(ivig)
    cid = int(request(ivig, dose_g_per_kg_per_day=1.2, days=1)["id"])  # 98.4 g planned
    approve(ivig, cid)
    args = ["course", "infuse", str(cid), "--date", "2026-10-01", "--grams", "98.4"]
    assert_refused(ivig, args, code=1, names=["dose.ceiling", "override-reason"])
    course = ivig.ok(*args, "--override-reason", "prescribed by the neurologist")
    assert course["state"] == "monitoring"


def test_exactly_at_the_ceilings_does_not_block(ivig: Ivig) -> None:
    register(ivig)  # 82 kg
    # 0.44 x 5 is 2.2000000000000002 in floating point: still exactly the course ceiling.
    for dose, days in [(0.44, 5), (0.22, 10), (1.0, 2)]:
        course = request(ivig, dose_g_per_kg_per_day=dose, days=days)
        assert "dose.ceiling" not in _rules(course), (dose, days)
        ivig.ok("course", "cancel", str(course["id"]), "--reason", "boundary")
    for dose, days in [(0.45, 5), (1.01, 1), (1.1, 2)]:
        course = request(ivig, dose_g_per_kg_per_day=dose, days=days)
        assert _rules(course)["dose.ceiling"] == "block", (dose, days)
        ivig.ok("course", "cancel", str(course["id"]), "--reason", "boundary")


def test_days_within_10_percent_that_pass_the_course_ceiling_need_an_override(
    ivig: Ivig,
) -> None:
    register(ivig)  # 82 kg: course ceiling 180.4 g
    cid = int(request(ivig, dose_g_per_kg_per_day=0.44, days=5)["id"])  # 36.08 g a day
    approve(ivig, cid)
    for day in range(1, 5):  # 146 g in 4 days, each within 10 % of the plan
        ivig.ok("course", "infuse", str(cid), "--date", f"2026-10-0{day}", "--grams", "36.5")
    args = ["course", "infuse", str(cid), "--date", "2026-10-05", "--grams", "39"]
    assert_refused(ivig, args, code=1, names=["grams", "course ceiling", "override-reason"])
    assert ivig.ok(*args[:-1], "34.4")["state"] == "monitoring"  # 180.4 g: at the ceiling


# --- approvals lapse -------------------------------------------------------------------


def test_an_infusion_after_the_approval_lapsed_is_refused(ivig: Ivig) -> None:
    register(ivig)
    cid = int(request(ivig, requested_on="2026-06-01")["id"])
    ivig.ok(
        *("course", "review", str(cid), "--decision", "approve", "--reviewer", "dr.r"),
        *("--note", "ok", "--date", "2026-06-02"),
    )
    # Valid 90 days: through 2026-08-31.
    assert_refused(
        ivig,
        ["course", "infuse", str(cid), "--date", "2026-09-01", "--grams", "32.8"],
        code=1,
        names=["lapsed", "2026-08-31"],
    )
    ivig.ok("course", "infuse", str(cid), "--date", "2026-08-31", "--grams", "32.8")


# --- re-treatment interval, lots ------------------------------------------------------


def test_an_early_relapse_warns_on_the_retreatment(ivig: Ivig) -> None:
    register(ivig)
    cid = int(request(ivig)["id"])
    approve(ivig, cid)
    infuse_all(ivig, cid)  # last infusion 2026-10-05
    ivig.ok("course", "relapse", str(cid), "--date", "2026-10-20")
    new = ivig.ok("course", "retreat", str(cid), "--file", "-", stdin=json.dumps(request_doc("M1")))
    assert _rules(new)["retreatment.interval"] == "warn"
    finding = next(
        f for f in new["recommendation"]["findings"] if f["rule"] == "retreatment.interval"
    )
    assert "15 days" in finding["message"]


def test_a_relapse_months_later_does_not_warn(ivig: Ivig) -> None:
    cid = course_in(ivig, "relapsed")  # relapse 2026-11-10, 36 days after 10-05
    new = ivig.ok("course", "retreat", str(cid), "--file", "-", stdin=json.dumps(request_doc("M1")))
    assert "retreatment.interval" not in _rules(new)


def test_the_lot_is_recorded_and_shown(ivig: Ivig) -> None:
    cid = course_in(ivig, "reviewed")
    course = ivig.ok(
        *("course", "infuse", str(cid), "--date", "2026-10-01", "--grams", "32.8"),
        *("--lot", "OCT-2026-0142"),
    )
    assert course["infusions"][0]["lot"] == "OCT-2026-0142"
    assert "lot OCT-2026-0142" in course["history"][-1]["reason"]


def test_a_blank_lot_is_malformed_not_silently_dropped(ivig: Ivig) -> None:
    cid = course_in(ivig, "reviewed")
    args = ["course", "infuse", str(cid), "--date", "2026-10-01", "--grams", "32.8"]
    assert_refused(ivig, [*args, "--lot", "  "], code=2, names=["lot"])


# --- approvals expire -------------------------------------------------------------------


def _approved_on(ivig: Ivig, mrn: str, on: str) -> int:
    register(ivig, mrn)
    cid = int(request(ivig, mrn, requested_on=on)["id"])
    ivig.ok(
        *("course", "review", str(cid), "--decision", "approve", "--reviewer", "dr.r"),
        *("--note", "ok", "--date", on),
    )
    return cid


def test_expire_lapsed_moves_lapsed_approvals_to_expired_once(ivig: Ivig) -> None:
    old = _approved_on(ivig, "M1", "2026-06-01")  # valid through 2026-08-30
    fresh = _approved_on(ivig, "M2", "2026-10-01")
    assert ivig.ok("course", "expire-lapsed", "--as-of", "2026-08-30") == []
    expired = ivig.ok("course", "expire-lapsed", "--as-of", "2026-08-31")
    assert [row["id"] for row in expired] == [old]
    assert expired[0]["state"] == "expired"
    course = ivig.ok("course", "show", str(old))
    assert course["state"] == "expired"
    assert course["history"][-1]["actor"] == "system"
    assert course["history"][-1]["trigger"] == "expire"
    assert course["allowed_actions"] == []
    assert ivig.ok("course", "show", str(fresh))["state"] == "reviewed"
    assert ivig.ok("course", "expire-lapsed", "--as-of", "2026-08-31") == []
    assert_refused(
        ivig,
        ["course", "infuse", str(old), "--date", "2026-08-01", "--grams", "32.8"],
        code=1,
        names=["expired"],
    )
    # An expired course is final: a new request for the patient is allowed.
    assert request(ivig, "M1")["state"] == "requested"


def test_a_bad_as_of_is_malformed(ivig: Ivig) -> None:
    assert ivig("course", "expire-lapsed", "--as-of", "2026-13-01").code == 2


# --- adverse events ----------------------------------------------------------------------


def _event(ivig: Ivig, cid: int, *extra: str, kind: str = "headache", grade: str = "2") -> Any:
    return ivig.ok(
        *("course", "adverse-event", str(cid), "--date", "2026-10-02"),
        *("--kind", kind, "--grade", grade, *extra),
    )


def test_an_adverse_event_is_recorded_with_its_history_row(ivig: Ivig) -> None:
    cid = course_in(ivig, "infusing")
    course = _event(ivig, cid, "--note", "after day 1")
    assert course["state"] == "infusing"
    [event] = course["adverse_events"]
    assert (event["kind"], event["grade"], event["note"]) == ("headache", 2, "after day 1")
    assert course["history"][-1]["trigger"] == "adverse_event"
    assert "headache, grade 2" in course["history"][-1]["reason"]


def test_adverse_events_are_allowed_after_a_stop_but_not_before_infusions(ivig: Ivig) -> None:
    stopped = course_in(ivig, "discontinued")
    assert _event(ivig, stopped)["state"] == "discontinued"
    reviewed = course_in(ivig, "reviewed", mrn="M2")
    assert_refused(
        ivig,
        [
            *("course", "adverse-event", str(reviewed), "--date", "2026-10-02"),
            *("--kind", "headache", "--grade", "2"),
        ],
        code=1,
        names=["reviewed"],
        mrns=["M2"],
    )


def test_bad_adverse_event_input_is_malformed(ivig: Ivig) -> None:
    cid = course_in(ivig, "infusing")
    base = ["course", "adverse-event", str(cid), "--date", "2026-10-02"]
    assert_refused(ivig, [*base, "--kind", "rash", "--grade", "2"], code=2, names=["kind"])
    assert_refused(ivig, [*base, "--kind", "other", "--grade", "6"], code=2, names=["grade"])
    assert_refused(
        ivig,
        [
            "course",
            "adverse-event",
            str(cid),
            "--date",
            "2026-09-30",
            "--kind",
            "other",
            "--grade",
            "1",
        ],
        code=1,
        names=["date", "first infusion"],
    )


@pytest.mark.slow
def test_safety_report_counts_events_per_100_courses(ivig: Ivig) -> None:
    first = course_in(ivig, "monitoring")
    course_in(ivig, "monitoring", mrn="M2")
    _event(ivig, first, kind="headache", grade="1")
    _event(ivig, first, kind="thrombosis", grade="3")
    report = ivig.ok("report", "safety", "--as-of", "2026-11-20")
    assert (report["courses_treated"], report["events"], report["courses_with_event"]) == (2, 2, 1)
    assert report["per_100_courses"] == 100.0
    assert report["by_kind"]["thrombosis"]["by_grade"]["3"] == {
        "events": 1,
        "per_100_courses": 50.0,
    }
    assert report["by_grade"]["1"]["events"] == 1
    assert report["by_kind"]["hemolysis"]["events"] == 0
    before = ivig.ok("report", "safety", "--as-of", "2026-10-01")
    assert before["events"] == 0


# --- lots and the safety follow-up -------------------------------------------------------


def test_report_lot_lists_every_patient_course_and_day(ivig: Ivig) -> None:
    first = course_in(ivig, "reviewed")
    second = course_in(ivig, "reviewed", mrn="M2")
    for cid, day in ((first, "2026-10-01"), (second, "2026-10-02"), (first, "2026-10-02")):
        lot = "LOT-A" if (cid, day) != (first, "2026-10-02") else "LOT-B"
        ivig.ok(*("course", "infuse", str(cid), "--date", day, "--grams", "32.8", "--lot", lot))
    report = ivig.ok("report", "lot", "lot-a")
    assert (report["patients"], report["courses"]) == (2, 2)
    assert [(r["mrn"], r["course_id"], r["date"]) for r in report["infusions"]] == [
        ("M1", first, "2026-10-01"),
        ("M2", second, "2026-10-02"),
    ]
    assert ivig.ok("report", "lot", "NONE")["infusions"] == []


def test_a_course_stopped_after_an_adverse_event_gets_a_renal_check(ivig: Ivig) -> None:
    cid = course_in(ivig, "infusing")  # born 1958: 68, and diabetic
    _event(ivig, cid, kind="renal_dysfunction", grade="2")
    course = ivig.ok(
        "course", "stop", str(cid), "--date", "2026-10-02", "--reason", "creatinine up"
    )
    renal = [f for f in course["followups"] if f["kind"] == "renal_check"]
    assert [(f["due_date"], f["status"]) for f in renal] == [("2026-10-08", "scheduled")]
    assert all(
        f["status"] == "cancelled" for f in course["followups"] if f["kind"] != "renal_check"
    )


def test_a_course_stopped_without_an_event_gets_no_safety_followup(ivig: Ivig) -> None:
    cid = course_in(ivig, "discontinued")
    assert [
        f for f in ivig.ok("course", "show", str(cid))["followups"] if f["kind"] == "renal_check"
    ] == []
    # An event recorded after the stop brings it.
    course = _event(ivig, cid, kind="headache", grade="3")
    assert [f["kind"] for f in course["followups"] if f["status"] == "scheduled"] == ["renal_check"]


def test_no_renal_check_for_a_patient_without_renal_risk(ivig: Ivig) -> None:
    register(ivig, "M1", diabetes="none", **{"birth_date": "1990-01-01"})
    cid = int(request(ivig, creatinine_clearance_ml_min=95)["id"])
    approve(ivig, cid)
    ivig.ok("course", "infuse", str(cid), "--date", "2026-10-01", "--grams", "32.8")
    _event(ivig, cid, kind="headache", grade="2")
    course = ivig.ok("course", "stop", str(cid), "--date", "2026-10-02", "--reason", "headache")
    assert [f for f in course["followups"] if f["kind"] == "renal_check"] == []


def _alerts(sink: Path) -> list[dict[str, Any]]:
    lines = sink.read_text().splitlines() if sink.exists() else []
    return [r for r in map(json.loads, lines) if r["reminder"] == "adverse_event"]


def test_a_grade_3_event_is_messaged_at_once_and_a_grade_2_is_not(
    ivig: Ivig, tmp_path: Path
) -> None:
    sink = tmp_path / "reminders.jsonl"
    ivig.monkeypatch.setenv("IVIG_NOTIFY", sink.as_uri())
    cid = course_in(ivig, "infusing")
    _event(ivig, cid, kind="headache", grade="2")
    assert _alerts(sink) == []
    event = _event(
        ivig, cid, "--note", "Mrs Example, confused", kind="aseptic_meningitis", grade="3"
    )
    [record] = _alerts(sink)
    assert (record["course_id"], record["kind"], record["grade"]) == (cid, "aseptic_meningitis", 3)
    assert record["adverse_event_id"] == event["adverse_events"][-1]["id"]
    assert record["message_id"] and "Example" not in json.dumps(record)
