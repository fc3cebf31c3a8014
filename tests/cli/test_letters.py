"""``ivig letters print``: one page per due letter, read back from the PDF."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from tests.conftest import Ivig, fixed_now
from tests.factories import course_in
from workflow.db import engine_for, transaction
from workflow.models import FollowUp, Invitation, Patient
from workflow.review.policy import load_policy
from workflow.service import selfreport

ADDRESS = "12 Mill Lane\nLittle Hampton\nAB1 2CD"


def letter_invitation(ivig: Ivig, kinds: tuple[str, ...] = ("reassess_2w",)) -> int:
    ivig.monkeypatch.setenv("IVIG_PUBLIC_BASE_URL", "https://clinic.example")
    cid = course_in(ivig, "monitoring")
    ivig.ok("followups", "raise")
    with transaction(engine_for(os.environ["IVIG_DATABASE_URL"])) as session:
        patient = session.scalars(select(Patient)).one()
        patient.self_report = "letter"
        patient.postal_address = ADDRESS
        ids = list(
            session.scalars(
                select(FollowUp.id).where(FollowUp.course_id == cid, FollowUp.kind.in_(kinds))
            )
        )
        made = selfreport.invite(
            session,
            followup_ids=ids,
            now=fixed_now(),
            policy=load_policy().self_report,
            base_url="https://clinic.example",
        )
        assert made == []  # letters are not e-mailed
    return cid


def pdf_pages(path: Path) -> list[str]:
    return [page.extract_text() for page in PdfReader(path).pages]


@pytest.mark.slow
def test_one_page_per_due_letter_with_address_link_and_no_mrn(ivig: Ivig, tmp_path: Path) -> None:
    letter_invitation(ivig, ("reassess_2w", "reassess_1m"))
    out = tmp_path / "letters.pdf"
    doc = ivig.ok("letters", "print", "--out", str(out))
    assert doc["letters"] == 2 and doc["reminders"] == 0
    pages = pdf_pages(out)
    assert len(pages) == 2
    for text in pages:
        assert "Test Patient" in text and "Little Hampton" in text and "AB1 2CD" in text
        assert re.search(r"https://clinic\.example/r/[A-Za-z0-9_-]{20,}", text.replace("\n", ""))
        assert "M1" not in text and "IVIG" not in text.upper().replace("TREATMENT", "")
    with transaction(engine_for(os.environ["IVIG_DATABASE_URL"])) as session:
        invitations = session.scalars(select(Invitation)).all()
        assert all(i.letter_printed_at is not None and i.token_hash for i in invitations)


def test_the_printed_link_opens_the_form_once(ivig: Ivig, tmp_path: Path) -> None:
    cid = letter_invitation(ivig)
    out = tmp_path / "letters.pdf"
    ivig.ok("letters", "print", "--out", str(out))
    match = re.search(r"/r/([A-Za-z0-9_-]+)", pdf_pages(out)[0])
    assert match
    with transaction(engine_for(os.environ["IVIG_DATABASE_URL"])) as session:
        row = selfreport.answer(
            session=session,
            token=match.group(1),
            vas=2,
            walking_distance_m=None,
            clock=_clock(),
            policy=load_policy(),
        )
        assert row.source == "patient" and row.course_id == cid


def _clock() -> object:
    from workflow.clock import FixedClock

    return FixedClock(fixed_now())


def test_printing_again_prints_nothing_until_a_reminder_is_due(ivig: Ivig, tmp_path: Path) -> None:
    letter_invitation(ivig)
    first = tmp_path / "first.pdf"
    ivig.ok("letters", "print", "--out", str(first))
    again = ivig.ok("letters", "print", "--out", str(tmp_path / "again.pdf"))
    assert again == {"letters": 0, "reminders": 0, "out": None}
    assert not (tmp_path / "again.pdf").exists()
    later = ivig.ok("letters", "print", "--as-of", "2026-11-28", "--out", str(tmp_path / "r.pdf"))
    assert later["letters"] == 1 and later["reminders"] == 1
    assert "A reminder" in pdf_pages(tmp_path / "r.pdf")[0]
    once = ivig.ok("letters", "print", "--as-of", "2026-11-29", "--out", str(tmp_path / "x.pdf"))
    assert once["letters"] == 0


def test_a_bad_output_path_is_refused_and_records_nothing(ivig: Ivig, tmp_path: Path) -> None:
    letter_invitation(ivig)
    result = ivig("letters", "print", "--out", str(tmp_path / "missing" / "l.pdf"))
    assert result.code == 2 and "out:" in result.err
    with transaction(engine_for(os.environ["IVIG_DATABASE_URL"])) as session:
        assert session.scalars(select(Invitation)).one().letter_printed_at is None


def qr_contents(path: Path) -> list[str]:
    """What each page's QR code says, decoded from the image embedded in the PDF."""
    try:
        from pyzbar.pyzbar import decode
    except ImportError:  # the zbar library (Debian's libzbar0) is missing
        pytest.skip("no QR decoder: libzbar0 is not installed")
    found = []
    for page in PdfReader(path).pages:
        (image,) = page.images
        (code,) = decode(image.image)
        found.append(code.data.decode())
    return found


def test_the_qr_code_is_the_printed_link(ivig: Ivig, tmp_path: Path) -> None:
    letter_invitation(ivig)
    out = tmp_path / "letters.pdf"
    ivig.ok("letters", "print", "--out", str(out))
    written = re.search(r"https://clinic\.example/r/[A-Za-z0-9_-]+", pdf_pages(out)[0])
    assert written
    assert qr_contents(out) == [written.group(0)]


def test_printing_for_another_day_keeps_when_it_was_really_entered(
    ivig: Ivig, tmp_path: Path
) -> None:
    """``--as-of`` dates the letters and their window; the history still says when the
    printing was entered (the clock's now), with the letters' date as its date."""
    cid = letter_invitation(ivig)
    out = tmp_path / "letters.pdf"
    ivig.ok("letters", "print", "--as-of", "2026-11-23", "--out", str(out))
    assert "2026-11-23" in pdf_pages(out)[0]
    (row,) = [
        h
        for h in ivig.ok("course", "show", str(cid))["history"]
        if h["trigger"] == "letter_printed"
    ]
    assert row["date"] == "2026-11-23"
    assert row["at"].startswith(fixed_now().strftime("%Y-%m-%dT%H:%M"))
