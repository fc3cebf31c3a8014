"""The clinical cases of issue 12, run from outside: ``course request`` then ``course show``.

Each asserts the findings by rule id and severity a clinical pharmacist expects, and
that no advice exceeds the label's maximum for the patient's kidneys.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.conftest import Ivig
from tests.factories import course_in, register, request, request_doc


def findings(course: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["rule"]: f for f in course["recommendation"]["findings"]}


def advised_pregabalin(course: dict[str, Any]) -> list[float]:
    """Every pregabalin mg/day figure any finding recommends (upper end of a range)."""
    pattern = re.compile(r"pregabalin (?:up to |to at least )?(\d+)(?:–(\d+))? mg/day", re.I)
    doses = []
    for finding in course["recommendation"]["findings"]:
        for text in finding["recommendations"]:
            doses += [float(high or low) for low, high in pattern.findall(text)]
    return doses


def test_pregabalin_150_at_clearance_25_is_not_advised_up_to_300(ivig: Ivig) -> None:
    register(ivig, "M1")
    course = request(
        ivig,
        "M1",
        medications=[{"name": "pregabalin", "mg_per_day": 150}],
        creatinine_clearance_ml_min=25,
    )
    found = findings(course)
    assert "therapy.first_line" not in found
    assert found["therapy.renal_adjustment"]["severity"] == "warn"
    assert "15–30 mL/min" in found["therapy.renal_adjustment"]["message"]
    assert all(dose <= 150 for dose in advised_pregabalin(course))
    assert (
        ivig.ok("course", "show", str(course["id"]))["recommendation"] == course["recommendation"]
    )


def test_no_agent_at_clearance_25_gets_advice_within_the_band(ivig: Ivig) -> None:
    register(ivig, "M1")
    course = request(ivig, "M1", medications=[], creatinine_clearance_ml_min=25)
    assert findings(course)["therapy.first_line"]["severity"] == "warn"
    doses = advised_pregabalin(course)
    assert doses and all(dose <= 150 for dose in doses)


def test_gabapentin_3600_at_clearance_12(ivig: Ivig) -> None:
    register(ivig, "M1")
    course = request(
        ivig,
        "M1",
        medications=[{"name": "gabapentin", "mg_per_day": 3600}],
        creatinine_clearance_ml_min=12,
    )
    found = findings(course)
    # Below 15 mL/min both labels reduce gabapentin in proportion: 300 x 12/15.
    assert "at most 240 mg/day" in found["therapy.renal_adjustment"]["message"]
    assert found["therapy.max_dose"]["severity"] == "warn"
    assert "above 240 mg/day" in found["therapy.max_dose"]["message"]


def test_pregabalin_1200_and_duloxetine_240_exceed_the_label(ivig: Ivig) -> None:
    register(ivig, "M1")
    course = request(
        ivig,
        "M1",
        medications=[
            {"name": "pregabalin", "mg_per_day": 1200},
            {"name": "duloxetine", "mg_per_day": 240},
        ],
    )
    message = findings(course)["therapy.max_dose"]["message"].lower()
    assert "pregabalin 1200 mg/day" in message and "600 mg/day" in message
    assert "duloxetine 240 mg/day" in message and "120 mg/day" in message


def test_opioid_brands_and_amitriptyline_are_recognised(ivig: Ivig) -> None:
    register(ivig, "M1")
    names = ["Palexia", "Zydol", "Targin", "MS Contin", "Durogesic", "Tylenol #3"]
    course = request(
        ivig,
        "M1",
        medications=[
            {"name": "pregabalin", "mg_per_day": 300},
            {"name": "amitriptyline", "mg_per_day": 25},
            *({"name": name} for name in names),
        ],
    )
    found = findings(course)
    assert "therapy.unrecognised" not in found
    for name in names:
        assert name in found["therapy.opioids"]["message"]


def test_a_misspelt_medicine_is_reported(ivig: Ivig) -> None:
    register(ivig, "M1")
    course = request(
        ivig,
        "M1",
        medications=[
            {"name": "pregabalin", "mg_per_day": 300},
            {"name": "dulxetine", "mg_per_day": 60},
        ],
    )
    assert findings(course)["therapy.unrecognised"]["severity"] == "info"
    assert course["recommendation"]["outcome"] == "supported"


def test_a_measured_clearance_newer_than_the_request_value_is_used(ivig: Ivig) -> None:
    register(ivig, "M1")
    measured = ivig.ok(
        "patient", "measure", "M1", "--date", "2026-11-01", "--creatinine-clearance", "25"
    )
    assert measured["creatinine_clearance_ml_min"] == 25
    course = request(
        ivig,
        "M1",
        medications=[{"name": "Lyrica", "mg_per_day": 300}],
        creatinine_clearance_ml_min=90,
        creatinine_clearance_date="2026-06-01",
    )
    found = findings(course)
    assert "2026-11-01" in found["therapy.renal_adjustment"]["message"]
    assert "25 mL/min" in found["therapy.max_dose"]["message"]
    # The reviewer sees both: the measurement the rules used and what the request said.
    shown = ivig.ok("course", "show", str(course["id"]))
    assert shown["request_details"]["creatinine_clearance_in_request"] == {
        "ml_min": 90,
        "date": "2026-06-01",
    }
    text = " ".join(ivig("course", "show", str(course["id"])).out.split())
    assert "25 mL/min (of 2026-11-01, from the measurements); the request said 90 mL/min" in text


def test_an_opioid_written_beside_paracetamol_on_one_line_is_an_opioid(ivig: Ivig) -> None:
    register(ivig, "M1")
    course = request(
        ivig,
        "M1",
        medications=[
            {"name": "pregabalin", "mg_per_day": 300},
            {"name": "paracetamol/codeine 500/30"},
            {"name": "Tylenol No. 3"},
            {"name": "Endone"},
        ],
    )
    opioids = findings(course)["therapy.opioids"]
    assert opioids["severity"] == "warn"
    for name in ("paracetamol/codeine", "Tylenol No 3", "Endone (oxycodone)"):
        assert name in opioids["message"]


def test_a_clearance_out_of_range_is_refused(ivig: Ivig) -> None:
    register(ivig, "M1")
    result = ivig(
        "patient", "measure", "M1", "--date", "2026-11-01", "--creatinine-clearance", "-3"
    )
    assert result.code == 2 and "creatinine-clearance" in result.err


def test_last_months_hba1c_beats_an_undated_request_value(ivig: Ivig) -> None:
    register(ivig, "M1")
    ivig.ok("patient", "measure", "M1", "--date", "2026-10-20", "--hba1c", "9.4")
    course = request(ivig, "M1", hba1c_percent=6.5)
    message = findings(course)["glycemic.target"]["message"]
    assert "9.4 %" in message and "2026-10-20" in message


def test_a_dated_request_hba1c_newer_than_the_record_is_used(ivig: Ivig) -> None:
    register(ivig, "M1")
    ivig.ok("patient", "measure", "M1", "--date", "2026-06-20", "--hba1c", "9.4")
    course = request(ivig, "M1", hba1c_percent=6.5, hba1c_date="2026-11-02")
    assert "glycemic.target" not in findings(course)


def test_hba1c_in_mmol_mol_is_converted(ivig: Ivig) -> None:
    register(ivig, "M1")
    doc = {"hba1c_percent": None, "hba1c_mmol_mol": 75, "hba1c_date": "2026-11-01"}
    course = request(ivig, "M1", **doc)
    message = findings(course)["glycemic.target"]["message"]
    # 0.0915 x 75 + 2.15 = 9.01 -> 9.0 %
    assert "9 %" in message and "75 mmol/mol" in message


def test_hba1c_in_both_units_is_refused(ivig: Ivig) -> None:
    register(ivig, "M1")
    result = ivig(
        "course",
        "request",
        "--file",
        "-",
        "--json",
        stdin=json.dumps(request_doc("M1", hba1c_percent=7, hba1c_mmol_mol=53)),
    )
    assert result.code == 2 and "hba1c_mmol_mol" in result.err
    assert ivig.ok("course", "list") == []


def test_stale_labs_are_flagged(ivig: Ivig) -> None:
    register(ivig, "M1")
    course = request(
        ivig,
        "M1",
        creatinine_clearance_ml_min=70,
        creatinine_clearance_date="2026-05-01",
        hba1c_percent=6.5,
        hba1c_date="2026-03-01",
    )
    stale = findings(course)["labs.stale"]
    assert stale["severity"] == "warn"
    assert "Creatinine clearance 70 mL/min" in stale["message"]
    assert "HbA1c 6.5 %" in stale["message"]


def test_recent_labs_are_not_stale(ivig: Ivig) -> None:
    register(ivig, "M1")
    course = request(
        ivig,
        "M1",
        creatinine_clearance_date="2026-09-01",
        hba1c_date="2026-06-01",
    )
    assert "labs.stale" not in findings(course)


def test_an_82_year_old_with_diabetes_bmi_47_and_clearance_28_is_screened(ivig: Ivig) -> None:
    ivig.ok(
        "patient", "add", "--mrn", "M2", "--name", "Old Patient", "--birth-date", "1944-05-01",
        "--sex", "male", "--weight-kg", "120", "--height-cm", "160", "--diabetes", "type2",
    )  # fmt: skip
    course = request(ivig, "M2", weight_kg=120, creatinine_clearance_ml_min=28)
    found = findings(course)
    assert found["safety.renal_risk"]["severity"] == "warn"
    assert "age 82" in found["safety.renal_risk"]["message"]
    assert "BMI 47" in found["safety.thrombosis_risk"]["message"]
    assert found["safety.glucose_meter"]["severity"] == "warn"
    # The screen quotes the grams the course will give (adjusted weight), not actual × dose.
    assert (
        f"the plan is {course['dose']['grams_per_day']:g} g a day"
        in (found["safety.renal_risk"]["message"])
    )


def test_thrombosis_factor_none_is_not_a_factor(ivig: Ivig) -> None:
    ivig.ok(
        "patient", "add", "--mrn", "Y1", "--name", "Young Patient", "--birth-date", "1990-05-01",
        "--sex", "female", "--weight-kg", "60", "--height-cm", "170",
    )  # fmt: skip
    course = request(
        ivig,
        "Y1",
        indication="ici_neuropathy",
        weight_kg=60,
        product="Privigen",
        thromboembolic_risk_factors=["none"],
    )
    assert "safety.thrombosis_risk" not in findings(course)
    assert "safety.renal_risk" not in findings(course)


def test_a_prior_course_that_improved_motor_function_supports_retreatment(ivig: Ivig) -> None:
    """Pain unchanged, MRC sum 48 -> 55 and walking 150 -> 500 m: a response (seed 003)."""
    first = course_in(ivig, "monitoring")
    ivig.ok(
        "course", "assess", str(first), "--date", "2026-10-19", "--vas", "8",
        "--mrc-sum", "55", "--walking-distance-m", "500",
    )  # fmt: skip
    ivig.ok("course", "relapse", str(first), "--date", "2026-11-10")
    second = ivig.ok(
        "course", "retreat", str(first), "--file", "-", stdin=json.dumps(request_doc("M1"))
    )
    finding = findings(second)["retreatment.prior_response"]
    assert finding["severity"] == "info"
    assert "motor" in finding["message"] and "MRC sum 48 -> 55" in finding["message"]


@pytest.mark.slow
def test_a_prior_course_without_pain_or_motor_response_blocks(ivig: Ivig) -> None:
    first = course_in(ivig, "monitoring")
    ivig.ok(
        "course", "assess", str(first), "--date", "2026-10-19", "--vas", "8",
        "--mrc-sum", "50", "--walking-distance-m", "160",
    )  # fmt: skip
    ivig.ok("course", "relapse", str(first), "--date", "2026-11-10")
    second = ivig.ok(
        "course", "retreat", str(first), "--file", "-", stdin=json.dumps(request_doc("M1"))
    )
    assert findings(second)["retreatment.prior_response"]["severity"] == "block"


def test_relapse_report_counts_motor_responders_beside_pain_responders(ivig: Ivig) -> None:
    first = course_in(ivig, "monitoring")
    ivig.ok(
        "course", "assess", str(first), "--date", "2026-10-19", "--vas", "8",
        "--mrc-sum", "55",
    )  # fmt: skip
    doc = ivig.ok("report", "relapse")
    assert doc["courses_monitored"] == 1
    assert doc["responders"] == 0  # the contract's pain definition is unchanged
    assert doc["motor_responders"] == 1
    assert doc["by_indication"]["dlrpn"]["motor_responders"] == 1


def test_course_show_carries_the_whole_request(ivig: Ivig) -> None:
    register(ivig, "M1")
    ivig.ok("patient", "measure", "M1", "--date", "2026-10-20", "--hba1c", "9.4")
    course = request(
        ivig,
        "M1",
        medications=[{"name": "Lyrica", "mg_per_day": 150}, {"name": "Targin"}],
        steroids={"trial": "responded", "intolerance": ["Solu-Medrol"]},
        creatinine_clearance_ml_min=25,
        creatinine_clearance_date="2026-11-01",
        hepatic_disease=True,
        thromboembolic_risk_factors=["hyperlipidemia"],
        hba1c_percent=6.5,
        weight_kg=80,
    )
    shown = ivig.ok("course", "show", str(course["id"]))
    stored = shown["request"]
    assert stored["creatinine_clearance_date"] == "2026-11-01"
    assert stored["medications"][0] == {"name": "Lyrica", "mg_per_day": 150}
    assert stored["steroids"]["intolerance"] == ["Solu-Medrol"]
    assert stored["requested_by"] == "dr.requester"
    details = shown["request_details"]
    assert details["medications"][0]["generic"] == "pregabalin"
    assert details["medications"][1]["matched"] == "Targin (oxycodone + naloxone)"
    assert details["creatinine_clearance"] == {
        "ml_min": 25,
        "date": "2026-11-01",
        "from": "request",
    }
    assert details["hba1c"]["percent"] == 9.4 and details["hba1c"]["date"] == "2026-10-20"
    assert details["hepatic_disease"] is True
    assert (details["dosing_weight_kg"], details["registered_weight_kg"]) == (80, 82)
    assert details["height_cm"] == 170 and details["bmi"] == 27.7
    assert details["entered_by"] == "coordinator.cole"

    text = ivig("course", "show", str(course["id"])).out
    for expected in (
        "Lyrica 150 mg/day = Lyrica (pregabalin)",
        "Solu-Medrol",
        "25 mL/min (of 2026-11-01",
        "hepatic disease: yes",
        "9.4 % (of 2026-10-20",
        "hyperlipidemia",
        "registered 82 kg",
        "BMI 27.7",
        "prescriber: dr.requester; entered by: coordinator.cole",
    ):
        assert expected in " ".join(text.split()), expected
