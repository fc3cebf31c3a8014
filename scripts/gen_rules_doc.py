"""Writes docs/rules.md from the packaged default policy.

    python scripts/gen_rules_doc.py           # rewrite docs/rules.md
    python scripts/gen_rules_doc.py --check   # exit 1 if docs/rules.md is out of date

The page documents the packaged default, not IVIG_POLICY, so that the committed file
does not depend on the environment it was generated in.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from workflow.review.catalog import render_markdown
from workflow.review.policy import DEFAULT_POLICY, load_policy

TARGET = Path(__file__).resolve().parent.parent / "docs" / "rules.md"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare, do not write")
    parser.add_argument("--output", type=Path, default=TARGET)
    args = parser.parse_args(argv)
    page = render_markdown(load_policy(DEFAULT_POLICY))
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != page:
            print(f"{args.output} is out of date; run scripts/gen_rules_doc.py.", file=sys.stderr)
            return 1
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(page, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
