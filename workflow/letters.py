"""Letters to patients who report by post: one A4 page each, ready for a window envelope.

fpdf2 and segno are imported inside ``render`` only: ``ivig letters print`` is the one
command that needs them, and read commands must not pay for them.

The page holds the name and postal address (placed for a left-hand window
envelope), what to do, the link written out, and a QR code of the link. No
clinical detail and no MRN: a letter can be opened by someone else.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from io import BytesIO

from workflow.service.selfreport import Letter

TITLE = "How are you feeling?"


def _latin1(text: str) -> str:
    """The PDF core font covers Latin-1; other characters print as '?'."""
    return text.encode("latin-1", errors="replace").decode("latin-1")


def render(letters: Sequence[Letter], *, printed_on: date, contact: str) -> bytes:
    """The PDF of ``letters``, one page each."""
    import segno
    from fpdf import FPDF

    pdf = FPDF(format="A4", unit="mm")
    pdf.set_title("Patient letters")
    pdf.set_auto_page_break(auto=False)
    for letter in letters:
        pdf.add_page()
        pdf.set_font("Helvetica", size=12)
        # Address block: 20 mm from the left, 45 mm from the top (DIN 5008 window).
        pdf.set_xy(20, 45)
        for line in [letter.name, *letter.address]:
            pdf.cell(0, 5.5, _latin1(line), new_x="LMARGIN", new_y="NEXT")
            pdf.set_x(20)
        pdf.set_xy(140, 45)
        pdf.cell(50, 5.5, printed_on.isoformat(), align="R")
        pdf.set_xy(20, 95)
        pdf.set_font("Helvetica", style="B", size=16)
        heading = "A reminder: " + TITLE.lower() if letter.reminder else TITLE
        pdf.cell(0, 9, _latin1(heading), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=12)
        pdf.set_x(20)
        body = (
            f"Dear {letter.name},\n\n"
            "Your treatment team would like to know how you are feeling. Please answer a "
            "few short questions on the internet. It takes about one minute.\n\n"
            "Type this address into a web browser, or scan the square code with the camera "
            "of a mobile phone:"
        )
        pdf.multi_cell(170, 6, _latin1(body), new_x="LMARGIN", new_y="NEXT")
        pdf.set_x(20)
        pdf.set_font("Courier", style="B", size=11)
        pdf.multi_cell(170, 7, letter.url, new_x="LMARGIN", new_y="NEXT")
        qr = BytesIO()
        segno.make(letter.url, error="m").save(qr, kind="png", scale=8, border=2)
        qr.seek(0)
        top = pdf.get_y() + 4
        pdf.image(qr, x=20, y=top, w=45, h=45)
        pdf.set_xy(20, top + 50)
        pdf.set_font("Helvetica", size=12)
        tail = (
            f"The address works once, until {letter.expires.isoformat()}.\n\n"
            f"If you cannot use the internet, or you have questions, please call {contact}. "
            "They can take your answers over the phone."
        )
        pdf.multi_cell(170, 6, _latin1(tail), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
