"""The project documents itself: every link in the README and docs/ reaches a file a
clone has, and docs/request.md names every field of the request's nested objects."""

from __future__ import annotations

import re
import typing
from pathlib import Path

from pydantic import BaseModel

from workflow.catalogue import field_type
from workflow.request_doc import FIELDS
from workflow.schemas import CourseRequestIn

ROOT = Path(__file__).resolve().parent.parent
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def test_every_relative_link_reaches_a_file_of_the_repository() -> None:
    broken = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in LINK.findall(page.read_text(encoding="utf-8")):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            if (
                not (page.parent / target).resolve().is_relative_to(ROOT)
                or not (page.parent / target).exists()
            ):
                broken.append(f"{page.relative_to(ROOT)} -> {target}")
    assert not broken, broken


def test_every_nested_request_field_is_named_in_its_line() -> None:
    missing = []
    for name, info in CourseRequestIn.model_fields.items():
        base = field_type(info.annotation)
        if typing.get_origin(base) is list:
            base = typing.get_args(base)[0]
        if isinstance(base, type) and issubclass(base, BaseModel):
            meaning = FIELDS[name][1]
            missing += [f"{name}.{n}" for n in base.model_fields if f'"{n}"' not in meaning
                        and f"`{n}`" not in meaning]  # fmt: skip
    assert not missing, missing
