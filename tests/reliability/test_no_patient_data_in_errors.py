"""An internal error while handling a patient's record says nothing of the patient
beyond ids: not on the terminal (exit 3), not in the response (500), not in the log,
and nothing escapes the web app for the server (uvicorn) to log with its message."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError

from tests.conftest import Ivig
from tests.factories import request
from tests.web.conftest import COORDINATOR, PATIENT, REVIEWER, Web
from tests.web.conftest import request_doc as web_request_doc

NAME = "Zebedee Quillfeather"
BIRTH = "1931-02-03"
SECRETS = (NAME, "Zebedee", "Quillfeather", BIRTH)


def _register(ivig: Ivig) -> None:
    ivig.ok(
        "patient", "add", "--mrn", "M1", "--name", NAME, "--birth-date", BIRTH,
        "--sex", "female", "--weight-kg", "82", "--height-cm", "170", "--diabetes", "type2",
    )  # fmt: skip


def _fail_with_patient_data(*_: Any, **__: Any) -> Any:
    """A bug whose message, notes, cause and database error all repeat the patient."""
    cause = ValueError(f"bad birth date {BIRTH} of {NAME}")
    error = IntegrityError(f"INSERT INTO patients (name) VALUES ('{NAME}')", {"name": NAME}, cause)
    error.add_note(f"while handling {NAME}")
    raise error from cause


def _assert_clean(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text, f"{secret!r} leaked into: {text!r}"


def test_cli_internal_error_prints_and_logs_nothing_of_the_patient(
    ivig: Ivig, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _register(ivig)
    cid = request(ivig, "M1")["id"]
    caplog.set_level(logging.DEBUG)
    with monkeypatch.context() as patched:
        patched.setattr("workflow.read.queries._dose", _fail_with_patient_data)
        patched.setattr("workflow.service.courses.notify_requester", _fail_with_patient_data)
        shown = ivig("course", "show", str(cid))
        reviewed = ivig(
            "course", "review", str(cid), "--decision", "info", "--reviewer", "dr.reviewer",
            "--note", "which steroid?",
        )  # fmt: skip

    for result in (shown, reviewed):
        assert result.code == 3
        assert "internal error (IntegrityError)" in result.err
        assert result.err.count("\n") == 1 and result.out == ""
        _assert_clean(result.out, result.err)
    assert "IntegrityError" in caplog.text and "message withheld" in caplog.text
    _assert_clean(caplog.text)
    # Nothing of the failed review was written.
    assert ivig.ok("course", "show", str(cid))["reviews"] == []


def test_web_internal_error_answers_500_logs_nothing_of_the_patient(
    web: Web, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    patient = {**PATIENT, "name": NAME, "birth_date": BIRTH}
    assert web.api(COORDINATOR).post("/api/v1/patients", json=patient).status_code == 201
    created = web.api(COORDINATOR).post("/api/v1/courses", json=web_request_doc("M1"))
    cid = created.json()["id"]
    monkeypatch.setattr("workflow.read.queries._dose", _fail_with_patient_data)
    monkeypatch.setattr("workflow.service.courses.notify_requester", _fail_with_patient_data)
    caplog.set_level(logging.DEBUG)
    # web.api raises whatever escapes the app, as a server would log it: nothing may.
    api, browser = web.api(REVIEWER), web.browser(REVIEWER)

    responses = [
        api.get(f"/api/v1/courses/{cid}"),
        api.post(f"/api/v1/courses/{cid}/review", json={"decision": "info", "note": "which?"}),
        browser.get(f"/courses/{cid}"),
    ]

    for response in responses:
        assert response.status_code == 500
        assert "internal error (IntegrityError)" in response.text
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        _assert_clean(response.text)
    assert caplog.text.count("message withheld") == len(responses)
    _assert_clean(caplog.text)


def test_web_internal_error_escapes_nothing_to_the_server(web: Web) -> None:
    """Starlette re-raises a 500's exception for the server to log (uvicorn logs it with
    its message): the app must not let it out."""
    import asyncio

    def boom() -> None:
        raise RuntimeError(f"patient {NAME}")

    web.app.add_api_route("/api/v1/boom", boom)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": "/api/v1/boom", "raw_path": b"/api/v1/boom",
        "query_string": b"", "root_path": "", "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 1), "server": ("testserver", 80),
    }  # fmt: skip
    asyncio.run(web.app(scope, receive, send))  # raises if the exception escapes

    assert sent[0]["status"] == 500
    _assert_clean(b"".join(m.get("body", b"") for m in sent).decode())


def test_a_self_report_token_is_cut_from_the_logged_path() -> None:
    from workflow.web.errors import safe_path

    assert safe_path({"path": "/r/s3cr3t-token/submit"}) == "/r/…/submit"
    assert safe_path({"path": "/api/v1/courses/7"}) == "/api/v1/courses/7"
