"""The worklist PAGE under load, for ``scripts/bench.py``: ``ivig serve`` on 127.0.0.1,
a signed-in session cookie, and ``wrk`` with a fixed number of connections for a
bounded time. Only the loopback address is ever contacted.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

USERNAME = "bench.coordinator"
PASSWORD = "bench password 1234"
SECRET = "bench-secret-key-not-for-production"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
IVIG = str(Path(sys.executable).with_name("ivig"))

# wrk prints the percentiles we ask for (it has no p95 of its own) and the errors.
LUA = """
done = function(summary, latency, requests)
  io.write(string.format("P50_US=%d\\nP95_US=%d\\nREQUESTS=%d\\nTIMEOUTS=%d\\nNON2XX=%d\\n",
    latency:percentile(50), latency:percentile(95), summary.requests,
    summary.errors.timeout, summary.errors.status))
end
"""


@dataclass(frozen=True)
class Load:
    p50_ms: float
    p95_ms: float
    requests: int
    timeouts: int
    non_2xx: int


@dataclass(frozen=True)
class PageResult:
    page: Load
    baseline: Load
    single_ms: float  # one client, median of a few serial requests
    rows: str


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _add_user(url: str, now_iso: str) -> None:
    from datetime import datetime

    from sqlalchemy import select

    from workflow.clock import FixedClock
    from workflow.db import engine_for, transaction
    from workflow.models import User
    from workflow.service import users

    with transaction(engine_for(url)) as session:
        if session.scalar(select(User.id).where(User.username == USERNAME)) is None:
            users.add_user(
                session=session,
                username=USERNAME,
                full_name="Bench Coordinator",
                role="coordinator",
                password=PASSWORD,
                clock=FixedClock(datetime.fromisoformat(now_iso)),
            )


def _wait_listening(port: int, proc: subprocess.Popen[bytes], limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"ivig serve exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)  # waiting for a server to start, not timing anything
    raise RuntimeError("ivig serve did not start listening within a minute")


def _sign_in(base: str) -> tuple[str, str]:
    import httpx

    with httpx.Client(base_url=base, timeout=120) as client:
        form = client.get("/signin")
        token = CSRF.search(form.text)
        if token is None:
            raise RuntimeError("the sign-in page has no CSRF token")
        done = client.post(
            "/signin",
            data={
                "username": USERNAME,
                "password": PASSWORD,
                "csrf_token": token.group(1),
                "next": "/",
            },
        )
        if done.status_code != 303:
            raise RuntimeError(f"sign-in answered {done.status_code}")
        name, value = next(iter(client.cookies.items()))
        return name, value


def _serial_ms(base: str, cookie: tuple[str, str], runs: int = 3) -> tuple[float, int]:
    import httpx

    timings = []
    size = 0
    with httpx.Client(base_url=base, timeout=600, cookies=dict([cookie])) as client:
        for _ in range(runs):
            start = time.perf_counter()
            page = client.get("/")
            timings.append((time.perf_counter() - start) * 1000)
            if page.status_code != 200:
                raise RuntimeError(f"the worklist page answered {page.status_code}")
            size = len(page.content)
    return sorted(timings)[len(timings) // 2], size


def _wrk(url: str, clients: int, seconds: int, header: str | None, script: Path) -> Load:
    command = ["wrk", "-t2", f"-c{clients}", f"-d{seconds}s", "--timeout", "30s", "-s", str(script)]
    if header:
        command += ["-H", header]
    out = subprocess.run(
        [*command, url], capture_output=True, text=True, timeout=seconds + 120, check=True
    ).stdout
    values = dict(re.findall(r"^([A-Z0-9_]+)=(\d+)$", out, re.MULTILINE))
    return Load(
        p50_ms=int(values["P50_US"]) / 1000,
        p95_ms=int(values["P95_US"]) / 1000,
        requests=int(values["REQUESTS"]),
        timeouts=int(values["TIMEOUTS"]),
        non_2xx=int(values["NON2XX"]),
    )


def measure_page(url: str, now_iso: str, *, clients: int, seconds: int) -> PageResult | str:
    """The page's latency under ``clients`` connections; a sentence when it cannot run."""
    if shutil.which("wrk") is None:
        return "wrk is not installed (apt-get install -y wrk)"
    try:
        import workflow.web  # noqa: F401
    except ImportError as exc:
        return f"the web app is not importable ({exc})"
    _add_user(url, now_iso)
    port = _free_port()
    env = dict(os.environ)
    env.update(
        IVIG_DATABASE_URL=url,
        IVIG_SECRET_KEY=SECRET,
        IVIG_FROZEN_NOW=now_iso,
        IVIG_TIMEZONE="UTC",
        IVIG_LOG_LEVEL="WARNING",
    )
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "report.lua"
        script.write_text(LUA)
        log = (Path(tmp) / "serve.log").open("wb")
        proc = subprocess.Popen(
            [IVIG, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
            env=env,
            stdout=log,
            stderr=log,
        )
        try:
            _wait_listening(port, proc)
            base = f"http://127.0.0.1:{port}"
            cookie = _sign_in(base)
            single, size = _serial_ms(base, cookie)
            header = f"Cookie: {cookie[0]}={cookie[1]}"
            # The baseline first: requests wrk abandons when its time is up keep the
            # server busy after it stops, and would be counted against what follows.
            baseline = _wrk(f"{base}/signin", clients, seconds, None, script)
            page = _wrk(f"{base}/", clients, seconds, header, script)
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()
    return PageResult(page, baseline, single, f"{size / 1024:.0f} KiB page")
