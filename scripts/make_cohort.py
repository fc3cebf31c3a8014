"""Builds a synthetic, deterministic cohort of IVIG courses through the real services.

    python scripts/make_cohort.py --patients 200 --seed 7 [--database-url URL] [--end 2026-11-01]

Each event is a use-case in its own transaction with the clock set to that event's
moment (see ``workflow.synthetic``). Meant for demos and tests (up to a few
thousand patients); ``scripts/bench_report.py`` uses bulk inserts for 100 000 courses.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date

from workflow.config import get_settings
from workflow.db import engine_for, upgrade
from workflow.errors import IvigError
from workflow.synthetic import DEFAULT_END, make_cohort


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=40, help="patients to make (default 40)")
    parser.add_argument("--seed", type=int, default=7, help="the same seed makes the same cohort")
    parser.add_argument("--database-url", help="default: IVIG_DATABASE_URL")
    parser.add_argument(
        "--end",
        type=date.fromisoformat,
        default=DEFAULT_END,
        help=f"every clinical date lies before this one (default {DEFAULT_END})",
    )
    parser.add_argument("--mrn-prefix", default="SYN", help="MRNs are PREFIX00001… (default SYN)")
    args = parser.parse_args(argv)
    if args.patients < 1:
        parser.error("--patients must be at least 1")
    try:
        engine = engine_for(args.database_url or get_settings().database_url)
        upgrade(engine)
        summary = make_cohort(
            engine,
            patients=args.patients,
            seed=args.seed,
            clock_end=args.end,
            mrn_prefix=args.mrn_prefix,
        )
    except IvigError as exc:  # e.g. the MRNs exist already: use another --mrn-prefix
        sys.stderr.write(f"make_cohort: {exc.message}\n")
        return exc.exit_code
    json.dump(
        {"patients": summary.patients, "courses": summary.courses, "by_state": summary.by_state},
        sys.stdout,
    )
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
