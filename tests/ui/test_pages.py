"""The dashboard as a writer and a first AD meet it, in a real headless Chromium: every page at
phone width without sideways scrolling, the offline stand-in named wherever its work shows,
failures and a server that went away said in words, and the basics of keyboard and labels.
"""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from ui_browser import (
    KEY,
    STORY,
    console_errors,
    open_page,
    serve,
    sign_in,
    silent_model,
    succeeded,
    wait,
    wait_live,
)

PHONE = (390, 844)
DESKTOP = (1366, 900)


@pytest.fixture(scope="module")
def done(server: str) -> dict[str, Any]:
    """A story run through all three crews (project ``pages``), ended."""
    job = httpx.post(f"{server}/jobs", headers={"X-API-Key": KEY}, json={
        "crews": ["architect", "director", "storyboard"], "project_id": "pages",
        "inputs": {"story_text": STORY.read_text()}}).json()
    return succeeded(server, job["id"], 180)


@pytest.fixture
def phone(browser: WebDriver) -> Iterator[WebDriver]:
    browser.set_window_size(*PHONE)
    yield browser
    browser.set_window_size(*DESKTOP)


def _sideways(d: WebDriver) -> int:
    """How far the page itself scrolls sideways (a wide table may scroll inside its box)."""
    return int(d.execute_script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth"))


def test_every_page_fits_a_phone(server: str, phone: WebDriver, done: dict[str, Any]) -> None:
    d = phone
    pages = {"/jobs": "#jobs-table table", "/new": "#story", "/system": "#health",
             "/graph/pages": "#graph svg .node", f"/jobs/{done['id']}": "#view"}
    for route, ready in pages.items():
        open_page(d, server, route)
        wait(d).until(ec.presence_of_element_located((By.CSS_SELECTOR, ready)))
        assert _sideways(d) <= 0, f"{route} scrolls sideways at {PHONE[0]} px"
    for view in ("analysis", "scenes", "stripboard", "shots", "storyboard"):
        d.find_element(By.CSS_SELECTOR, f"button[data-view={view}]").click()
        wait(d).until(ec.presence_of_element_located((By.ID, view)))
        assert _sideways(d) <= 0, f"the {view} view scrolls sideways at {PHONE[0]} px"
    # the graph gets the width, its details go under it
    open_page(d, server, "/graph/pages")
    svg = wait(d).until(ec.presence_of_element_located((By.CSS_SELECTOR, "#graph svg")))
    assert svg.size["width"] >= PHONE[0] - 60
    assert "null" not in d.find_element(By.TAG_NAME, "main").text.split()
    # the printed report too, read on a phone
    report = httpx.get(f"{server}/jobs/{done['id']}/export/report.html",
                       headers={"X-API-Key": KEY})
    assert report.status_code == 200
    d.get("data:text/html;base64," + base64.b64encode(report.content).decode())
    assert _sideways(d) <= 0, "the HTML report scrolls sideways on a phone"
    assert console_errors(d) == []


def test_the_offline_stand_in_is_named_wherever_its_work_shows(
        server: str, browser: WebDriver, done: dict[str, Any], tmp_path: Path) -> None:
    d = browser
    # before a story is sent: the server's model is the stand-in
    open_page(d, server, "/new")
    notice = wait(d).until(ec.visibility_of_element_located((By.ID, "offline-notice")))
    assert "offline stand-in" in notice.text
    # while a job runs, before any result: its first calls went to the stand-in. Its director
    # asks a model that never answers, so the job is still running whenever the page looks,
    # however fast the machine (an offline chain could end before the page had opened)
    with silent_model() as model, serve(tmp_path, crash=True, **model.env,
                                        NOVELCREW_CREW_MODELS="director=openai/silent") as url:
        running = httpx.post(f"{url}/jobs", headers={"X-API-Key": KEY}, json={
            "crews": ["architect", "director"],
            "inputs": {"story_text": STORY.read_text() * 12}}).json()
        open_page(d, url, f"/jobs/{running['id']}")
        # (the head is redrawn as events arrive: find the banner anew each time)
        wait(d, 60).until(ec.text_to_be_present_in_element((By.ID, "offline-banner"),
                                                           "offline stand-in"))
        assert d.find_elements(By.CSS_SELECTOR, "#results #view") == []  # no result yet
        wait_live(d)
        # the crew at work among the chain's, not only a task count
        wait(d, 60).until(ec.text_to_be_present_in_element((By.ID, "progress-text"), "of 2)"))
        # what has finished, counted of how many ("architect: 2 of 5 chunks")
        wait(d, 120).until(ec.text_to_be_present_in_element((By.ID, "partial-tally"), " of "))
        assert d.find_element(By.ID, "event-log").get_attribute("open") is not None
        assert httpx.get(f"{url}/jobs/{running['id']}",
                         headers={"X-API-Key": KEY}).json()["status"] == "running"
        d.get("about:blank")  # before its server goes
    # the ended job, above its results
    open_page(d, server, f"/jobs/{done['id']}")
    wait(d).until(ec.presence_of_element_located((By.ID, "analysis")))
    wait(d).until(ec.visibility_of_element_located((By.ID, "offline-banner")))
    # an ended job's results come first; its event log is folded away under them
    assert d.find_element(By.ID, "event-log").get_attribute("open") is None
    # the graph it wrote, which carries no model of its own
    open_page(d, server, "/graph/pages")
    flag = wait(d).until(ec.visibility_of_element_located((By.ID, "graph-offline")))
    assert "offline stand-in" in flag.text and done["id"][:12] in flag.text
    assert console_errors(d) == []


def test_a_failed_job_and_an_empty_story_are_said_in_words(server: str,
                                                          browser: WebDriver) -> None:
    d = browser
    # the form will not send an empty story, and says why
    before = httpx.get(f"{server}/jobs", headers={"X-API-Key": KEY}).json()["count"]
    open_page(d, server, "/new")
    wait(d).until(ec.presence_of_element_located((By.CSS_SELECTOR, "input[value=architect]")))
    d.find_element(By.ID, "story").send_keys("   \n  ")
    d.find_element(By.ID, "submit").click()
    message = wait(d).until(ec.text_to_be_present_in_element((By.ID, "submit-message"), "empty"))
    assert message and d.find_element(By.ID, "submit-message").get_attribute("role") == "alert"
    assert httpx.get(f"{server}/jobs", headers={"X-API-Key": KEY}).json()["count"] == before
    # a crew this form cannot feed (eval-judge needs scenes) is shown, not offered
    judge = d.find_element(By.CSS_SELECTOR, "input[value=eval-judge]")
    assert not judge.is_enabled()
    assert "Needs scenes" in judge.find_element(By.XPATH, "..").text
    # a job that failed says so on top: the API refuses an empty story at submission now, so
    # a project whose story only Payload could give (and Payload is not configured here)
    job = httpx.post(f"{server}/jobs", headers={"X-API-Key": KEY}, json={
        "crews": ["architect"], "project_id": "no-story", "inputs": {}}).json()
    deadline = time.monotonic() + 60
    while httpx.get(f"{server}/jobs/{job['id']}", headers={"X-API-Key": KEY}).json()[
            "status"] != "failed":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    open_page(d, server, f"/jobs/{job['id']}")
    # the page as it stays: the head drawn, the job's history read into the event log
    wait(d).until(ec.presence_of_element_located((By.CSS_SELECTOR, "#events .ev-failed")))
    error = wait(d).until(ec.visibility_of_element_located((By.ID, "job-error")))
    assert error.text.startswith("This job failed: payload_read_story: Payload is not "
                                 "configured"), error.text
    assert error.get_attribute("role") == "alert"
    # a job with no usage yet drew the word "null" where its usage table would be
    assert "null" not in d.find_element(By.TAG_NAME, "main").text.split()
    assert console_errors(d) == []


def test_a_story_over_the_servers_limit_is_refused_on_the_form(tmp_path: Path,
                                                                browser: WebDriver) -> None:
    d = browser
    with serve(tmp_path, NOVELCREW_MAX_STORY_CHARS="2000") as url:
        open_page(d, url, "/new")
        wait(d).until(ec.presence_of_element_located((By.CSS_SELECTOR, "input[value=architect]")))
        d.execute_script("const s = document.getElementById('story'); s.value = arguments[0];"
                         "s.dispatchEvent(new Event('input'))", STORY.read_text())
        # how long it is, said as it is pasted
        assert re.search(r"8.38\d characters", d.find_element(By.ID, "story-count").text)
        d.find_element(By.ID, "submit").click()
        wait(d).until(ec.text_to_be_present_in_element((By.ID, "submit-message"), "too long"))
        message = d.find_element(By.ID, "submit-message").text
        assert "the limit is 2000" in message, message
        assert d.current_url.endswith("#/new")  # the story is still there to cut
        assert d.find_element(By.ID, "story").get_attribute("value") == STORY.read_text()
        assert httpx.get(f"{url}/jobs", headers={"X-API-Key": KEY}).json()["count"] == 0
    # the refusal is the browser's to log (a 413), and it is this test's: no other error
    assert [e for e in console_errors(d) if "status of 413" not in e["message"]] == []


def test_a_server_that_went_away_is_said_in_words(tmp_path: Path, browser: WebDriver) -> None:
    d = browser
    # a model server that takes the call and never answers: the job runs until the server is
    # killed, however fast the machine (an offline job could end before the page opened)
    with silent_model() as model, serve(tmp_path, crash=True, NOVELCREW_MODEL="openai/silent",
                                        **model.env) as url:
        job = httpx.post(f"{url}/jobs", headers={"X-API-Key": KEY}, json={
            "crews": ["architect"], "inputs": {"story_text": STORY.read_text()}}).json()
        open_page(d, url, f"/jobs/{job['id']}")
        wait_live(d)
        assert httpx.get(f"{url}/jobs/{job['id']}",
                         headers={"X-API-Key": KEY}).json()["status"] in ("queued", "running")
    # the stream broke: the page says its job may be out of date, not that it is live
    wait(d).until(ec.text_to_be_present_in_element((By.ID, "live-state"), "Lost the connection"))
    d.execute_script("location.hash = '#/jobs'")
    shown = wait(d).until(ec.visibility_of_element_located((By.CSS_SELECTOR, "main [role=alert]")))
    assert "The server did not answer" in shown.text, shown.text
    # the refused connections are the browser's to log; no script error among them
    assert all(e.get("source") == "network" for e in console_errors(d))


def test_keyboard_and_screen_reader_basics(server: str, browser: WebDriver,
                                           done: dict[str, Any]) -> None:
    d = browser
    # every field has a name a screen reader reads out
    for route, ready in (("/new", "input[value=architect]"), ("/jobs", "#jobs-table table"),
                         ("/graph/pages", "#graph svg .node")):
        open_page(d, server, route)
        wait(d).until(ec.presence_of_element_located((By.CSS_SELECTOR, ready)))
        unnamed = d.execute_script("""
            return [...document.querySelectorAll('main input, main textarea, main select')]
              .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
              .map((el) => el.id || el.name || el.type);""")
        assert unnamed == [], route
    open_page(d, server, "/new")
    wait(d).until(ec.presence_of_element_located((By.CSS_SELECTOR, "input[value=architect]")))
    assert d.find_element(By.CSS_SELECTOR, "nav a[aria-current=page]").text == "New job"
    # a job opens from the list with the keyboard: its row holds a link, and the list's
    # refresh keeps the focus on it when a row changes (here a new job's)
    open_page(d, server, "/jobs")
    link = f"tr[data-job='{done['id']}'] a.job-link"
    wait(d).until(ec.presence_of_element_located((By.CSS_SELECTOR, link)))
    d.execute_script("document.querySelector(arguments[0]).focus()", link)
    other = httpx.post(f"{server}/jobs", headers={"X-API-Key": KEY}, json={
        "crews": ["architect"], "project_id": "keyboard",
        "inputs": {"story_text": STORY.read_text()[:1500]}}).json()
    succeeded(server, other["id"], 120)
    wait(d).until(ec.text_to_be_present_in_element(
        (By.CSS_SELECTOR, f"tr[data-job='{other['id']}'] .badge"), "succeeded"))
    assert d.execute_script("return document.activeElement.matches(arguments[0])", link)
    d.switch_to.active_element.send_keys(Keys.ENTER)
    wait(d).until(ec.presence_of_element_located((By.ID, "analysis")))
    wait(d).until(ec.presence_of_element_located((By.CSS_SELECTOR, "#events > div")))
    # the job is known by its story's title, on the page and in the tab
    title = done["result"]["architect"]["title"]
    assert d.find_element(By.TAG_NAME, "h1").text.startswith(title)
    assert d.title.startswith(f"{title} (succeeded)")
    assert d.find_element(By.CSS_SELECTOR, "#results [role=tab][aria-selected=true]").text \
        == "Analysis"
    assert d.find_element(By.CSS_SELECTOR, "#progress-text").find_element(
        By.XPATH, "preceding-sibling::*[@role='progressbar']").get_attribute("aria-valuenow") \
        == "100"
    # "Go to scene": a long story's scene is one choice away
    d.find_element(By.CSS_SELECTOR, "button[data-view=scenes]").click()
    pick = wait(d).until(ec.presence_of_element_located((By.CSS_SELECTOR, "#scenes select")))
    third = pick.find_elements(By.TAG_NAME, "option")[3]  # [0] says how many there are
    number = third.get_attribute("value")
    third.click()
    wait(d).until(lambda drv: drv.switch_to.active_element.get_attribute("id")
                  == f"scene-{number}")
    top = d.execute_script(f"return document.getElementById('scene-{number}')"
                           ".getBoundingClientRect().top")
    assert 0 <= top < 80  # under the "Go to scene" bar, which stays in sight
    # a graph node is a button: Tab to it, Enter shows its details
    open_page(d, server, "/graph/pages")
    node = wait(d).until(ec.presence_of_element_located(
        (By.CSS_SELECTOR, "#graph svg .node[data-type=character]")))
    assert node.get_attribute("tabindex") == "0" and node.get_attribute("aria-label")
    node.send_keys(Keys.ENTER)
    wait(d).until(ec.text_to_be_present_in_element((By.CSS_SELECTOR, "#graph-details h2"),
                                                   node.get_attribute("data-name")))
    # and the graph as text, every entity of it, for a reader the drawing does not reach
    graph = httpx.get(f"{server}/projects/pages/graph", headers={"X-API-Key": KEY}).json()
    listed = d.find_element(By.ID, "graph-list")
    listed.find_element(By.TAG_NAME, "summary").click()
    rows = listed.find_elements(By.CSS_SELECTOR, "tbody tr")
    assert len(rows) == len(graph["entities"]) > 0
    assert {r.find_element(By.TAG_NAME, "td").text for r in rows} == {
        e["name"] for e in graph["entities"]}
    assert console_errors(d) == []


def test_usage_grows_on_the_job_page_while_the_job_runs(browser: WebDriver,
                                                       tmp_path: Path) -> None:
    """The usage table follows the job's model calls as they happen, not only at its end."""
    d = browser
    # the server's one place is held by a job on a model that never answers, so the page is
    # watching the job before its first call, however fast the machine runs it
    with silent_model() as model, serve(tmp_path, crash=True, NOVELCREW_CONCURRENCY="1",
                                        **model.env) as url:
        holder = httpx.post(f"{url}/jobs", headers={"X-API-Key": KEY}, json={
            "crews": ["architect"], "config": {"model": "openai/silent"},
            "inputs": {"story_text": STORY.read_text()}})
        assert holder.status_code == 202, holder.text
        job = httpx.post(f"{url}/jobs", headers={"X-API-Key": KEY}, json={
            "crews": ["architect", "director"], "project_id": "usage-live",
            "inputs": {"story_text": STORY.read_text() * 12}}).json()
        open_page(d, url, f"/jobs/{job['id']}")
        wait_live(d)
        assert httpx.get(f"{url}/jobs/{job['id']}",
                         headers={"X-API-Key": KEY}).json()["status"] == "queued"
        httpx.post(f"{url}/jobs/{holder.json()['id']}/cancel", headers={"X-API-Key": KEY})
        model.hang_up()  # the cancelled holder's call returns, and its place is free
        # the offline model's calls and the job's state, read from the page in one go
        seen = """const cell = document.querySelector('#usage tbody tr td:nth-child(2)');
                  const state = document.querySelector('main h1 .badge');
                  return [cell ? Number(cell.textContent) : 0, state ? state.textContent : ''];"""
        first = wait(d, 60).until(lambda drv: (lambda r: r if r[0] > 0 else None)(
            drv.execute_script(seen)))
        assert first[1] == "running", first  # usage shows while the job runs
        later = wait(d, 60).until(lambda drv: (lambda r: r if r[0] > first[0] else None)(
            drv.execute_script(seen)))
        assert later[1] == "running", later  # and grows before the job ends
        ended = succeeded(url, job["id"], 300)
        # once ended, the table is the job's record
        wait(d, 30).until(lambda drv: drv.execute_script(seen)[1] == "succeeded")
        assert d.execute_script(seen)[0] == ended["usage"]["offline"]["calls"]
        assert console_errors(d) == []
        d.get("about:blank")  # before its server goes


def _a_big_graph(data: Path, project: str, scenes: int) -> None:
    """A graph of one character in ``scenes`` scenes, written where the server's graph plugin
    reads it (its embedded store under the data dir), as the architect would write it."""
    import asyncio

    from novelcrew.context import ToolContext
    from novelcrew.plugins import load
    from novelcrew.settings import Settings

    kg = {"chunks": [{"content": f"Scene {n}: Mara at the harbour.", "source_id": f"s{n}"}
                     for n in range(1, scenes + 1)],
          "entities": [{"entity_name": "Mara", "entity_type": "character",
                        "description": "The pilot.", "source_id": "s1"}]
          + [{"entity_name": f"Scene {n}", "entity_type": "scene", "description": f"Scene {n}.",
              "source_id": f"s{n}"} for n in range(1, scenes + 1)],
          "relationships": [{"src_id": "Mara", "tgt_id": f"Scene {n}", "description": "in",
                             "keywords": "appears_in", "weight": 1.0, "source_id": f"s{n}"}
                            for n in range(1, scenes + 1)]}
    ctx = ToolContext(settings=Settings(data_dir=data, _env_file=None), project_id=project)
    tool = load(["pathrag"]).registry.tool("kg_insert_custom_kg").factory(ctx)
    asyncio.run(tool.acall(custom_kg=kg))


def test_a_graph_cut_to_its_most_linked_entities_says_so_and_shows_more(
        tmp_path: Path, browser: WebDriver) -> None:
    """A graph over the graph plugin's cap (pathrag: 300 entities) is never shown as the
    whole: the page says how much of it is drawn, and asks for more on request."""
    d = browser
    with serve(tmp_path) as url:
        _a_big_graph(tmp_path, "big", 500)
        open_page(d, url, "/graph/big")
        count = wait(d).until(ec.visibility_of_element_located((By.ID, "graph-count")))
        assert count.text.startswith(
            "300 of 501 entities (the most linked), 299 of 500 relationships"), count.text
        # a graph no job of this server wrote has no stand-in notice, and no "null" for it
        assert "null" not in d.find_element(By.TAG_NAME, "main").text.split()
        wanted = d.find_element(By.ID, "graph-max")
        assert wanted.get_attribute("value") == "501"  # the whole graph, one click away
        d.find_element(By.CSS_SELECTOR, "#graph-more button").click()
        wait(d).until(ec.text_to_be_present_in_element((By.ID, "graph-count"),
                                                       "501 entities, 500 relationships"))
        assert "of" not in d.find_element(By.ID, "graph-count").text
        assert d.find_elements(By.ID, "graph-more") == []
        assert "max_entities=501" in d.current_url  # a reload shows the same graph
        d.find_element(By.CSS_SELECTOR, "#graph-list summary").click()
        assert len(d.find_elements(By.CSS_SELECTOR, "#graph-list tbody tr")) == 501
        # a cap over the plugin's bound: the server's reason, in words
        d.execute_script("location.hash = '#/graph/big?max_entities=99999'")
        shown = wait(d).until(ec.visibility_of_element_located(
            (By.CSS_SELECTOR, "main [role=alert]")))
        assert "max_entities" in shown.text, shown.text
        assert [e for e in console_errors(d) if "status of 422" not in e["message"]] == []


def test_the_servers_address_opens_the_page(server: str, browser: WebDriver) -> None:
    """The address ``novelcrew serve`` prints is what a person types: it leads to the page."""
    d = browser
    sign_in(d, server)
    d.get(f"{server}/")  # a new page (a redirect), with the key
    wait(d).until(ec.presence_of_element_located((By.ID, "jobs-table")))
    assert d.current_url == f"{server}/ui/"
    # and without JavaScript, the page says what it needs instead of "Loading…" for ever
    page = httpx.get(f"{server}/ui/").text
    assert "<noscript>" in page and "This page needs JavaScript" in page


def test_the_storyboard_gives_each_persons_usual_outfit_then_the_days_that_differ(
        server: str, browser: WebDriver, done: dict[str, Any]) -> None:
    """The bible keys wardrobe by story day and "default"; the page read it as "day 3: coat;
    coat" (the usual outfit last, unlabelled, a day that repeats it listed)."""
    d = browser
    open_page(d, server, f"/jobs/{done['id']}")
    wait(d).until(ec.element_to_be_clickable(
        (By.CSS_SELECTOR, "button[data-view=storyboard]"))).click()
    wait(d).until(ec.presence_of_element_located((By.CSS_SELECTOR, "#storyboard table")))
    table = d.find_element(By.CSS_SELECTOR, "#storyboard table")
    cells = [[td.text for td in tr.find_elements(By.TAG_NAME, "td")]
             for tr in table.find_elements(By.CSS_SELECTOR, "tbody tr")]
    shown = {row[0]: row[2] for row in cells}  # name -> wardrobe
    for person in done["result"]["storyboard"]["bible"]["characters"]:
        wardrobe = dict(person.get("wardrobe") or {})
        usual = wardrobe.pop("default", "")
        days = [f"story day {day}: {outfit}" for day, outfit in
                sorted(wardrobe.items(), key=lambda kv: int(kv[0])) if outfit != usual]
        assert shown[person["name"]] == "; ".join(filter(None, [usual, *days]))
