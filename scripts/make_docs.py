"""Writes the generated docs: docs/cli.md (the command reference), docs/request.md
(the request document) and docs/states.md (states, triggers and the action catalogue)."""

from __future__ import annotations

from pathlib import Path

from workflow import diagram, request_doc
from workflow.cli import reference

DOCS = Path(__file__).resolve().parent.parent / "docs"

PAGES = {
    "cli.md": reference.document,
    "request.md": request_doc.document,
    "states.md": diagram.document,
}

if __name__ == "__main__":
    for name, make in PAGES.items():
        (DOCS / name).write_text(make(), encoding="utf-8")
        print(f"wrote {DOCS / name}")
