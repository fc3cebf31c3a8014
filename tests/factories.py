"""Builders that reach a course state by firing the real transitions through the CLI."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import Ivig

# 2026-11-20 is "today" in the default test clock.
INFUSION_START = "2026-10-01"
# Requests (and, by default, their approvals) come before the first infusion.
REQUESTED_ON = "2026-09-25"


def request_doc(mrn: str = "M1", **overrides: Any) -> dict[str, Any]:
    """A request the default policy supports: relapsing DLRPN, a responder before."""
    doc: dict[str, Any] = {
        "mrn": mrn,
        "indication": "dlrpn",
        "indication_detail": "multifocal, asymmetric",
        "severity_grade": 3,
        "product": "Octagam 10%",
        "dose_g_per_kg_per_day": 0.4,
        "days": 5,
        "repeat_every_weeks": None,
        "weight_kg": 82,
        "baseline": {"vas": 8, "mrc_sum": 48, "walking_distance_m": 150},
        "steroids": {"trial": "no_response", "intolerance": []},
        "medications": [{"name": "pregabalin", "mg_per_day": 300}],
        "creatinine_clearance_ml_min": 90,
        "hepatic_disease": False,
        "thromboembolic_risk_factors": [],
        "hba1c_percent": 6.8,
        "requested_by": "dr.requester",
        "requested_on": REQUESTED_ON,
    }
    doc.update(overrides)
    return doc


def register(ivig: Ivig, mrn: str = "M1", diabetes: str = "type2", **extra: str) -> Any:
    args = [
        "patient",
        "add",
        "--mrn",
        mrn,
        "--name",
        "Test Patient",
        "--birth-date",
        "1958-04-12",
        "--sex",
        "female",
        "--weight-kg",
        "82",
        "--height-cm",
        "170",
        "--diabetes",
        diabetes,
    ]
    for key, value in extra.items():
        args += [f"--{key.replace('_', '-')}", value]
    return ivig.ok(*args)


def request(ivig: Ivig, mrn: str = "M1", **overrides: Any) -> Any:
    return ivig.ok(
        "course", "request", "--file", "-", stdin=json.dumps(request_doc(mrn, **overrides))
    )


def approve(ivig: Ivig, course_id: int, on: str | None = None) -> Any:
    """Approves with an override; dated ``on``, else on the request's own date (an
    approval is never before the request nor after the first infusion)."""
    if on is None:
        on = ivig.ok("course", "show", str(course_id))["requested_on"]
    return ivig.ok(
        "course",
        "review",
        str(course_id),
        "--decision",
        "approve",
        "--reviewer",
        "dr.reviewer",
        "--note",
        "meets the guidance",
        "--override-reason",
        "reviewed case",
        "--date",
        on,
    )


def infuse_all(ivig: Ivig, course_id: int, days: int = 5, start_day: int = 1) -> Any:
    doc = None
    for day in range(days):
        doc = ivig.ok(
            "course",
            "infuse",
            str(course_id),
            "--date",
            f"2026-10-{start_day + day:02d}",
            "--grams",
            "32.8",
        )
    return doc


def course_in(ivig: Ivig, state: str, mrn: str = "M1", register_patient: bool = True) -> int:
    """A course of patient ``mrn`` in ``state``, reached through the real commands."""
    if register_patient:
        register(ivig, mrn)
    course = request(ivig, mrn)
    cid = int(course["id"])
    if state == "requested":
        return cid
    if state == "denied":
        ivig.ok(
            "course",
            "review",
            str(cid),
            "--decision",
            "deny",
            "--reviewer",
            "dr.reviewer",
            "--note",
            "not indicated",
        )
        return cid
    if state == "cancelled":
        ivig.ok("course", "cancel", str(cid), "--reason", "withdrawn")
        return cid
    approve(ivig, cid)
    if state == "reviewed":
        return cid
    ivig.ok("course", "infuse", str(cid), "--date", "2026-10-01", "--grams", "32.8")
    if state == "infusing":
        return cid
    if state == "discontinued":
        ivig.ok("course", "stop", str(cid), "--date", "2026-10-01", "--reason", "headache")
        return cid
    infuse_all(ivig, cid, days=4, start_day=2)
    if state == "monitoring":
        return cid
    if state == "completed":
        ivig.ok("course", "close", str(cid), "--date", "2026-11-10")
        return cid
    ivig.ok("course", "relapse", str(cid), "--date", "2026-11-10", "--note", "pain back")
    if state == "relapsed":
        return cid
    ivig.ok("course", "retreat", str(cid), "--file", "-", stdin=json.dumps(request_doc(mrn)))
    assert state == "retreated", state
    return cid
