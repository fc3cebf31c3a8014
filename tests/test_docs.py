"""The generated docs follow the code: regenerate with ``python scripts/make_docs.py``."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Ivig
from tests.factories import register
from workflow.cli import reference
from workflow.request_doc import FIELDS, document
from workflow.schemas import CourseRequestIn

ROOT = Path(__file__).resolve().parent.parent
HINT = "out of date: run python scripts/make_docs.py"


def test_docs_cli_md_is_up_to_date() -> None:
    assert (ROOT / "docs" / "cli.md").read_text(encoding="utf-8") == reference.document(), HINT


def test_docs_request_md_is_up_to_date() -> None:
    assert (ROOT / "docs" / "request.md").read_text(encoding="utf-8") == document(), HINT


def test_every_request_field_is_explained() -> None:
    missing = set(CourseRequestIn.model_fields) - set(FIELDS)
    assert not missing, f"add a line to workflow/request_doc.py FIELDS for {sorted(missing)}"


def test_the_template_is_a_request_that_course_request_accepts(ivig: Ivig) -> None:
    register(ivig, mrn="M9")
    template = ivig.ok("course", "template", "--mrn", "M9")
    assert set(template) <= set(CourseRequestIn.model_fields)
    course = ivig.ok("course", "request", "--file", "-", stdin=json.dumps(template))
    assert course["mrn"] == "M9" and course["state"] == "requested"
    # Filled in with the registered weight: the example raises no weight mismatch.
    rules = {f["rule"] for f in course["recommendation"]["findings"]}
    assert "dose.weight_mismatch" not in rules


def test_readme_links_the_projects_own_docs_not_the_shared_contract() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "../shared" not in readme
    for page in ("docs/cli.md", "docs/request.md", "docs/states.md"):
        assert page in readme
