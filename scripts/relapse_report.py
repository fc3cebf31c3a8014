"""The relapse report, as a script: exactly ``ivig report relapse`` with the same options.

    python scripts/relapse_report.py [--as-of DATE] [--csv PATH] [--plot PATH] [--json]

It calls the same entry point as the console script, so its output (and its JSON)
is identical. Reads IVIG_DATABASE_URL like every other command.
"""

from __future__ import annotations

import sys

from workflow.cli import main

if __name__ == "__main__":
    main(["report", "relapse", *sys.argv[1:]])
