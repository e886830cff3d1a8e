"""What the browser tests share: a real ``novelcrew serve`` and the ways a person waits on
the page (a job's end, a download, an element)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
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


class SilentModel:
    """A model server that takes every call and never answers: ``env`` are ``serve``
    settings for ``openai/silent``. A job on it stays running until it is cancelled or its
    server goes, however fast the machine (an offline job can end before the page opened).
    A cancelled job stops once its model call returns: ``hang_up`` ends the calls at once."""

    def __init__(self) -> None:
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(64)  # calls wait, unanswered, in the queue of the listener
        self.env = {"OPENAI_BASE_URL": f"http://127.0.0.1:{self._socket.getsockname()[1]}/v1",
                    "OPENAI_API_KEY": "ui-test"}

    def hang_up(self) -> None:
        """Close the listener: the calls waiting on it are reset, later ones refused."""
        self._socket.close()


@contextmanager
def silent_model() -> Iterator[SilentModel]:
    model = SilentModel()
    try:
        yield model
    finally:
        model.hang_up()


def click(driver: WebDriver, selector: str, timeout: float = 30) -> None:
    """Click what ``selector`` finds once it is clickable, looking again if a redraw replaced
    it between finding and clicking (a list that refreshes while a person reaches for it)."""
    def clicked(drv: WebDriver) -> bool:
        found = drv.find_elements(By.CSS_SELECTOR, selector)
        if not found or not (found[0].is_displayed() and found[0].is_enabled()):
            return False
        found[0].click()
        return True

    wait(driver, timeout).until(clicked)


def wait(driver: WebDriver, timeout: float = 30) -> WebDriverWait[WebDriver]:
    # a page that redraws can replace an element between finding and reading it: look again
    return WebDriverWait(driver, timeout, poll_frequency=0.1,
                         ignored_exceptions=(StaleElementReferenceException,))


def wait_live(driver: WebDriver, timeout: float = 60) -> None:
    """Wait for the job page to say it follows the job live. A server just started imports
    crewAI for its first job meanwhile, which slows its answers on a loaded machine; a page
    that never got there says what it shows instead."""
    try:
        wait(driver, timeout).until(ec.text_to_be_present_in_element((By.ID, "live-state"), "Live"))
    except TimeoutException:
        shown = driver.find_elements(By.TAG_NAME, "main")
        raise AssertionError(f"the page never said Live; it shows {driver.current_url}: "
                             f"{shown[0].text[:600] if shown else None!r}") from None


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


def sign_in(driver: WebDriver, url: str) -> None:
    """The key in the tab, as a signed-in person has it. It is put there once the page has
    its first answer: set before, it raced the page's first request, whose 401 (answered late
    by a busy server) takes a stored key away and asks for one."""
    driver.get(f"{url}/ui/")
    wait(driver, 60).until(lambda drv: drv.execute_script(
        "return document.getElementById('login').open"
        " || !!document.querySelector('#jobs-table, main [role=alert]')"))
    driver.execute_script("sessionStorage.setItem('novelcrew-key', arguments[0])", KEY)


def open_page(driver: WebDriver, url: str, route: str) -> None:
    """A page of the web UI (``/jobs``, ``/new``...), signed in."""
    sign_in(driver, url)
    driver.get(f"{url}/ui/#{route}")
    driver.refresh()  # the page starts again, with the key (and no sign-in dialog open)


def open_job(driver: WebDriver, url: str, job_id: str) -> None:
    """The job's page, signed in."""
    open_page(driver, url, f"/jobs/{job_id}")


def wait_download(folder: Path, suffix: str, timeout: float = 20) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [p for p in folder.iterdir() if p.name.endswith(suffix)]
        if found:
            return found[0]
        time.sleep(0.1)
    raise AssertionError(f"no {suffix} download in {sorted(p.name for p in folder.iterdir())}")
