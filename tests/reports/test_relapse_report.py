"""``ivig report relapse`` on a cohort whose answers were worked out by hand
(see ``cohort_helpers``), on SQLite and on PostgreSQL."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Ivig
from tests.reports.cohort_helpers import build_hand_cohort

ROOT = Path(__file__).resolve().parents[2]
MONTHS_A = 211 / 30.4375  # course A: last infusion 2026-01-09, relapse 2026-08-08


@pytest.mark.slow
def test_figures_today_count_every_monitored_course_and_censor_the_rest(ivig: Ivig) -> None:
    build_hand_cohort(ivig)
    doc = ivig.ok("report", "relapse")
    assert doc["as_of"] == "2027-06-01"
    # A, A2, B, C, D reached monitoring; E is still infusing.
    assert doc["courses_monitored"] == 5
    assert doc["responders"] == 4  # A, A2, B (exactly 70 %), D; C's day-61 VAS is outside
    assert doc["relapses"] == 1
    assert doc["relapse_rate"] == 0.25
    # KM: D censored at 143 d, A relapses at 211 d with 3 at risk: S = 2/3 > 0.5.
    assert doc["median_months_to_relapse"] is None
    assert doc["responders_50"] == 3  # B's 4.2 is not half of 6
    assert doc["response_rate_30"] == 0.8
    assert doc["response_rate_50"] == 0.6
    assert doc["retreatments"] == 1
    assert doc["retreatment_responders"] == 1
    assert doc["retreatment_response_rate"] == 1.0
    assert set(doc["by_indication"]) == {"dlrpn", "ici_neuropathy"}
    dlrpn, ici = doc["by_indication"]["dlrpn"], doc["by_indication"]["ici_neuropathy"]
    assert (dlrpn["courses_monitored"], dlrpn["responders"], dlrpn["relapses"]) == (4, 4, 1)
    assert dlrpn["relapse_rate"] == 0.25
    assert (ici["courses_monitored"], ici["responders"], ici["relapses"]) == (1, 0, 0)
    assert ici["relapse_rate"] is None
    assert ici["median_months_to_relapse"] is None


def test_as_of_excludes_later_courses_and_censors_later_events(ivig: Ivig) -> None:
    build_hand_cohort(ivig)
    doc = ivig.ok("report", "relapse", "--as-of", "2026-08-31")
    # A2's infusions end 2026-09-05: not yet monitored. D's close (2026-06-01) counts.
    assert doc["courses_monitored"] == 4
    assert doc["responders"] == 3
    assert doc["relapses"] == 1
    assert doc["relapse_rate"] == pytest.approx(1 / 3, abs=1e-4)
    # D censored at 143 d, then A relapses with A and B at risk: S = 1/2, the median.
    assert doc["median_months_to_relapse"] == pytest.approx(MONTHS_A, abs=0.01)
    assert doc["median_months_to_relapse_ci95_upper"] is None
    assert doc["retreatments"] == 0
    assert doc["retreatment_response_rate"] is None
    assert doc["by_indication"]["dlrpn"]["median_months_to_relapse"] == pytest.approx(
        MONTHS_A, abs=0.01
    )

    before_relapse = ivig.ok("report", "relapse", "--as-of", "2026-08-07")
    assert before_relapse["responders"] == 3
    assert before_relapse["relapses"] == 0  # the relapse of 2026-08-08 has not happened yet
    assert before_relapse["relapse_rate"] == 0.0


def test_no_responders_gives_null_rate_and_median(ivig: Ivig) -> None:
    build_hand_cohort(ivig)
    # On 2026-01-20 every course is monitored but no VAS has been recorded yet.
    doc = ivig.ok("report", "relapse", "--as-of", "2026-01-20")
    assert doc["courses_monitored"] == 4
    assert doc["assessed"] == 0
    assert doc["responders"] == 0
    assert doc["relapse_rate"] is None
    assert doc["median_months_to_relapse"] is None
    assert doc["response_rate_30"] == 0.0

    empty = ivig.ok("report", "relapse", "--as-of", "2025-12-31")
    assert empty["courses_monitored"] == 0
    assert empty["response_rate_30"] is None
    assert empty["by_indication"] == {}


@pytest.mark.slow
def test_csv_has_a_row_per_indication_and_one_for_all(ivig: Ivig, tmp_path: Path) -> None:
    build_hand_cohort(ivig)
    path = tmp_path / "relapse.csv"
    doc = ivig.ok("report", "relapse", "--as-of", "2026-08-31", "--csv", str(path))
    with path.open(encoding="utf-8", newline="") as handle:
        rows = {row["indication"]: row for row in csv.DictReader(handle)}
    assert list(rows) == ["dlrpn", "ici_neuropathy", "all"]
    assert rows["all"]["courses_monitored"] == "4"
    assert rows["all"]["relapse_rate"] == "0.3333"
    assert float(rows["all"]["median_months_to_relapse"]) == doc["median_months_to_relapse"]
    assert rows["ici_neuropathy"]["relapse_rate"] == ""  # null: no responders
    expected = [k for k in doc if k not in ("as_of", "by_indication")]
    assert list(rows["all"])[1:] == expected


@pytest.mark.slow
def test_plot_writes_a_png(ivig: Ivig, tmp_path: Path) -> None:
    build_hand_cohort(ivig)
    path = tmp_path / "km.png"
    result = ivig("report", "relapse", "--plot", str(path))
    assert result.code == 0, result.err
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(data) > 10_000
    assert str(path) in result.out


def test_plot_with_no_responders_still_writes_a_png(ivig: Ivig, tmp_path: Path) -> None:
    path = tmp_path / "empty.png"
    assert ivig("report", "relapse", "--plot", str(path), "--json").code == 0
    assert path.read_bytes().startswith(b"\x89PNG")


def test_table_for_people(ivig: Ivig) -> None:
    build_hand_cohort(ivig)
    result = ivig("report", "relapse", "--as-of", "2026-08-31")
    assert result.code == 0, result.err
    assert "Relapse report as of 2026-08-31" in result.out
    assert "relapse rate" in result.out and "33%" in result.out


def test_unwritable_csv_and_bad_date_are_usage_errors(ivig: Ivig, tmp_path: Path) -> None:
    bad = ivig("report", "relapse", "--csv", str(tmp_path / "missing-dir" / "r.csv"))
    assert bad.code == 2
    assert bad.err.startswith("ivig: csv: cannot write")
    wrong = ivig("report", "relapse", "--as-of", "2026-13-01")
    assert wrong.code == 2
    assert "as-of" in wrong.err


@pytest.mark.slow
def test_script_prints_identical_json(ivig: Ivig, db_url: str, tmp_path: Path) -> None:
    build_hand_cohort(ivig)
    via_cli = ivig("report", "relapse", "--as-of", "2026-08-31", "--json")
    env = {
        **os.environ,
        "IVIG_DATABASE_URL": db_url,
        "IVIG_FROZEN_NOW": "2027-06-01T12:00:00+00:00",
    }
    plot = tmp_path / "script.png"
    script = subprocess.run(
        [
            sys.executable,
            "scripts/relapse_report.py",
            "--as-of",
            "2026-08-31",
            "--plot",
            str(plot),
            "--json",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert script.returncode == 0, script.stderr
    assert script.stdout == via_cli.out
    assert json.loads(script.stdout)["courses_monitored"] == 4
    assert plot.read_bytes().startswith(b"\x89PNG")
