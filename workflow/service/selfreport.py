"""Patients reporting their own outcomes: enrolment, invitations, tokens, the answer.

A link carries a random token (``secrets.token_urlsafe``); only its SHA-256 is kept,
so the database alone cannot answer for a patient. A token answers once, until its
invitation expires, and only while the follow-up it was sent for is still open.
Every way a token can fail (unknown, used, expired, follow-up closed) gives the
same answer, ``None``: the page a patient sees must not tell which (no oracle).

Nothing here imports the web app, PDF or QR libraries: the CLI's read commands
import this module's neighbours.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import textwrap
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from workflow.clock import Clock
from workflow.errors import InputRefused, InvalidInput, NotFound
from workflow.followups import OPEN_STATUSES as OPEN
from workflow.followups import Status
from workflow.hostile import EMAIL
from workflow.models import Assessment, FollowUp, Invitation, Patient
from workflow.schemas import FollowUpRead
from workflow.service.common import id_in, record

if TYPE_CHECKING:  # the policy package loads the rules; reads need only the types
    from workflow.config import PatientOutreach
    from workflow.review.policy import Policy, SelfReport

#: Who the assessment history names when the patient answered the form.
PATIENT_ACTOR = "patient (self-report)"
#: The outbox kind of every message to a patient.
MESSAGE_KIND = "patient_invitation"

_EMAIL = re.compile(f"^{EMAIL}$")  # the API's schema declares the same (hostile.py)


class Mode(StrEnum):
    EMAIL = "email"
    LETTER = "letter"
    NONE = "none"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> tuple[str, str]:
    """A fresh link token and its hash (the hash is all that is stored)."""
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


def link(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/r/{token}"


def check_email(value: str) -> str:
    value = value.strip()
    if len(value) > 320 or not _EMAIL.match(value):
        raise InvalidInput(f"email: {value!r} is not an e-mail address.")
    return value


def check_address(value: str) -> str:
    """A postal address: lines separated by newlines or ``|`` (one flag on a command line)."""
    lines = [part.strip() for part in re.split(r"\n|\|", value) if part.strip()]
    if not lines:
        return ""  # only separators: no address, as an empty one
    if len(lines) > 8 or any(len(line) > 100 for line in lines):
        raise InvalidInput(
            "address: give 1-8 lines of at most 100 characters, separated by '|' or newlines."
        )
    if any(ord(ch) < 32 for line in lines for ch in line):
        raise InvalidInput("address: control characters are not allowed.")
    return "\n".join(lines)


@dataclass(frozen=True)
class Enrolment:
    """What a change of enrolment did, for the history row's reason."""

    changes: list[str]


def enrol(
    patient: Patient,
    *,
    mode: str | None,
    email: str | None,
    address: str | None,
    today: date,
) -> Enrolment:
    """Applies --self-report, --email and --address to a patient (the caller records history).

    Enrolling by e-mail needs an e-mail address, by letter a postal address (either
    given now or already on file). Consent is dated ``today`` when the patient is
    enrolled or moves between e-mail and letter; ``none`` withdraws it and stops every
    unsent invitation (the next raising sends nothing).
    """
    changes: list[str] = []
    if email is not None:
        new_email = check_email(email) if email.strip() else None
        if new_email != patient.email:
            patient.email = new_email
            changes.append(f"email {'set' if new_email else 'removed'}")
    if address is not None:
        new_address = (check_address(address) if address.strip() else None) or None
        if new_address != patient.postal_address:
            patient.postal_address = new_address
            changes.append(f"postal address {'set' if new_address else 'removed'}")
    if mode is not None:
        try:
            chosen = Mode(mode)
        except ValueError:
            raise InvalidInput(
                f"self-report: {mode!r} is not one of email, letter, none."
            ) from None
        if chosen is not Mode(patient.self_report):
            patient.self_report = chosen.value
            if chosen is Mode.NONE:
                patient.self_report_consent_on = None
                changes.append("self-report withdrawn")
            else:
                patient.self_report_consent_on = today
                changes.append(f"self-report by {chosen.value}, consent given {today.isoformat()}")
    current = Mode(patient.self_report)
    # Given now or already on file: a rule on the record, not on the input (HTTP 409).
    if current is Mode.EMAIL and not patient.email:
        raise InputRefused("email: self-report by e-mail needs --email.")
    if current is Mode.LETTER and not patient.postal_address:
        raise InputRefused("address: self-report by letter needs --address (a postal address).")
    return Enrolment(changes)


def close_open_links(session: Session, *, patient_id: int, now: datetime) -> int:
    """Withdrawn consent closes the links already sent: each unanswered invitation of the
    patient expires now (the link then gets the closed page, like any other; the
    coordinator's worklist shows the follow-up as one to phone). Returns how many."""
    closed = session.execute(
        update(Invitation)
        .where(
            Invitation.patient_id == patient_id,
            Invitation.used_at.is_(None),
            Invitation.expires_at > now,
        )
        .values(expires_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(closed.rowcount or 0)  # type: ignore[attr-defined]


# --- invitations ---------------------------------------------------------------------


@dataclass(frozen=True)
class PatientMessage:
    """An e-mail to a patient: no clinical detail, no MRN, just the link."""

    invitation_id: int
    followup_id: int
    course_id: int | None
    to: str
    subject: str
    body: str
    reminder: bool


SUBJECT = "Your treatment team would like to hear how you are"


#: Whom a patient is told to call when no ``contact`` is given (``IVIG_PATIENT_CONTACT``).
DEFAULT_CONTACT = "your treatment team"


def message_body(
    *, name: str, url: str, expires: date, reminder: bool, contact: str = DEFAULT_CONTACT
) -> str:
    """The e-mail text: whom it greets (the patient's name as registered), what to do,
    the link, until when it works, whom to call (``IVIG_PATIENT_CONTACT``)."""
    opening = (
        "This is a reminder: we have not yet heard from you."
        if reminder
        else "Your treatment team would like to know how you are feeling."
    )
    # Prose wrapped at 72 columns (plain text mail; a line over 78 would make the whole
    # body quoted-printable); the link stays whole on a line of its own.
    paragraphs = [
        f"Dear {name},",
        opening,
        "Please answer a few short questions. It takes about one minute:",
        url,
        f"The link works once, until {expires.isoformat()}. If you cannot use it, or "
        f"you have questions, please call {contact}.",
    ]
    return "\n\n".join(p if p == url else textwrap.fill(p, 72) for p in paragraphs) + "\n"


def invite(
    session: Session,
    *,
    followup_ids: list[int],
    now: datetime,
    policy: SelfReport,
    base_url: str,
    contact: str = DEFAULT_CONTACT,
    made: dict[int, str] | None = None,
) -> list[PatientMessage]:
    """Makes the invitations that raising these follow-ups calls for.

    Only enrolled patients and only the policy's kinds; one invitation per follow-up
    (a unique column), so raising twice never invites twice. E-mail invitations get
    their token now and are returned as messages for the outbox; letter invitations
    get theirs when the letter is printed. ``made``, if given, receives each invited
    follow-up's worklist state (``invited`` or ``letter_to_print``).
    """
    if not followup_ids:
        return []
    rows = session.execute(
        select(FollowUp.id, FollowUp.course_id, Patient)
        .join(Patient, Patient.id == FollowUp.patient_id)
        .outerjoin(Invitation, Invitation.followup_id == FollowUp.id)
        .where(
            id_in(FollowUp.id, followup_ids, session.get_bind().dialect.name),
            FollowUp.kind.in_(policy.kinds),
            Patient.self_report != Mode.NONE.value,
            Invitation.id.is_(None),
        )
        .order_by(FollowUp.id)
    ).all()
    messages: list[PatientMessage] = []
    expires = now + timedelta(days=policy.window_days)
    for followup_id, course_id, patient in rows:
        by_email = patient.self_report == Mode.EMAIL.value and patient.email
        token, digest = new_token() if by_email else (None, None)
        invitation = Invitation(
            followup_id=followup_id,
            patient_id=patient.id,
            channel=Mode.EMAIL.value if by_email else Mode.LETTER.value,
            token_hash=digest,
            created_at=now,
            expires_at=expires,
        )
        session.add(invitation)
        session.flush()
        if made is not None:
            made[followup_id] = "invited" if by_email else "letter_to_print"
        if token is not None and patient.email:
            messages.append(
                PatientMessage(
                    invitation_id=invitation.id,
                    followup_id=followup_id,
                    course_id=course_id,
                    to=patient.email,
                    subject=SUBJECT,
                    body=message_body(
                        name=patient.name,
                        url=link(base_url, token),
                        expires=expires.date(),
                        reminder=False,
                        contact=contact,
                    ),
                    reminder=False,
                )
            )
    return messages


def _open_unanswered() -> tuple[object, ...]:
    return (
        Invitation.used_at.is_(None),
        Invitation.reminder_sent_at.is_(None),
        FollowUp.status == Status.RAISED.value,
    )


def remind(
    session: Session,
    *,
    now: datetime,
    policy: SelfReport,
    base_url: str,
    contact: str = DEFAULT_CONTACT,
) -> list[PatientMessage]:
    """One reminder e-mail per unanswered invitation, ``reminder_after_days`` after it.

    The reminder carries its own token (the first link keeps working too); it is not
    sent once the invitation has expired or its follow-up is closed.
    """
    cutoff = now - timedelta(days=policy.reminder_after_days)
    rows = session.execute(
        select(Invitation, FollowUp.course_id, Patient.name, Patient.email)
        .join(FollowUp, FollowUp.id == Invitation.followup_id)
        .join(Patient, Patient.id == Invitation.patient_id)
        .where(
            Invitation.channel == Mode.EMAIL.value,
            Invitation.created_at <= cutoff,
            Invitation.expires_at > now,
            Patient.self_report == Mode.EMAIL.value,
            Patient.email.is_not(None),
            *_open_unanswered(),  # type: ignore[arg-type]
        )
        .order_by(Invitation.id)
        .with_for_update(of=Invitation, skip_locked=True)
    ).all()
    messages: list[PatientMessage] = []
    for invitation, course_id, name, email in rows:
        token, digest = new_token()
        invitation.reminder_token_hash = digest
        invitation.reminder_sent_at = now
        messages.append(
            PatientMessage(
                invitation_id=invitation.id,
                followup_id=invitation.followup_id,
                course_id=course_id,
                to=str(email),
                subject=SUBJECT,
                body=message_body(
                    name=name,
                    url=link(base_url, token),
                    expires=invitation.expires_at.date(),
                    reminder=True,
                    contact=contact,
                ),
                reminder=True,
            )
        )
    return messages


# --- letters ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Letter:
    """One page to post: the address block and the link (no clinical detail, no MRN)."""

    invitation_id: int
    name: str
    address: list[str]
    url: str
    expires: date
    reminder: bool


def letters_due(
    session: Session,
    *,
    now: datetime,
    policy: SelfReport,
    base_url: str,
    by: str,
    entered_at: datetime | None = None,
    on: date | None = None,
) -> list[Letter]:
    """Letters to print now: each unprinted letter invitation, and one reminder letter
    ``reminder_after_days`` after an unanswered one was printed. Printing gives the
    invitation its token (stored hashed) and starts its window.

    ``now`` is the moment the letters are printed for (``--as-of``); the history rows
    keep the moment they were really entered (``entered_at``, default ``now``) and the
    letters' date (``on``) as their clinical date."""
    letters: list[Letter] = []
    stamp = History(by=by, at=entered_at or now, on=on)
    first = session.execute(
        select(Invitation, Patient, FollowUp.course_id)
        .join(FollowUp, FollowUp.id == Invitation.followup_id)
        .join(Patient, Patient.id == Invitation.patient_id)
        .where(
            Invitation.channel == Mode.LETTER.value,
            Invitation.letter_printed_at.is_(None),
            Invitation.used_at.is_(None),
            FollowUp.status == Status.RAISED.value,
            Patient.self_report == Mode.LETTER.value,
        )
        .order_by(Invitation.id)
    ).all()
    for invitation, patient, course_id in first:
        token, digest = new_token()
        invitation.token_hash = digest
        invitation.letter_printed_at = now
        invitation.expires_at = now + timedelta(days=policy.window_days)
        letters.append(_letter(invitation, patient, link(base_url, token), reminder=False))
        _printed(session, invitation, course_id, "", stamp)
    cutoff = now - timedelta(days=policy.reminder_after_days)
    again = session.execute(
        select(Invitation, Patient, FollowUp.course_id)
        .join(FollowUp, FollowUp.id == Invitation.followup_id)
        .join(Patient, Patient.id == Invitation.patient_id)
        .where(
            Invitation.channel == Mode.LETTER.value,
            Invitation.letter_printed_at <= cutoff,
            Invitation.expires_at > now,
            Patient.self_report == Mode.LETTER.value,
            *_open_unanswered(),  # type: ignore[arg-type]
        )
        .order_by(Invitation.id)
    ).all()
    for invitation, patient, course_id in again:
        token, digest = new_token()
        invitation.reminder_token_hash = digest
        invitation.reminder_sent_at = now
        letters.append(_letter(invitation, patient, link(base_url, token), reminder=True))
        _printed(session, invitation, course_id, "reminder ", stamp)
    return letters


@dataclass(frozen=True)
class History:
    """Who printed the letters, when that was entered, and the letters' date."""

    by: str
    at: datetime
    on: date | None


def _printed(
    session: Session, invitation: Invitation, course_id: int | None, what: str, stamp: History
) -> None:
    record(
        session,
        patient_id=invitation.patient_id,
        course_id=course_id,
        trigger="letter_printed",
        reason=f"self-report {what}letter printed for follow-up {invitation.followup_id}",
        by=stamp.by,
        at=stamp.at,
        on=stamp.on,
    )


def _letter(invitation: Invitation, patient: Patient, url: str, *, reminder: bool) -> Letter:
    return Letter(
        invitation_id=invitation.id,
        name=patient.name,
        address=(patient.postal_address or "").splitlines(),
        url=url,
        expires=invitation.expires_at.date(),
        reminder=reminder,
    )


# --- the answer ------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenInvitation:
    """What the form may show: a first name to greet, and which questions to ask."""

    invitation_id: int
    course_id: int
    first_name: str
    asks_walking: bool


def find_open(
    session: Session, *, token: str, now: datetime, policy: SelfReport
) -> OpenInvitation | None:
    """The invitation this token opens, or None for any failure alike (no oracle)."""
    if not token or len(token) > 200:
        return None
    digest = hash_token(token)
    found = session.execute(
        select(Invitation, FollowUp.kind, FollowUp.course_id, Patient.name)
        .join(FollowUp, FollowUp.id == Invitation.followup_id)
        .join(Patient, Patient.id == Invitation.patient_id)
        .where(or_(Invitation.token_hash == digest, Invitation.reminder_token_hash == digest))
    ).first()
    if found is None:
        return None
    invitation, kind, course_id, name = found
    if invitation.used_at is not None or invitation.expires_at <= now or course_id is None:
        return None
    status = session.scalar(select(FollowUp.status).where(FollowUp.id == invitation.followup_id))
    if status != Status.RAISED.value:
        return None
    return OpenInvitation(
        invitation_id=invitation.id,
        course_id=course_id,
        first_name=str(name).split()[0] if str(name).split() else "",
        asks_walking=kind in policy.walking_kinds,
    )


def walking_metres(choice: str, policy: SelfReport) -> float | None:
    """The metres a "how far can you walk" choice stands for (its index on the form)."""
    if choice == "":
        return None
    try:
        index = int(choice)
    except ValueError:
        raise InvalidInput("walking: choose one of the answers listed.") from None
    if not 0 <= index < len(policy.walking_choices):
        raise InvalidInput("walking: choose one of the answers listed.")
    return policy.walking_choices[index].metres


def answer(
    *,
    session: Session,
    token: str,
    vas: float,
    walking_distance_m: float | None,
    clock: Clock,
    policy: Policy,
) -> Assessment:
    """Records the patient's answer as an assessment with source ``patient``.

    It goes through the same ``assess`` use-case as a clinician's entry, so it
    completes the follow-ups it satisfies and feeds the suspected-relapse signal;
    the invitation is used up in the same transaction. ``NotFound`` for any token
    that does not open an invitation, whatever the reason.
    """
    from workflow.service.monitoring import assess

    now = clock.now()
    opened = find_open(session, token=token, now=now, policy=policy.self_report)
    if opened is None:
        raise NotFound("token: this link does not open a form.")
    invitation = session.scalars(
        select(Invitation).where(Invitation.id == opened.invitation_id).with_for_update()
    ).one()
    if invitation.used_at is not None:
        raise NotFound("token: this link does not open a form.")
    row = assess(
        session=session,
        course_id=opened.course_id,
        on=clock.today(),
        vas=vas,
        mrc_sum=None,
        walking_distance_m=walking_distance_m if opened.asks_walking else None,
        by=PATIENT_ACTOR,
        clock=clock,
        policy=policy,
        source="patient",
    )
    invitation.used_at = now
    invitation.assessment_id = row.id
    return row


# --- through the outbox ----------------------------------------------------------------


def _enqueue(
    session: Session,
    message: PatientMessage,
    *,
    patient_id: int,
    now: datetime,
    channel: str | None,
) -> None:
    """One e-mail to the patient, through the outbox, on the patient channel only
    (``channel``; none configured: the log channel).

    The record carries the invitation id and nothing else; the text (with the link)
    rides in the e-mail envelope, which delivery drops from the row once sent.
    """
    from workflow.outbox import LOG, PATIENT_INVITATION, enqueue

    enqueue(
        session,
        kind=PATIENT_INVITATION,
        payload={"invitation_id": message.invitation_id},
        dedupe_key=f"invitation-{message.invitation_id}"
        + ("-reminder" if message.reminder else ""),
        course_id=message.course_id,
        patient_id=patient_id,
        followup_id=message.followup_id,
        now=now,
        channels=[channel or LOG],
        subject=message.subject,
        email_to=[message.to],
        text=message.body,
    )


def send_invitations(
    session: Session, *, followup_ids: list[int], now: datetime, outreach: PatientOutreach
) -> dict[int, str]:
    """Invites the enrolled patients of these just-raised follow-ups (in the raising
    transaction, so an invitation exists exactly when its follow-up was raised), by
    ``outreach``'s channel, links and contact. Returns each invited follow-up's
    worklist state, for the list of those raised."""
    from workflow.review.policy import load_policy

    made: dict[int, str] = {}
    messages = invite(
        session,
        followup_ids=followup_ids,
        now=now,
        policy=load_policy().self_report,
        base_url=outreach.base_url,
        contact=outreach.contact,
        made=made,
    )
    _send(session, messages, now, outreach.channel)
    return made


def send_reminders(session: Session, *, now: datetime, outreach: PatientOutreach) -> int:
    """The one reminder e-mail of each unanswered invitation that is due one."""
    from workflow.review.policy import load_policy

    messages = remind(
        session,
        now=now,
        policy=load_policy().self_report,
        base_url=outreach.base_url,
        contact=outreach.contact,
    )
    return _send(session, messages, now, outreach.channel)


def _send(
    session: Session, messages: list[PatientMessage], now: datetime, channel: str | None
) -> int:
    if not messages:
        return 0
    owners = {
        invitation_id: patient_id
        for invitation_id, patient_id in session.execute(
            select(Invitation.id, Invitation.patient_id).where(
                Invitation.id.in_([m.invitation_id for m in messages])
            )
        )
    }
    for message in messages:
        _enqueue(
            session, message, patient_id=owners[message.invitation_id], now=now, channel=channel
        )
    return len(messages)


# --- what the coordinator sees ----------------------------------------------------------

#: A follow-up's self-report state in the command line's worklist (short: a column).
SELF_REPORT_WORDS = {
    "letter_to_print": "letter to print",
    "invited": "invited",
    "answered": "patient answered",
    "call": "expired: phone",
}


def states(session: Session, followup_ids: list[int], *, today: date) -> dict[int, str]:
    """Each invited follow-up's state: ``answered`` (the patient used the link),
    ``call`` (expired unanswered, or consent withdrawn since: phone the patient),
    ``letter_to_print`` (enrolled by letter, not printed yet), else ``invited``."""
    if not followup_ids:
        return {}
    found: dict[int, str] = {}
    for fid, used, expires, channel, printed, mode in session.execute(
        select(
            Invitation.followup_id,
            Invitation.used_at,
            Invitation.expires_at,
            Invitation.channel,
            Invitation.letter_printed_at,
            Patient.self_report,
        )
        .join(Patient, Patient.id == Invitation.patient_id)
        .where(Invitation.followup_id.in_(followup_ids))
    ):
        if used is not None:
            found[fid] = "answered"
        elif mode == Mode.NONE.value:
            found[fid] = "call"
        elif channel == Mode.LETTER.value and printed is None:
            found[fid] = "letter_to_print"
        elif expires.date() < today:
            found[fid] = "call"
        else:
            found[fid] = "invited"
    return found


def annotate(session: Session, rows: list[FollowUpRead], *, today: date | None) -> None:
    """Sets ``self_report`` on each row that has an invitation (open rows only are
    judged against ``today``; a closed follow-up keeps only ``answered``)."""
    if today is None or not rows:
        return
    found = states(session, [r.id for r in rows], today=today)
    for row in rows:
        state = found.get(row.id)
        if state is not None and (state == "answered" or row.status in OPEN):
            row.self_report = state
