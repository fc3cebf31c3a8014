"""What a coordinator at a shell notices: help without ``<bool>``, tables that fold
when piped, and a clinical ``--date`` on amending and dismissing."""

from __future__ import annotations

import json

from tests.cli.helpers import assert_refused
from tests.conftest import Ivig
from tests.factories import course_in, register, request, request_doc


def test_flags_show_no_value_in_help(ivig: Ivig) -> None:
    for command in (["course", "show"], ["course", "list"], ["followups", "raise"]):
        result = ivig(*command, "--help")
        assert result.code == 0
        assert "--json" in result.out
        assert "<bool>" not in result.out


def test_piped_tables_fold_rather_than_cut(ivig: Ivig) -> None:
    cid = course_in(ivig, "infusing")
    long_name = "coordinator." + "x" * 150
    ivig("course", "infuse", str(cid), "--date", "2026-10-02", "--grams", "32.8",
         "--actor", long_name)  # fmt: skip

    out = ivig("course", "show", str(cid)).out

    assert "…" not in out
    assert "x" * 60 in out  # wider than 80 columns would have allowed


def test_amend_takes_the_clinical_date(ivig: Ivig) -> None:
    register(ivig)
    cid = request(ivig, requested_on="2026-11-16")["id"]
    ivig.ok("course", "review", str(cid), "--decision", "info", "--reviewer", "dr.reviewer",
            "--note", "which steroids?")  # fmt: skip
    doc = json.dumps(request_doc(requested_on="2026-11-16"))

    shown = ivig.ok(
        "course",
        "amend",
        str(cid),
        "--file",
        "-",
        "--date",
        "2026-11-18",
        "--note",
        "prednisolone",
        stdin=doc,
    )

    assert shown["history"][-1]["trigger"] == "amend_request"
    assert shown["history"][-1]["date"] == "2026-11-18"
    assert_refused(
        ivig,
        ["course", "amend", str(cid), "--file", "-", "--date", "2026-12-01"],
        stdin=doc,
        code=2,
        names=["date", "future"],
    )


def test_dismiss_relapse_takes_the_clinical_date(ivig: Ivig) -> None:
    cid = course_in(ivig, "monitoring")
    ivig.ok("course", "assess", str(cid), "--date", "2026-10-18", "--vas", "2")
    ivig.ok("course", "assess", str(cid), "--date", "2026-11-10", "--vas", "7")

    shown = ivig.ok(
        "course", "dismiss-relapse", str(cid), "--reason", "a fall", "--date", "2026-11-12"
    )

    assert shown["suspected_relapse"] is None
    assert shown["history"][-1]["date"] == "2026-11-12"
