"""The web dashboard in a real headless Chromium against a real ``novelcrew serve``.

A person's path: open /ui, give the key, submit the example story for architect+director,
watch progress move without a reload, read the result views and the project graph, download
every export and check what is in it, look at plugins and health; the browser console stays
free of errors throughout. Screenshots of the main views go to ``NOVELCREW_UI_SCREENSHOTS``
(docs/screenshots when run by ``make screenshots``) or the test's temporary folder.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import httpx
import pytest
from screenplain.parsers import fountain as fountain_parser
from screenplain.types import Dialog, Slug
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from ui_browser import (
    KEY,
    ROOT,
    STORY,
    click,
    console_errors,
    open_job,
    open_page,
    serve,
    silent_model,
    succeeded,
    wait,
    wait_download,
)


def test_a_person_runs_a_story_and_reads_the_plan(server: str, browser: WebDriver,
                                                  downloads: Path, shots_dir: Path) -> None:
    d = browser
    d.get(f"{server}/ui/")
    # the page itself is public; the API asks for the key once, kept in the tab
    wait(d).until(ec.visibility_of_element_located((By.ID, "login-key")))
    d.find_element(By.ID, "login-key").send_keys("wrong-key")
    d.find_element(By.CSS_SELECTOR, "#login-form button").click()
    wait(d).until(ec.text_to_be_present_in_element((By.ID, "login-error"), "not accepted"))
    d.find_element(By.ID, "login-key").send_keys(KEY)
    d.find_element(By.CSS_SELECTOR, "#login-form button").click()
    wait(d).until(ec.text_to_be_present_in_element((By.ID, "jobs-table"), "job(s)"))
    assert d.execute_script("return sessionStorage.getItem('novelcrew-key')") == KEY

    # submit the example story through the form
    d.get(f"{server}/ui/#/new")
    wait(d).until(ec.presence_of_element_located((By.ID, "story")))
    wait(d).until(ec.presence_of_element_located((By.CSS_SELECTOR, "input[value=director]")))
    d.execute_script("document.getElementById('story').value = arguments[0]",
                     STORY.read_text())
    d.find_element(By.ID, "project").send_keys("ui-1")
    d.save_screenshot(str(shots_dir / "new-job.png"))
    d.execute_script("window.__sameDocument = true")  # gone if the page reloads
    d.find_element(By.ID, "submit").click()

    # live progress from the event stream, without a reload
    wait(d).until(ec.presence_of_element_located((By.ID, "events")))
    wait(d, 60).until(lambda drv: drv.find_elements(By.CSS_SELECTOR, "#events .ev-task_finished")
                       or drv.find_elements(By.CSS_SELECTOR, "#events .ev-succeeded"))
    wait(d, 120).until(ec.presence_of_element_located((By.CSS_SELECTOR, "#events .ev-succeeded")))
    assert d.execute_script("return window.__sameDocument") is True
    # the end of the stream redraws the head, then renders the results with their export
    # bar: read the progress after that, or the element read may be the replaced one
    wait(d).until(ec.presence_of_element_located((By.ID, "exports")))
    progress = d.find_element(By.ID, "progress-text").text
    done, total = progress.split()[0].split("/")
    assert int(done) == int(total) > 0
    wait(d).until(ec.presence_of_element_located((By.ID, "analysis")))
    assert d.find_element(By.ID, "offline-banner").is_displayed()  # offline says so
    assert len(d.find_elements(By.CSS_SELECTOR, "#analysis .character")) >= 2
    d.save_screenshot(str(shots_dir / "job-analysis.png"))
    job_id = d.current_url.rsplit("/", 1)[1]

    views = {"scenes": "#scenes .scene", "stripboard": "#stripboard tr.strip",
             "shots": "#shots table"}
    for name, selector in views.items():
        d.find_element(By.CSS_SELECTOR, f"button[data-view={name}]").click()
        wait(d).until(ec.presence_of_element_located((By.CSS_SELECTOR, selector)))
        d.save_screenshot(str(shots_dir / f"job-{name}.png"))
        if name == "stripboard":  # the computed schedule: days, strips, day-out-of-days
            # each day heads its strips with its pages, camera hours (and company moves)
            days = [e.text for e in d.find_elements(By.CSS_SELECTOR, "#stripboard tr.dayrow")]
            assert days and all(re.fullmatch(r"Shooting day \d+ · [\d /]+ pages · \d+\.\d h"
                                             r"( · \d+ company moves?)?", t) for t in days), days
            assert d.find_elements(By.CSS_SELECTOR, "#dood tbody tr")
            # a strip gives its pages and hours, and its cast by number and name, as a
            # call sheet does: never a character id
            cells = [[td.text for td in tr.find_elements(By.TAG_NAME, "td")]
                     for tr in d.find_elements(By.CSS_SELECTOR, "#stripboard tr.strip")]
            assert all(re.fullmatch(r"(\d+ )?\d/8|\d+", c[2]) and re.fullmatch(r"\d+\.\d", c[3])
                       for c in cells), cells
            cast = " ".join(c[4] for c in cells)
            assert "1 Rosa Amati" in cast and "rosa-amati" not in cast, cast
        if name == "shots":
            subjects = d.find_element(By.ID, "shots").text
            assert "Rosa Amati" in subjects and "rosa-amati" not in subjects
            # what each shot is for: two MS of the same pair are the two over-the-shoulders
            head = [th.text for th in d.find_elements(By.CSS_SELECTOR, "#shots table th")]
            assert "Coverage" in head
            rows = [[td.text for td in tr.find_elements(By.TAG_NAME, "td")]
                    for tr in d.find_elements(By.CSS_SELECTOR, "#shots table tbody tr")]
            coverage = {r[head.index("Coverage")] for r in rows}
            assert {"master", "single"} <= coverage, coverage
    d.find_element(By.CSS_SELECTOR, "button[data-view=scenes]").click()
    assert len(d.find_elements(By.CSS_SELECTOR, "#scenes .scene")) >= 3
    scenes = d.find_element(By.ID, "scenes").text
    assert "Rosa Amati" in scenes and "rosa-amati" not in scenes
    assert re.search(r"\d/8 pg · story day \d", scenes), scenes[:500]
    # lines as a script has them: "Rosa Amati: “...”", no prose comma before a tag
    said = [e.text for e in d.find_elements(By.CSS_SELECTOR, "#scenes .scene li")]
    assert said and all(re.fullmatch(r"(.+: )?\u201c.*[^,]\u201d", line) for line in said), said
    # what finished while it ran gives way to the result once it has ended
    assert not d.find_elements(By.ID, "partial-count")

    # every export downloads and holds what it says
    for fmt in ("fountain", "shots.csv", "breakdown.csv", "stripboard.csv", "report.html"):
        click(d, f"button[data-export='{fmt}']")  # (the bar fills in once formats are known)
        path = wait_download(downloads, fmt if "." in fmt else f".{fmt}")
        body = path.read_text(encoding="utf-8")
        if fmt == "fountain":
            play = fountain_parser.parse(io.StringIO(body))
            assert sum(isinstance(p, Slug) for p in play.paragraphs) >= 3
            assert "offline stand-in" in body
            assert any(isinstance(p, Dialog) for p in play.paragraphs) or '"' not in body
        elif fmt.endswith(".csv"):
            header = next(csv.reader(io.StringIO(body)))
            expected = {"shots.csv": {"scene", "shot", "size", "lens_mm", "subjects"},
                        "breakdown.csv": {"scene", "cast", "props", "vehicles", "pages"},
                        "stripboard.csv": {"day", "scene", "heading", "cast"}}[fmt]
            assert expected <= set(header), header
            assert len(body.splitlines()) > 1
        else:
            assert "<html" in body and "Production report" in body
    # and the same file comes from the API with the key
    api = httpx.get(f"{server}/jobs/{job_id}/export/shots.csv", headers={"X-API-Key": KEY})
    assert api.status_code == 200 and api.text.startswith("scene,")

    # the jobs list shows it
    d.get(f"{server}/ui/#/jobs")
    wait(d).until(ec.presence_of_element_located((By.CSS_SELECTOR, f"tr[data-job='{job_id}']")))
    d.save_screenshot(str(shots_dir / "jobs.png"))

    # the project's knowledge graph, filter and click for details
    d.get(f"{server}/ui/#/graph/ui-1")
    wait(d).until(ec.presence_of_element_located((By.CSS_SELECTOR, "#graph svg .node")))
    nodes = d.find_elements(By.CSS_SELECTOR, "#graph svg .node")
    assert len(nodes) >= 3
    types = {n.get_attribute("data-type") for n in nodes}
    graph = d.find_element(By.CSS_SELECTOR, "#graph svg")
    height = graph.size["height"]
    nodes[0].find_element(By.TAG_NAME, "circle").click()
    wait(d).until(ec.presence_of_element_located((By.CSS_SELECTOR, "#graph-details h2")))
    # a long scene's details once stretched the drawing below the fold, its nodes with it
    assert graph.size["height"] == height
    assert all(n.location["y"] < d.execute_script("return window.innerHeight") for n in
               d.find_elements(By.CSS_SELECTOR, "#graph svg .node circle"))
    d.save_screenshot(str(shots_dir / "graph.png"))
    if len(types) > 1:
        hidden = sorted(types)[0]
        d.find_element(By.CSS_SELECTOR, f"#graph-filters input[data-type='{hidden}']").click()
        remaining = {n.get_attribute("data-type")
                     for n in d.find_elements(By.CSS_SELECTOR, "#graph svg .node")}
        assert hidden not in remaining

    # plugins and health
    d.get(f"{server}/ui/#/system")
    wait(d).until(ec.presence_of_element_located((By.CSS_SELECTOR, "tr[data-plugin]")))
    page = d.find_element(By.TAG_NAME, "main").text
    for name in ("architect", "director", "pathrag"):
        assert name in page
    # the export formats, each with its plugin (novelcrew-exports registers the story ones)
    assert "Exports" in page and "stripboard.csv" in page and "report.html" in page
    d.save_screenshot(str(shots_dir / "system.png"))

    assert console_errors(d) == []


def test_the_storyboard_reads_as_the_media_step_takes_it(server: str, browser: WebDriver,
                                                         shots_dir: Path) -> None:
    """Whether it may go to media generation, the words every prompt repeats for each person
    and place, the style, then per scene each shot with who is in frame and its prompts."""
    d = browser
    story = (ROOT / "examples" / "stories" / "the-lantern-fair-at-oxley-marsh.txt").read_text()
    job = httpx.post(f"{server}/jobs", headers={"X-API-Key": KEY}, json={
        "crews": ["architect", "director", "storyboard"], "project_id": "ui-board",
        "inputs": {"story_text": story}}).json()
    board = succeeded(server, job["id"], 120)["result"]["storyboard"]
    open_job(d, server, job["id"])
    wait(d, 30).until(ec.element_to_be_clickable(
        (By.CSS_SELECTOR, "button[data-view=storyboard]"))).click()
    wait(d).until(ec.presence_of_element_located((By.CSS_SELECTOR, "#storyboard .sb-shot")))
    d.save_screenshot(str(shots_dir / "job-storyboard.png"))
    page = d.find_element(By.ID, "storyboard").text
    # a finished job stays finished once its event log has been read back
    wait(d).until(lambda drv: len(drv.find_elements(By.CSS_SELECTOR, "#events > div"))
                   == httpx.get(f"{server}/jobs/{job['id']}", headers={"X-API-Key": KEY})
                   .json()["events_count"])
    assert d.find_element(By.CSS_SELECTOR, "h1 .badge").text == "succeeded"
    assert not d.find_elements(By.ID, "cancel") and not d.find_elements(By.ID, "partial-count")
    # the offline stand-in's board says it must not go to media generation
    assert "not ready for media generation" in d.find_element(By.ID, "storyboard-flag").text
    # people and places by the words every prompt repeats; a trait's inner fields never show
    for c in board["bible"]["characters"]:
        assert c["phrase"] in page
    assert "stated:" not in page and "evidence:" not in page and "value:" not in page
    assert "Style guide" in page and board["bible"]["style"]["film_look"] in page
    # each scene's heading over its shots; a two-shot names who is in frame; prompts in full
    scenes = d.find_elements(By.CSS_SELECTOR, "#storyboard .sb-scene")
    assert [s.find_element(By.TAG_NAME, "h3").text.split(" · ")[0] for s in scenes] == [
        f"Scene {s['number']}. {s['heading']}" for s in board["scenes"]]
    shot = board["scenes"][0]["shots"][2]
    shown = d.find_element(By.CSS_SELECTOR, f"#storyboard .sb-shot[data-shot='{shot['id']}']")
    names = {c["id"]: c["name"] for c in board["bible"]["characters"]}
    assert f"in frame: {', '.join(names[s] for s in shot['subjects'])}" in shown.text
    assert shot["image_prompt"] in shown.text and f"motion: {shot['motion_prompt']}" in shown.text
    # an insert of a prop keeps people out of its frame, so its negative prompt is its own:
    # each shot then shows its negative prompt, and no line claims one for every shot
    negatives = {x["negative_prompt"] for s in board["scenes"] for x in s["shots"]}
    inserts = [x for s in board["scenes"] for x in s["shots"] if not x["subjects"]]
    assert inserts and len(negatives) == 2 and "Negative prompt of every shot" not in page
    for x in (shot, inserts[0]):
        assert f"negative: {x['negative_prompt']}" in d.find_element(
            By.CSS_SELECTOR, f"#storyboard .sb-shot[data-shot='{x['id']}']").text
    # each warning with its kind, and on exactly the shots it concerns what to check first
    details = board["warning_details"]
    assert details and [d["message"] for d in details] == board["warnings"]
    listed = d.find_elements(By.CSS_SELECTOR, "#storyboard-warnings li")
    assert [li.get_attribute("data-kind") for li in listed] == [x["kind"] for x in details]
    assert listed[0].text == f"someone named is not in frame: {details[0]['message']}"
    warned = {i for x in details for i in x["shot_ids"]}
    for x in (x for s in board["scenes"] for x in s["shots"]):
        shown = d.find_element(By.CSS_SELECTOR, f"#storyboard .sb-shot[data-shot='{x['id']}']")
        if x["id"] in warned:
            assert shown.get_attribute("data-warnings") == " ".join(x["warning_kinds"])
            assert "Check before generating: someone named is not in frame" in shown.text
            assert all(w["message"] in shown.text for w in details if x["id"] in w["shot_ids"])
        else:
            assert "Check before generating" not in shown.text, x["id"]
    assert console_errors(d) == []


def test_the_plan_s_warnings_show_their_kinds_and_the_scenes_to_check(
        server: str, browser: WebDriver) -> None:
    """A first AD reading the plan in the browser sees each of its warnings led by its kind,
    and on each scene it concerns what to check: here a production that can use one place
    and has one shooting day: the other places' scenes say so, the bakery's does not."""
    d = browser
    job = httpx.post(f"{server}/jobs", headers={"X-API-Key": KEY}, json={
        "crews": ["architect", "director"], "project_id": "ui-plan-warnings",
        "inputs": {"story_text": STORY.read_text(), "constraints": {
            "shooting_days": 1, "locations_available": ["the bakery"]}}}).json()
    plan = succeeded(server, job["id"], 120)["result"]["director"]
    details = plan["warning_details"]
    assert [x["message"] for x in details] == plan["warnings"]
    kinds = [x["kind"] for x in details]
    assert "schedule_over_days" in kinds and "location_unavailable" in kinds
    flagged = {s["number"]: s["warning_kinds"] for s in plan["scenes"] if s["warning_kinds"]}
    assert set(flagged) == {x["scene"] for x in details if x["scene"]} == {2, 3, 4, 5}
    open_job(d, server, job["id"])
    for view, card in (("scenes", "#scenes .scene"), ("shots", "#shots .card")):
        wait(d, 30).until(ec.element_to_be_clickable(
            (By.CSS_SELECTOR, f"button[data-view={view}]"))).click()
        wait(d).until(ec.presence_of_element_located((By.CSS_SELECTOR, card)))
        listed = d.find_elements(By.CSS_SELECTOR, "#plan-warnings li")
        assert [li.get_attribute("data-kind") for li in listed] == kinds
        days = kinds.index("schedule_over_days")
        assert listed[days].text == f"more shooting days than available: {plan['warnings'][days]}"
        for shown in d.find_elements(By.CSS_SELECTOR, card):
            number = int((shown.get_attribute("data-scene") or shown.get_attribute("id")
                          ).rsplit("-", 1)[-1])
            if number in flagged:
                assert shown.get_attribute("data-warnings") == " ".join(flagged[number])
                assert "Check: location not available" in shown.text
            else:
                assert shown.get_attribute("data-warnings") is None
                assert "Check:" not in shown.text
    assert console_errors(d) == []


def test_cancel_from_the_jobs_list(browser: WebDriver, tmp_path: Path) -> None:
    d = browser
    # a job on a model that never answers runs until it is cancelled, however fast the machine
    with silent_model() as model, serve(tmp_path, crash=True, NOVELCREW_MODEL="openai/silent",
                                        **model.env) as url:
        job = httpx.post(f"{url}/jobs", headers={"X-API-Key": KEY}, json={
            "crews": ["architect", "director"],
            "inputs": {"story_text": STORY.read_text()}}).json()
        open_page(d, url, "/jobs")
        # the list refreshes while the job runs: the button is looked for again if replaced
        click(d, f"tr[data-job='{job['id']}'] button.cancel")
        record = f"{url}/jobs/{job['id']}"
        wait(d).until(lambda drv: httpx.get(record, headers={"X-API-Key": KEY}).json()[
            "cancel_requested"])
        # a cancelled job stops when its model call returns: uncancelled, it would go on
        # and fail on the refused calls, never end as cancelled
        model.hang_up()
        wait(d, 60).until(lambda drv: httpx.get(record, headers={"X-API-Key": KEY}).json()[
            "status"] == "cancelled")
        # and the list says so, the button gone
        wait(d).until(ec.text_to_be_present_in_element(
            (By.CSS_SELECTOR, f"tr[data-job='{job['id']}'] .badge"), "cancelled"))
        assert d.find_elements(By.CSS_SELECTOR, f"tr[data-job='{job['id']}'] button.cancel") == []
        assert console_errors(d) == []
        d.get("about:blank")  # before its server goes


def test_without_an_exports_plugin_the_page_says_none_is_installed(
        tmp_path: Path, browser: WebDriver) -> None:
    d = browser
    with serve(tmp_path, NOVELCREW_PLUGINS="architect,pathrag") as url:
        submitted = httpx.post(f"{url}/jobs", headers={"X-API-Key": KEY}, json={
            "crews": ["architect"], "inputs": {"story_text": STORY.read_text()}})
        assert submitted.status_code == 202, submitted.text
        job = submitted.json()
        # the job done first, so the page draws its results once (no redraw at the stream's end)
        succeeded(url, job["id"], 60)
        open_job(d, url, job["id"])
        try:
            wait(d, 60).until(ec.text_to_be_present_in_element(
                (By.ID, "exports"), "No export formats are installed"))
        except TimeoutException:
            shown = d.find_elements(By.ID, "exports")
            pytest.fail(f"#exports says {shown[0].text if shown else None!r}; the page says "
                        f"{d.find_element(By.TAG_NAME, 'main').text[:500]!r}")
        assert d.find_elements(By.CSS_SELECTOR, "button[data-export]") == []
        d.get(f"{url}/ui/#/system")
        d.refresh()
        wait(d).until(ec.text_to_be_present_in_element(
            (By.ID, "no-exports"), "No export formats are installed"))
        assert console_errors(d) == []
