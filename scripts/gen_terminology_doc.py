"""Writes docs/terminology.md from workflow/terminology/codes.yaml."""

from __future__ import annotations

from pathlib import Path

from workflow.terminology.docs import document

TARGET = Path(__file__).resolve().parent.parent / "docs" / "terminology.md"

if __name__ == "__main__":
    TARGET.write_text(document(), encoding="utf-8")
    print(f"wrote {TARGET}")
