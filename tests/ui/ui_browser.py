"""What the browser tests share: a real ``novelcrew serve`` and the ways a person waits on
the page (a job's end, a download, an element)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from novelcrew_sdk.testing import free_port, stop_process, wait_for_http

ROOT = Path(__file__).resolve().parents[2]
STORY = ROOT / "examples" / "stories" / "the-last-shift-at-vell-street.txt"
KEY = "ui-test-key-4f1c"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


@contextmanager
def serve(data: Path, *, crash: bool = False, **extra_env: str) -> Iterator[str]:
    """A real ``novelcrew serve`` with the installed plugins (``extra_env`` may limit them),
    stopped at the end as an operator stops it, or with ``crash`` killed where it stands (a
    stopped server drains: it finishes its job and its event streams first)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOVELCREW_")}
    env.update(NOVELCREW_API_KEYS=KEY, NOVELCREW_DATA_DIR=str(data), NOVELCREW_MODEL="offline",
               NOVELCREW_RATE_LIMIT_PER_MINUTE="0", NOVELCREW_LOG_LEVEL="WARNING")
    env.update(extra_env)  # a test may route another model, too
    with (data / "serve.log").open("w") as log:
        proc = subprocess.Popen(
            [str(Path(sys.executable).with_name("novelcrew")), "serve", "--port", str(port)],
            env=env, cwd=data, stdout=subprocess.DEVNULL, stderr=log,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        # /openapi.json: the server answers it whatever /health says of the plugins
        wait_for_http(f"{url}/openapi.json", proc, timeout=60, log=data / "serve.log")
        yield url
    finally:
        if crash:
            proc.kill()
            proc.wait()
        else:
            stop_process(proc)


def wait(driver: WebDriver, timeout: float = 30) -> WebDriverWait[WebDriver]:
    # a page that redraws can replace an element between finding and reading it: look again
    return WebDriverWait(driver, timeout, poll_frequency=0.1,
                         ignored_exceptions=(StaleElementReferenceException,))


def console_errors(driver: WebDriver) -> list[dict[str, Any]]:
    """Errors in the console, less the 401s of the key check: the page learns that the server
    wants a key (and that a typed key was wrong) by the API's answer, which Chromium logs."""
    return [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"
            and not (e.get("source") == "network" and "status of 401" in e.get("message", ""))]


def succeeded(url: str, job_id: str, timeout: float) -> dict[str, Any]:
    """The job's record once it has ended, which must be as succeeded."""
    deadline = time.monotonic() + timeout
    while (job := httpx.get(f"{url}/jobs/{job_id}", headers={"X-API-Key": KEY}).json())[
            "status"] not in ("succeeded", "failed"):
        assert time.monotonic() < deadline, f"the job stayed {job['status']}"
        time.sleep(0.2)
    assert job["status"] == "succeeded", job.get("error")
    return job


def open_job(driver: WebDriver, url: str, job_id: str) -> None:
    """The job's page, with the key in the tab as a signed-in person has it."""
    driver.get(f"{url}/ui/")
    driver.execute_script("sessionStorage.setItem('novelcrew-key', arguments[0])", KEY)
    driver.get(f"{url}/ui/#/jobs/{job_id}")
    driver.refresh()  # the page starts again, with the key


def wait_download(folder: Path, suffix: str, timeout: float = 20) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [p for p in folder.iterdir() if p.name.endswith(suffix)]
        if found:
            return found[0]
        time.sleep(0.1)
    raise AssertionError(f"no {suffix} download in {sorted(p.name for p in folder.iterdir())}")
