"""Start-up of the read commands, timed as whole processes against bare imports.

    python scripts/bench_startup.py [--runs 15] [--json]

The baseline is a process that imports only the libraries every command needs and
does nothing else: ``from sqlalchemy.orm import Session``, ``import typer``,
``from pydantic import BaseModel``, ``from transitions import Machine`` (the public
names each library is used through, so each is loaded as the program loads it).
Each read command (``patient show``, ``course show``, ``followups list``) runs as
the ``ivig`` console script on a small SQLite database (one patient, one course in
monitoring with its follow-ups), made here in a temporary directory. The program's
modules are compiled to bytecode first, as an installation does (the libraries' are).
Runs are interleaved (baseline, each command, baseline, …) so that load from other
work on the machine falls on all of them alike.

Prints, per command: the median wall time and CPU time (user + system) of the runs,
each as a ratio to the baseline's, and the largest peak resident memory (from the
kernel's ``wait4`` accounting of the child). Targets: wall ratio ≤ 1.3, peak
memory ≤ 70 MiB.
"""

from __future__ import annotations

import argparse
import compileall
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

BASELINE = (
    "from sqlalchemy.orm import Session; import typer; "
    "from pydantic import BaseModel; from transitions import Machine"
)
READ_COMMANDS = (
    ("patient show", ["patient", "show", "A1"]),
    ("course show", ["course", "show", "1"]),
    ("followups list", ["followups", "list"]),
)
TARGET_RATIO = 1.3
TARGET_MIB = 70.0

REQUEST = {
    "mrn": "A1",
    "indication": "dlrpn",
    "severity_grade": 3,
    "product": "Octagam 10%",
    "dose_g_per_kg_per_day": 0.4,
    "days": 2,
    "weight_kg": 70,
    "baseline": {"vas": 8, "mrc_sum": 40, "walking_distance_m": 100},
    "medications": [{"name": "pregabalin", "mg_per_day": 300}],
    "hba1c_percent": 6.5,
    "requested_by": "dr.request",
    "requested_on": "2026-10-28",
}


@dataclass
class Sample:
    wall: float
    cpu: float
    rss_mib: float


def ivig() -> str:
    found = Path(sys.executable).with_name("ivig")
    return str(found) if found.exists() else (shutil.which("ivig") or "ivig")


def run_once(argv: list[str], env: dict[str, str], cwd: str) -> Sample:
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}): {err.strip()}")
    # ru_maxrss is in KiB on Linux.
    return Sample(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def make_data(env: dict[str, str], cwd: str) -> None:
    exe = ivig()

    def call(*args: str, stdin: str | None = None) -> None:
        subprocess.run(
            [exe, *args],
            env=env,
            cwd=cwd,
            input=stdin,
            text=True,
            check=True,
            stdout=subprocess.DEVNULL,
        )

    call("db", "upgrade")
    call(
        *"patient add --mrn A1 --name Ann --birth-date 1960-01-01 --sex female".split(),
        *"--weight-kg 70 --diabetes type2".split(),
    )
    call("course", "request", "--file", "-", stdin=json.dumps(REQUEST))
    call(
        *"course review 1 --decision approve --reviewer dr.review --note ok".split(),
        "--override-reason",
        "benchmark data",
        "--date",
        "2026-10-30",
    )
    for day in ("2026-11-02", "2026-11-03"):
        call("course", "infuse", "1", "--date", day, "--grams", "28")


def compile_program() -> None:
    """Writes the program's bytecode, as installing it does.

    The libraries of the baseline were compiled when pip installed them; an editable
    install of this program is compiled on first use, unless PYTHONDONTWRITEBYTECODE is
    set (it is on some development machines), when every run would compile every module
    again (~50 ms a command) and the comparison would be unfair to the program.
    """
    for package in ("workflow", "schedules"):
        spec = importlib.util.find_spec(package)
        for folder in (spec.submodule_search_locations or []) if spec else []:
            compileall.compile_dir(folder, quiet=1)


def measure(runs: int, env: dict[str, str], cwd: str) -> dict[str, list[Sample]]:
    compile_program()
    plans = {"baseline": [sys.executable, "-c", BASELINE]}
    plans.update({name: [ivig(), *args] for name, args in READ_COMMANDS})
    for argv in plans.values():  # warm the page cache and the bytecode once
        run_once(argv, env, cwd)
    samples: dict[str, list[Sample]] = {name: [] for name in plans}
    for _ in range(runs):
        for name, argv in plans.items():
            samples[name].append(run_once(argv, env, cwd))
    return samples


def summarise(samples: dict[str, list[Sample]]) -> list[dict[str, object]]:
    base = samples["baseline"]
    base_wall = statistics.median(s.wall for s in base)
    base_cpu = statistics.median(s.cpu for s in base)
    rows: list[dict[str, object]] = []
    for name, got in samples.items():
        wall = statistics.median(s.wall for s in got)
        cpu = statistics.median(s.cpu for s in got)
        rss = max(s.rss_mib for s in got)
        rows.append(
            {
                "process": name,
                "wall_s": round(wall, 4),
                "wall_ratio": round(wall / base_wall, 2),
                "cpu_s": round(cpu, 4),
                "cpu_ratio": round(cpu / base_cpu, 2),
                "peak_rss_mib": round(rss, 1),
                "met": name == "baseline"
                or (wall / base_wall <= TARGET_RATIO and rss <= TARGET_MIB),
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="runs of each process")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    opts = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ivig-startup-") as tmp:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("IVIG_")},
            "IVIG_DATABASE_URL": f"sqlite:///{tmp}/startup.db",
            "IVIG_FROZEN_NOW": "2026-11-20T10:00:00+00:00",
            "IVIG_ACTOR": "bench",
        }
        make_data(env, tmp)
        rows = summarise(measure(opts.runs, env, tmp))
    if opts.json:
        print(json.dumps(rows, indent=2))
        return 0 if all(r["met"] for r in rows) else 1
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{opts.runs} runs each, interleaved; load average {load}")
    print(f"baseline: python -c {BASELINE!r}")
    print("| process | wall (median) | × baseline | CPU (median) | × baseline | peak RSS | met? |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        met = "—" if r["process"] == "baseline" else ("yes" if r["met"] else "**NO**")
        print(
            f"| {r['process']} | {float(r['wall_s']) * 1000:.0f} ms | {r['wall_ratio']}× "  # type: ignore[arg-type]
            f"| {float(r['cpu_s']) * 1000:.0f} ms | {r['cpu_ratio']}× "  # type: ignore[arg-type]
            f"| {r['peak_rss_mib']} MiB | {met} |"
        )
    print(f"targets: wall ≤ {TARGET_RATIO}× the baseline, peak RSS ≤ {TARGET_MIB:.0f} MiB")
    return 0 if all(r["met"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
