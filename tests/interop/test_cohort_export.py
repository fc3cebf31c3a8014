"""``ivig export cohort``: pseudonymised CSVs an analyst can re-analyse from outside,
getting the relapse report's figures with pandas and lifelines."""

from __future__ import annotations

import csv
import math
import os
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import Ivig
from tests.factories import course_in
from workflow.db import engine_for
from workflow.export.cohort import pseudonym
from workflow.synthetic import make_cohort

KEY = "analyst-export-test-key-0123456789"
TABLES = ("courses", "infusions", "assessments", "measurements", "followups")


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_the_export_refuses_without_a_key_and_writes_nothing(ivig: Ivig, tmp_path: Path) -> None:
    out = tmp_path / "cohort"
    result = ivig("export", "cohort", "--out", str(out))
    assert result.code == 2
    assert "IVIG_PSEUDONYM_KEY" in result.err and len(result.err.splitlines()) == 1
    assert not out.exists()


def test_patients_appear_only_as_their_keyed_hash(
    ivig: Ivig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IVIG_PSEUDONYM_KEY", KEY)
    cid = course_in(ivig, "monitoring")
    ivig.ok("course", "assess", str(cid), "--date", "2026-10-19", "--vas", "3")
    mistaken = ivig.ok("course", "show", str(cid))["assessments"][0]["id"]
    ivig.ok("course", "assess", str(cid), "--date", "2026-10-19", "--vas", "2")
    ivig.ok(
        "course",
        "void-assessment",
        str(cid),
        "--assessment",
        str(mistaken),
        "--reason",
        "entered for Test Patient by mistake",  # free text naming the patient
    )
    ivig.ok("patient", "measure", "M1", "--date", "2026-10-20", "--hba1c", "7.1")
    out = tmp_path / "cohort"
    done = ivig.ok("export", "cohort", "--out", str(out))
    assert done["rows"]["courses"] == 1 and done["rows"]["infusions"] == 5
    everything = "".join((out / f"{t}.csv").read_text(encoding="utf-8") for t in TABLES)
    assert "M1" not in everything and "Test Patient" not in everything
    assert "1958-04-12" not in everything  # the birth date is not kept, only the age
    courses = _rows(out / "courses.csv")
    assert courses[0]["patient"] == pseudonym(KEY.encode(), "m1")
    assert courses[0]["last_infusion_date"] == "2026-10-05"  # clinical dates are kept
    flagged = {r["vas"]: r["voided"] for r in _rows(out / "assessments.csv")}
    assert flagged == {"3.0": "1", "2.0": "0"}  # voided rows kept, flagged
    assert {r["patient"] for t in TABLES for r in _rows(out / f"{t}.csv")} == {
        courses[0]["patient"]
    }
    dictionary = {(r["table"], r["column"]): r for r in _rows(out / "data_dictionary.csv")}
    for table in TABLES:
        with (out / f"{table}.csv").open(encoding="utf-8") as handle:
            header = next(csv.reader(handle))
        assert all((table, column) in dictionary for column in header)
    assert dictionary[("assessments", "vas")]["code"] == "http://loinc.org|38214-3"
    if (out / "adverse_events.csv").exists():  # issue 11 records them: no free-text note
        assert "note" not in (out / "adverse_events.csv").read_text(encoding="utf-8")
    # Another key, other pseudonyms: nobody can join without the key.
    monkeypatch.setenv("IVIG_PSEUDONYM_KEY", KEY[::-1])
    ivig.ok("export", "cohort", "--out", str(tmp_path / "other"))
    assert _rows(tmp_path / "other" / "courses.csv")[0]["patient"] != courses[0]["patient"]


def _reanalyse(out: Path, as_of: date) -> dict[str, Any]:
    """The relapse report, computed from the CSVs only, the way an analyst would."""
    import pandas as pd
    from lifelines import KaplanMeierFitter

    dates = ["last_infusion_date", "relapse_date", "ended_on"]
    courses = pd.read_csv(out / "courses.csv", parse_dates=dates)
    assessments = pd.read_csv(out / "assessments.csv", parse_dates=["date"])
    day = pd.Timestamp(as_of)
    monitored = courses[
        courses.state.isin(["monitoring", "relapsed", "retreated", "completed"])
        & courses.last_infusion_date.notna()
        & (courses.last_infusion_date <= day)
    ]
    live = assessments[(assessments.voided == 0) & assessments.vas.notna()]
    window = live.merge(monitored[["course_id", "last_infusion_date"]], on="course_id")
    window = window[
        (window.date >= window.last_infusion_date)
        & (window.date <= window.last_infusion_date + pd.Timedelta(days=60))
        & (window.date <= day)
    ]
    lowest = window.groupby("course_id").vas.min().rename("lowest")
    data = monitored.join(lowest, on="course_id")
    data["responder"] = data.lowest <= 0.7 * data.baseline_vas + 1e-9
    relapsed = data.relapse_date.notna() & (data.relapse_date <= day)
    end = data.ended_on.where(data.ended_on.notna() & (data.ended_on <= day), day)
    end = end.where(end >= data.last_infusion_date, data.last_infusion_date)
    stop = data.relapse_date.where(relapsed, end)
    data["months"] = (stop - data.last_infusion_date).dt.days / 30.4375
    data["relapsed"] = relapsed

    def figures(group: Any) -> dict[str, Any]:
        responders = group[group.responder]
        relapses = int(responders.relapsed.sum())
        median = None
        if len(responders):
            km = KaplanMeierFitter().fit(responders.months, event_observed=responders.relapsed)
            value = float(km.median_survival_time_)
            median = None if math.isinf(value) else round(value, 2)
        return {
            "courses_monitored": len(group),
            "responders": len(responders),
            "relapses": relapses,
            "relapse_rate": round(relapses / len(responders), 4) if len(responders) else None,
            "median_months_to_relapse": median,
        }

    return {
        **figures(data),
        "by_indication": {name: figures(g) for name, g in data.groupby("indication")},
    }


@pytest.mark.slow
def test_an_analyst_gets_the_relapse_report_s_figures_from_the_csvs(
    ivig: Ivig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IVIG_PSEUDONYM_KEY", KEY)
    make_cohort(engine_for(os.environ["IVIG_DATABASE_URL"]), patients=40, seed=11)
    as_of = date(2026, 10, 1)
    out = tmp_path / "cohort"
    ivig.ok("export", "cohort", "--as-of", as_of.isoformat(), "--out", str(out))
    report = ivig.ok("report", "relapse", "--as-of", as_of.isoformat())
    ours = _reanalyse(out, as_of)
    names = list(ours)[:-1]
    assert report["relapses"] > 0 and report["median_months_to_relapse"] is not None
    assert {n: report[n] for n in names} == {n: ours[n] for n in names}
    assert set(report["by_indication"]) == set(ours["by_indication"])
    for indication, figures in ours["by_indication"].items():
        theirs = report["by_indication"][indication]
        assert {n: theirs[n] for n in names} == figures, indication


@pytest.mark.slow
@given(mrn=st.from_regex(r"[A-Za-z0-9-]{1,20}", fullmatch=True))
def test_a_pseudonym_is_stable_case_blind_and_depends_on_the_key(mrn: str) -> None:
    key = KEY.encode()
    assert pseudonym(key, mrn) == pseudonym(key, mrn.swapcase())
    assert pseudonym(key, mrn) == pseudonym(key, f"  {mrn} ")
    assert pseudonym(key, mrn) != pseudonym(key + b"!", mrn)
    assert len(pseudonym(key, mrn)) == 64
