"""Server-rendered pages: a Jinja2 environment per app, shared context and filters.

Autoescaping is on for every template; instants are shown in the clinic's zone.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from workflow.web.auth import CSRF_FIELD, csrf_token
from workflow.web.context import clock

TEMPLATE_DIR = Path(__file__).with_name("templates")

#: Words for codes, so nothing on a page depends on colour or on knowing the codes.
WORDS: dict[str, str] = {
    "dlrpn": "Diabetic lumbosacral radiculoplexus neuropathy (diabetic amyotrophy)",
    "diabetic_symmetric_polyneuropathy": "Diabetic symmetric polyneuropathy",
    "lumbosacral_plexus_neuritis": "Lumbosacral plexus neuritis",
    "ici_neuropathy": "Immune-checkpoint-inhibitor neuropathy",
    "other": "Other",
    "supported": "Supported",
    "not_supported": "Not supported",
    "needs_information": "Needs information",
    "block": "Blocking",
    "warn": "Warning",
    "info": "Information",
    "reassess_2w": "Reassessment at 2 weeks",
    "reassess_1m": "Reassessment at 1 month",
    "hba1c": "HbA1c",
    "monofilament": "Monofilament test",
    "scheduled": "Scheduled",
    "raised": "Raised (reminder sent)",
    "done": "Done",
    "cancelled": "Cancelled",
    "not_tried": "Not tried",
    "responded": "Responded",
    "no_response": "No response",
    # A follow-up's self-report state (issue 17).
    "letter_to_print": "Letter to print",
    "invited": "Invitation open",
    "answered": "Answered by the patient",
    "call": "Needs a phone call (invitation expired)",
}


def words(code: Any) -> str:
    text = str(code.value if hasattr(code, "value") else code)
    return WORDS.get(text, text.replace("_", " ").capitalize())


def make_templates(zone: ZoneInfo) -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATE_DIR))
    templates.env.autoescape = True
    templates.env.trim_blocks = True
    templates.env.lstrip_blocks = True

    def local(instant: datetime | None) -> str:
        if instant is None:
            return ""
        return instant.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")

    templates.env.filters["local"] = local
    templates.env.filters["words"] = words
    return templates


def page(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """Renders ``name`` with what every page needs: user, CSRF token, today."""
    base: dict[str, Any] = {
        "user": getattr(request.state, "principal", None),
        "csrf_field": CSRF_FIELD,
        "csrf": csrf_token(request),
        "today": clock(request).today(),
        "errors": {},
        "values": {},
        "form_error": None,
        "flash": request.session.pop("flash", None),
    }
    base.update(context or {})
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(request, name, base, status_code=status_code)


def flash(request: Request, message: str) -> None:
    """A one-line confirmation shown on the next page (after a redirect)."""
    request.session["flash"] = message
