"""A small cohort whose report is worked out by hand, built through the real commands.

All five courses end their infusions on L = 2026-01-09 unless said otherwise
(L + 60 days = 2026-03-10, the last day of the response window).

- A (M1, dlrpn, baseline 8): lowest VAS 4 on 2026-02-08, a responder at 30 % and 50 %;
  relapse 2026-08-08, 211 days after L.
- A2 (M1, dlrpn, baseline 8): the re-treatment of A, L = 2026-09-05; VAS 3: a responder.
- B (M2, dlrpn, baseline 6): VAS 4.2, exactly 70 %: a responder (not at 50 %); monitoring.
- C (M3, ici_neuropathy, baseline 8): VAS 7, a non-responder (its VAS 1 on day 61 lies
  outside the window); monitoring.
- D (M4, dlrpn, baseline 8): VAS 2 on 2026-02-01, a responder at 30 % and 50 %; closed
  2026-06-01, 143 days after L.
- E (M5, dlrpn): still infusing, so not monitored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from tests.conftest import Ivig
from tests.factories import approve, course_in, register, request_doc

NOW = "2027-06-01T12:00:00+00:00"
LAST_INFUSION = date(2026, 1, 9)


@dataclass(frozen=True)
class HandCohort:
    a: int
    a2: int
    b: int
    c: int
    d: int
    e: int


def _infuse(ivig: Ivig, course: dict[str, Any], first: date) -> None:
    grams = str(course["dose"]["grams_per_day"])
    for offset in range(5):
        day = (first + timedelta(days=offset)).isoformat()
        ivig.ok("course", "infuse", str(course["id"]), "--date", day, "--grams", grams)


def _treated(ivig: Ivig, mrn: str, *, baseline: float, indication: str = "dlrpn") -> int:
    register(ivig, mrn)
    doc = request_doc(
        mrn,
        indication=indication,
        baseline={"vas": baseline, "mrc_sum": 48, "walking_distance_m": 150},
        requested_on="2025-12-15",
    )
    course = ivig.ok("course", "request", "--file", "-", stdin=json.dumps(doc))
    approve(ivig, course["id"])
    _infuse(ivig, course, date(2026, 1, 5))
    return int(course["id"])


def assess(ivig: Ivig, course_id: int, on: str, vas: float) -> None:
    ivig.ok("course", "assess", str(course_id), "--date", on, "--vas", str(vas))


def build_hand_cohort(ivig: Ivig) -> HandCohort:
    ivig.now(NOW)
    a = _treated(ivig, "M1", baseline=8)
    assess(ivig, a, "2026-01-23", 5)
    assess(ivig, a, "2026-02-08", 4)
    ivig.ok("course", "relapse", str(a), "--date", "2026-08-08", "--note", "pain back")
    retreat_doc = request_doc("M1", requested_on="2026-08-20")
    a2_doc = ivig.ok("course", "retreat", str(a), "--file", "-", stdin=json.dumps(retreat_doc))
    approve(ivig, a2_doc["id"])
    _infuse(ivig, a2_doc, date(2026, 9, 1))
    a2 = int(a2_doc["id"])
    assess(ivig, a2, "2026-09-20", 3)

    b = _treated(ivig, "M2", baseline=6)
    assess(ivig, b, "2026-01-23", 4.2)

    c = _treated(ivig, "M3", baseline=8, indication="ici_neuropathy")
    assess(ivig, c, "2026-01-23", 7)
    assess(ivig, c, "2026-03-11", 1)

    d = _treated(ivig, "M4", baseline=8)
    assess(ivig, d, "2026-02-01", 2)
    ivig.ok("course", "close", str(d), "--date", "2026-06-01")

    e = course_in(ivig, "infusing", mrn="M5")
    return HandCohort(a=a, a2=a2, b=b, c=c, d=d, e=e)
