"""The patient's own form, ``/r/{token}``: no sign-in, one page, plain words.

Three screens: the questions, "is this right?", thank you. Every token that does
not open a form (unknown, used, expired, follow-up closed) gets the same page with
the same status, so the page cannot be used to learn which (no oracle). The form
is CSRF-protected by the anonymous session cookie, and rate-limited per client
address and per token (``limits``, in this process's memory: each worker counts
on its own, which still bounds a guesser to a few tries a minute).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from workflow.config import get_settings
from workflow.errors import InvalidInput, IvigError
from workflow.review.policy import Policy, load_policy
from workflow.service import selfreport
from workflow.web.auth import CsrfRefused, posted_form
from workflow.web.context import clock, work
from workflow.web.render import page

router = APIRouter(include_in_schema=False)

#: Defaults; ``create_app`` may replace them (tests use small ones).
PER_ADDRESS = "60/hour"
PER_TOKEN = "20/hour"


@dataclass
class Limits:
    limiter: MovingWindowRateLimiter
    per_address: RateLimitItem
    per_token: RateLimitItem

    @classmethod
    def make(cls, per_address: str = PER_ADDRESS, per_token: str = PER_TOKEN) -> Limits:
        return cls(MovingWindowRateLimiter(MemoryStorage()), parse(per_address), parse(per_token))

    def allow(self, address: str, token: str) -> bool:
        by_address = self.limiter.hit(self.per_address, "r-address", address)
        by_token = self.limiter.hit(self.per_token, "r-token", selfreport.hash_token(token))
        return by_address and by_token


def _limits(request: Request) -> Limits:
    found = getattr(request.app.state, "selfreport_limits", None)
    if found is None:
        found = Limits.make()
        request.app.state.selfreport_limits = found
    assert isinstance(found, Limits)
    return found


def _policy() -> Policy:
    return load_policy()


#: The patient's pages send no referrer at all (the page's URL holds the token).
PATIENT_HEADERS = {"Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex, nofollow"}


def is_patient_path(path: str) -> bool:
    """A path under ``/r``: whatever happens there, a patient sees a patient's page."""
    return path == "/r" or path.startswith("/r/")


def _screen(request: Request, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    base = {"contact": get_settings().patient_contact}
    response = page(request, "selfreport.html", {**base, **context}, status_code=status)
    response.headers.update(PATIENT_HEADERS)
    return response


def _closed(request: Request, status: int = 404) -> HTMLResponse:
    """The one answer for every link that does not open a form."""
    return _screen(request, {"screen": "closed"}, status=status)


def _too_many(request: Request, limits: Limits) -> HTMLResponse:
    response = _screen(request, {"screen": "busy"}, status=429)
    response.headers["Retry-After"] = str(limits.per_token.get_expiry())
    return response


def error_page(request: Request, status: int, error: Exception | None = None) -> HTMLResponse:
    """What a patient sees when a request under ``/r`` fails before or outside the form's
    own handling (``workflow.web.errors`` sends those here, never to the staff pages):
    a refused CSRF token (the page was open too long, or cookies are blocked) asks to
    open the link again; anything else is the closed page, whatever the link."""
    if isinstance(error, CsrfRefused):
        return _screen(request, {"screen": "stale"}, status=403)
    return _closed(request, status=status)


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.get("/r/thanks", response_class=HTMLResponse)
def thanks(request: Request) -> Response:
    return _screen(request, {"screen": "thanks"})


@router.get("/r/{token}", response_class=HTMLResponse)
def form(request: Request, token: str) -> Response:
    limits = _limits(request)
    if not limits.allow(_address(request), token):
        return _too_many(request, limits)
    policy = _policy().self_report
    with work(request) as session:
        opened = selfreport.find_open(session, token=token, now=clock(request).now(), policy=policy)
    if opened is None:
        return _closed(request)
    return _screen(request, _form_context(opened.asks_walking, policy, {}, {}))


def _form_context(
    asks_walking: bool, policy: Any, values: dict[str, str], errors: dict[str, str]
) -> dict[str, Any]:
    return {
        "screen": "form",
        "asks_walking": asks_walking,
        "choices": [c.label for c in policy.walking_choices],
        "values": values,
        "errors": errors,
    }


@router.post("/r/{token}", response_class=HTMLResponse)
async def submit(request: Request, token: str) -> Response:
    limits = _limits(request)
    if not limits.allow(_address(request), token):
        return _too_many(request, limits)
    # Checked before the token is looked at: a refused form says nothing about the link.
    fields = await posted_form(request)
    policy = _policy()
    now = clock(request).now()
    with work(request) as session:
        opened = selfreport.find_open(session, token=token, now=now, policy=policy.self_report)
    if opened is None:
        return _closed(request)
    values = {k: fields.get(k, "").strip() for k in ("vas", "walking", "walking_m")}
    if fields.get("step") == "edit":
        return _screen(request, _form_context(opened.asks_walking, policy.self_report, values, {}))
    try:
        vas, walking = _read_answers(values, opened.asks_walking, policy)
    except _Answer as problem:
        context = _form_context(opened.asks_walking, policy.self_report, values, problem.errors)
        return _screen(request, context, status=422)
    if fields.get("step") != "send":
        return _screen(
            request,
            {
                "screen": "confirm",
                "values": values,
                "vas": vas,
                "walking": walking,
                "asks_walking": opened.asks_walking,
            },
        )
    try:
        with work(request) as session:
            selfreport.answer(
                session=session,
                token=token,
                vas=vas,
                walking_distance_m=walking,
                clock=clock(request),
                policy=policy,
            )
    except IvigError:
        # Used up a moment ago, expired, or the course moved on: the same closed page.
        return _closed(request)
    return RedirectResponse("/r/thanks", status_code=303)


class _Answer(Exception):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("answer")
        self.errors = errors


def _read_answers(
    values: dict[str, str], asks_walking: bool, policy: Policy
) -> tuple[float, float | None]:
    errors: dict[str, str] = {}
    vas: float | None = None
    if values["vas"] not in {str(n) for n in range(11)}:
        errors["vas"] = "Please choose a number from 0 to 10."
    else:
        vas = float(values["vas"])
    walking: float | None = None
    if asks_walking:
        try:
            walking = _walking(values, policy)
        except InvalidInput:
            errors["walking"] = (
                "Please choose how far you can walk, or write a number of metres (0 to 100000)."
            )
    if errors or vas is None:
        raise _Answer(errors)
    return vas, walking


def _walking(values: dict[str, str], policy: Policy) -> float:
    """Metres typed in win over a choice; one of the two is needed."""
    typed = values["walking_m"].replace(",", "").replace(" ", "")
    if typed:
        if not typed.isdigit() or int(typed) > 100_000:
            raise InvalidInput("walking: not a number of metres.")
        return float(typed)
    metres = selfreport.walking_metres(values["walking"], policy.self_report)
    if metres is None:
        raise InvalidInput("walking: no answer.")
    return metres
