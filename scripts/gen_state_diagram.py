"""Writes docs/states.md from the transition table (workflow/states.py)."""

from __future__ import annotations

from pathlib import Path

from workflow.diagram import document

TARGET = Path(__file__).resolve().parent.parent / "docs" / "states.md"

if __name__ == "__main__":
    TARGET.write_text(document(), encoding="utf-8")
    print(f"wrote {TARGET}")
