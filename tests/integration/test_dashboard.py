"""The dashboard in a real headless Chromium against the real service: job list, details, input summary, cost plot.

The browser is the distribution's Chromium (installed by scripts/ensure_chromium.sh, run by `make test`), driven by
Playwright's Python package. Without a browser the browser test skips and says why; with CI=true that is a failure,
as for Azurite. The REST checks of the dashboard's endpoints run everywhere.
"""
from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path

import pytest

from contracts.problems import encode_json, problem_document
from contracts.status import JobStatus
from tests.conftest import IN_CI
from tests.integration.rest import Rest, long_problem, seed_problem
from tests.service import Service, serving

ROOT = Path(__file__).resolve().parents[2]
# screenshots the browser tests keep (git-ignored): look at them after a run
ARTIFACTS = Path(os.environ.get("OPENQIO_TEST_ARTIFACTS") or ROOT / "test-artifacts")
SA = "microsoft.simulatedannealing.cpu"
PT = "microsoft.paralleltempering.cpu"
TERMINAL = {"Succeeded", "Failed", "Cancelled"}
TOKEN = "dashboard-test-token-0123456789"
OTHER_TOKEN = "other-workspace-token-0123456789"

# a PUBO with known counts: 7 variables, 9 terms, highest degree 3
PUBO_TERMS = [(1, [0, 1]), (-2, [1, 2]), (3, [2, 3, 4]), (-1, [4]), (2, [5, 6]), (-3, [0, 6]), (1, [3]), (-1, [1, 5]),
              (0.5, [0, 2, 6])]


def chromium_path() -> str | None:
    for candidate in (os.environ.get("OPENQIO_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser",
                      shutil.which("chromium"), shutil.which("google-chrome")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def browser_or_skip() -> str:
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        reason = "the Python package playwright is not installed (pip install -e '.[test]')"
    else:
        path = chromium_path()
        if path:
            return path
        reason = "no Chromium at /usr/bin/chromium: run scripts/ensure_chromium.sh as root (apt-get install chromium)"
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: the dashboard browser test must run)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def service(azurite, tmp_path_factory):
    """Our own service: a list page of 2 jobs, so the dashboard must follow nextLink to show them all; a second
    workspace with its own token, which must not see the first one's jobs."""
    svc = Service(data_dir=Path(tmp_path_factory.mktemp("dashboard")), blob_url=azurite.blob_url, runners=2,
                  extra_env={"OPENQIO_LIST_PAGE_SIZE": "2",
                             "OPENQIO_TOKENS": f"openqio={TOKEN},other={OTHER_TOKEN}"})
    yield from serving(svc)


@pytest.fixture(scope="module")
async def jobs(service):
    """A finished SA job, a finished PUBO PT job, a job with broken input (Failed), and a long SA job, Executing with
    at least two progress events when the tests start. The long job is cancelled at the end."""
    async with Rest(service) as rest:
        seed = await rest.submit(seed_problem(), SA, {"sweeps": 50, "seed": 3})
        pubo = await rest.submit(problem_document("pubo", PUBO_TERMS, name="pubo-7"), PT,
                                 {"sweeps": 20, "replicas": 4, "all_betas": [0.5, 1, 2, 4], "seed": 1})
        broken_uri = await rest.upload("broken-input", b"this is not a problem", gzip=False)
        status, body = await rest.request("PUT", "jobs/broken-input",
                                          json=rest.job_body("broken-input", broken_uri, SA, {"sweeps": 5}))
        assert status == 200, body
        long_doc = long_problem(2000, seed=7)
        long = await rest.submit(long_doc, SA, {"sweeps": 10**8, "seed": 1})
        for job_id in (seed, pubo, "broken-input"):
            await rest.wait(job_id)
        await wait_for_progress(rest, long, count=2)
        yield {"seed": seed, "pubo": pubo, "broken": "broken-input", "long": long, "long_doc": long_doc}
        await rest.request("DELETE", f"jobs/{long}")
        await rest.wait(long)


async def wait_for_progress(rest: Rest, job_id: str, count: int, timeout: float = 120.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        status, body = await rest.request("GET", f"jobs/{job_id}/events")
        assert status == 200, body
        if sum(e["kind"] == "progress" for e in body["value"]) >= count:
            return
        assert asyncio.get_running_loop().time() < deadline, f"fewer than {count} progress events after {timeout} s"
        await asyncio.sleep(0.5)


async def _eq(awaitable, expected) -> bool:
    return await awaitable == expected


async def _ne(awaitable, unexpected) -> bool:
    return await awaitable != unexpected


def counts(doc: dict) -> tuple[int, int]:
    terms = doc["cost_function"]["terms"]
    return len({i for t in terms for i in t["ids"]}), len(terms)


# ---- REST: the dashboard's own endpoints ----------------------------------------------------------------------------

async def test_page_is_public_and_locked_down(service):
    async with Rest(service, token="") as rest:
        for path, kind in (("dashboard", "text/html"), ("dashboard/app.js", "text/javascript"),
                           ("dashboard/style.css", "text/css")):
            async with rest.session.get(f"{rest.base}/{path}") as resp:
                assert resp.status == 200, path
                assert resp.headers["Content-Type"].startswith(kind)
                csp = resp.headers["Content-Security-Policy"]
                assert "script-src 'self'" in csp and "connect-src 'self'" in csp and "default-src 'none'" in csp
                assert service.token not in await resp.text()
        status, body = await rest.request("GET", f"{rest.base}/dashboard/workspace")
        assert status == 401 and body["error"]["code"] == "Unauthorized"
        status, body = await rest.request("GET", f"{rest.base}/dashboard/../v1.0/x")
        assert status in (401, 404)
        status, _ = await rest.request("GET", f"{rest.base}/dashboard/secret.txt")
        assert status == 401  # anything not a known asset is an ordinary, authenticated route (here: none)


async def test_workspace_endpoint_gives_the_rest_prefix(service):
    async with Rest(service) as rest:
        status, body = await rest.request("GET", f"{rest.base}/dashboard/workspace")
        assert status == 200, body
        assert body["workspace"] == service.workspace and rest.prefix.endswith(body["prefix"])


async def test_load_endpoint_says_what_admission_sees(service):
    async with Rest(service) as rest:
        status, body = await rest.request("GET", f"{rest.base}/dashboard/load")
        assert status == 200, body
        assert body["admitting"] is True and body["refusedSinceStart"] == 0, body
        assert body["limits"] == {"maxWaiting": 10000, "maxQueueDelaySeconds": None}, body  # the defaults
        assert body["runners"]["total"] == 2 and 0 <= body["runners"]["busy"] <= 2, body


async def test_summary_counts_the_input(service, jobs):
    async with Rest(service) as rest:
        status, body = await rest.request("GET", f"jobs/{jobs['pubo']}/summary")
        assert status == 200, body
        assert body["available"] is True
        assert (body["problemType"], body["variables"], body["terms"], body["maxDegree"], body["groupedTerms"]) == (
            "pubo", 7, len(PUBO_TERMS), 3, 0)
        assert body["inputBytes"] > 0 and body["name"] == "pubo-7"
        variables, terms = counts(jobs["long_doc"])
        status, body = await rest.request("GET", f"jobs/{jobs['long']}/summary")
        assert (body["problemType"], body["variables"], body["terms"], body["maxDegree"]) == ("ising", variables, terms, 2)
        status, body = await rest.request("GET", f"jobs/{jobs['broken']}/summary")
        assert status == 200 and body["available"] is False and "could not be decoded" in body["reason"]
        status, body = await rest.request("GET", "jobs/no-such-job/summary")
        assert status == 404 and body["error"]["code"] == "JobNotFound"
    async with Rest(service, token="") as anonymous:
        status, body = await anonymous.request("GET", f"jobs/{jobs['pubo']}/summary")
        assert status == 401


async def test_summary_and_workspace_stay_in_the_tokens_workspace(service, jobs):
    async with Rest(service, token=OTHER_TOKEN) as other:
        status, body = await other.request("GET", f"{other.base}/dashboard/workspace")
        assert status == 200 and body["workspace"] == "other"
        # A's path with B's token: 404 (not 403), and A's job id under B's own workspace: not found either
        status, body = await other.request("GET", f"jobs/{jobs['pubo']}/summary")
        assert status == 404 and body["error"]["code"] == "NotFound"
        own_prefix = other.prefix.rsplit("/", 1)[0] + "/other"
        status, body = await other.request("GET", f"{own_prefix}/jobs/{jobs['pubo']}/summary")
        assert status == 404 and body["error"]["code"] == "JobNotFound"


# ---- the page in a real browser --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
async def browser():
    executable = browser_or_skip()
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=executable,
                                           args=["--headless", "--no-sandbox", "--disable-gpu"])
        yield browser
        await browser.close()


async def open_dashboard(browser, service, block_stream: bool = False, fragment: str = "", downloads: bool = False):
    # The service's certificate is signed by its own local CA, which this throwaway browser profile does not know.
    # 1400 × 900: the width at which the job table once clipped its "Created" column.
    context = await browser.new_context(ignore_https_errors=True, viewport={"width": 1400, "height": 900},
                                        accept_downloads=downloads)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # every console error and every failed request counts, except the stream this test itself refuses
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error"
            and not msg.text.startswith("Failed to load resource") else None)  # (the response itself is below)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400
            and not (block_stream and "/stream?" in r.url) else None)
    if block_stream:  # a gateway without the SSE endpoint: the page must fall back to polling /events
        await page.route("**/stream?*", lambda route: route.fulfill(status=404, content_type="application/json",
                                                                     body='{"error": {"code": "NotFound", "message": "x"}}'))
    await page.goto(f"{service.base_url}dashboard#token={service.token}{fragment}")
    return context, page, errors


async def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"dashboard-{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


async def inside(page, selector: str, container: str) -> bool:
    """Whether every element matching `selector` is drawn within `container`'s box (nothing clipped or scrolled)."""
    outer = await page.locator(container).bounding_box()
    for box in [await el.bounding_box() for el in await page.locator(selector).all()]:
        if box is None or box["x"] < outer["x"] - 0.5 or box["x"] + box["width"] > outer["x"] + outer["width"] + 0.5:
            return False
    return True


async def until(check, what: str, timeout: float = 30.0):
    """Poll `check()` (async, from Python) until it returns a truthy value. The page's CSP forbids eval, so
    Playwright's wait_for_function (which evaluates a string in the page) cannot be used: that is on purpose, the
    test runs the page under the same policy users get."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await check()
        if value:
            return value
        assert asyncio.get_running_loop().time() < deadline, f"timed out after {timeout} s waiting for {what}"
        await asyncio.sleep(0.2)


def text_is(page, selector: str, expected: str):
    async def check():
        return await page.text_content(selector) == expected
    return check


def refreshed(page, check):
    """`check` after a click on Refresh: a click while the list is still being refreshed is ignored by the page (one
    refresh at a time), so `until` clicks again at every poll, on a busy machine too."""
    async def after_click():
        await page.click("#refresh")
        return await check()
    return after_click


def text_has(page, selector: str, fragment: str):
    async def check():
        return fragment in (await page.text_content(selector) or "")
    return check


def points_over(page, n: int):
    async def check():
        return int(await page.get_attribute("#cost-plot", "data-points") or 0) > n
    return check


async def all_job_ids(service) -> list[str]:
    ids: list[str] = []
    async with Rest(service) as rest:
        link = "jobs"
        while link:
            status, body = await rest.request("GET", link)
            assert status == 200, body
            ids += [job["id"] for job in body["value"]]
            link = body["nextLink"]
    return ids


async def row_status(page, job_id: str) -> str | None:
    return await page.get_attribute(f'#jobs tbody tr[data-job-id="{job_id}"]', "data-status")


async def test_dashboard_lists_jobs_and_shows_a_running_job(browser, service, jobs):
    context, page, errors = await open_dashboard(browser, service)
    try:
        await page.wait_for_selector(f'#jobs tbody tr[data-job-id="{jobs["long"]}"]', timeout=20_000)
        assert "token=" not in page.url  # the fragment is dropped from the address bar at once
        # every job, across the list pages, with its status
        count = len(await all_job_ids(service))
        assert count >= 4
        await until(lambda: _eq(page.locator("#jobs tbody tr").count(), count), "all rows", 10)
        assert await row_status(page, jobs["seed"]) == "Succeeded"
        assert await row_status(page, jobs["pubo"]) == "Succeeded"
        assert await row_status(page, jobs["broken"]) == "Failed"
        assert await row_status(page, jobs["long"]) == "Executing"
        # compact cells (the whole value in the tooltip), so the table fits its panel at 1400 px
        target_cell = f'#jobs tr[data-job-id="{jobs["seed"]}"] td.col-target'
        assert (await page.text_content(target_cell), await page.get_attribute(target_cell, "title")) == ("sa", SA)
        id_cell = f'#jobs tr[data-job-id="{jobs["seed"]}"] td.col-id'
        assert (await page.text_content(id_cell), await page.get_attribute(id_cell, "title")) == (jobs["seed"][:8],
                                                                                                   jobs["seed"])
        assert await inside(page, "#jobs th", "#jobs-panel") and await inside(page, "#jobs td.col-created", "#jobs-panel")
        # above the list, the service's load (GET /dashboard/load): admitting, the long job's runner busy, the limit
        await until(text_has(page, "#service-load", "runner(s) busy"), "the service's load", 10)
        load = await page.text_content("#service-load") or ""
        assert load.startswith("Service: admitting new jobs · 0 waiting") and "limit: 10000 waiting" in load, load
        assert "0 refused since the service started" in load, load

        # a job submitted while the page is open appears by itself (auto-refresh reads on from the last page)
        async with Rest(service) as rest:
            late = await rest.submit(seed_problem(), SA, {"sweeps": 10, "seed": 2})
            await rest.wait(late)
        await until(lambda: _eq(row_status(page, late), "Succeeded"), "the new job in the list", 20)
        assert await page.locator("#jobs tbody tr").count() == len(await all_job_ids(service))
        first_row = await page.get_attribute("#jobs tbody tr:first-child", "data-job-id")
        assert first_row == late  # newest first

        # a finished job: details, input summary, final cost
        await page.click(f'#jobs tbody tr[data-job-id="{jobs["pubo"]}"]')
        await until(text_is(page, "#summary-variables", "7"), "the PUBO summary")
        assert await page.text_content("#detail-id") == jobs["pubo"]
        assert await page.text_content("#detail-status") == "Succeeded"
        assert await page.text_content("#detail-target") == PT
        assert await page.text_content("#summary-type") == "pubo"
        assert await page.text_content("#summary-terms") == str(len(PUBO_TERMS))
        assert await page.text_content("#summary-degree") == "3"
        await until(lambda: _ne(page.text_content("#detail-cost"), "—"), "the final cost")

        # the failed job shows its error
        await page.click(f'#jobs tbody tr[data-job-id="{jobs["broken"]}"]')
        await until(text_is(page, "#detail-status", "Failed"), "the failed job's details")
        assert "InvalidInputData" in await page.text_content("#detail-error")
        await until(text_has(page, "#summary-note", "not summarised"), "the summary note")

        # the running job: summary and a live plot with at least two points
        await page.click(f'#jobs tbody tr[data-job-id="{jobs["long"]}"]')
        variables, terms = counts(jobs["long_doc"])
        await until(text_is(page, "#summary-variables", f"{variables:,}"), "the long job's summary")
        assert await page.text_content("#summary-terms") == f"{terms:,}"
        assert await page.text_content("#summary-type") == "ising"
        assert await page.text_content("#detail-status") == "Executing"
        await until(points_over(page, 1), "two plot points")
        assert await page.locator("#cost-plot circle.pt").count() >= 2
        before = int(await page.get_attribute("#cost-plot", "data-points"))
        # live: more progress arrives without reloading or clicking
        await until(points_over(page, before), "a live plot point")
        # readable axes: round ticks on both axes, drawn at least 12 px high, titled
        ticks = page.locator("#cost-plot text.tick")
        assert await ticks.count() >= 5
        heights = [(await t.bounding_box())["height"] for t in await ticks.all()]
        assert min(heights) >= 12, heights
        assert "best cost" in await page.text_content("#cost-plot") and "e-" not in await page.text_content("#cost-plot")
        assert await page.is_visible("#cancel-job")  # a running job can be cancelled from here
        async with Rest(service) as rest:  # with the gateway's SSE endpoint, the page follows the stream
            async with rest.session.get(f"{rest.prefix}/jobs/{jobs['long']}/stream", headers=rest.headers()) as resp:
                has_stream = resp.status == 200 and resp.content_type == "text/event-stream"
        assert ("event stream" if has_stream else "polling") in await page.text_content("#live-note")
        await screenshot(page, "running-job")
        assert errors == [], errors
    finally:
        await context.close()


async def answer_load(page, body: dict, status: int = 200) -> None:
    """The page's next GET /dashboard/load (and every one after) answered with `body` in the browser."""
    await page.unroute("**/dashboard/load")
    await page.route("**/dashboard/load", lambda route: route.fulfill(status=status, content_type="application/json",
                                                                     body=json.dumps(body)))


async def test_the_load_line_says_when_new_jobs_are_refused(browser, service, jobs):
    """The refusing state as the page words it (this service never refuses: its answer is replaced in the browser
    with one of the kind a limited service gives, tests/integration/test_backpressure.py)."""
    refusing = {"waiting": 12, "beingSubmitted": 3, "promised": 2, "pacePerSecond": 140.5, "paceMeasured": True,
                "queueingDelaySeconds": 0.62, "admitting": False, "refusedSinceStart": 1234,
                "limits": {"maxWaiting": None, "maxQueueDelaySeconds": 0.5}, "runners": {"total": 2, "busy": 2}}
    context, page, errors = await open_dashboard(browser, service)
    try:
        await until(text_has(page, "#service-load", "admitting new jobs"), "the service's load", 20)
        await answer_load(page, refusing)
        await until(refreshed(page, text_has(page, "#service-load", "at capacity")), "the refusing state", 30)
        assert await page.text_content("#service-load") == (
            "Service: at capacity: new jobs refused (429, Retry-After) · 12 waiting · 3 being submitted · 2 place(s) "
            "promised to refused clients · 2 of 2 runner(s) busy · pace 140.5 jobs a second while jobs wait · about "
            "0.6 s of queueing · limit: 0.5 s of queueing · 1234 refused since the service started")
        estimated = {**refusing, "paceMeasured": False}  # the runners not the bottleneck lately: an estimate
        await answer_load(page, estimated)
        await until(refreshed(page, text_has(page, "#service-load", "pace about 140.5 jobs a second (estimated")),
                    "the estimate", 30)
        full = {**refusing, "diskFullSeconds": 42,  # the job database's disk is full: submissions get 507
                "blobDiskFull": {"seconds": 9, "resultsWaiting": 2}}  # and blob storage's: results wait for space
        await answer_load(page, full)
        await until(refreshed(page, text_has(page, "#service-load", "disk has been full")), "the full disk", 30)
        assert (await page.text_content("#service-load")).startswith(
            "Service: the job database's disk has been full for 42 s: new jobs refused (507) · blob storage's disk "
            "has been full for 9 s: 2 finished job(s) wait to store their results · 12 waiting")
        low = {**refusing, "disks": [  # a disk running low (services/disks.py) is named; one with room is not
            {"holds": ["the job database"], "freeBytes": 30 << 30, "totalBytes": 40 << 30, "low": False},
            {"holds": ["blob storage"], "freeBytes": 5 << 20, "totalBytes": 48 << 20, "low": True}]}
        await answer_load(page, low)
        await until(refreshed(page, text_has(page, "#service-load", "running low")), "the low disk", 30)
        assert (await page.text_content("#service-load")).startswith(
            "Service: at capacity: new jobs refused (429, Retry-After) · the disk holding blob storage is running low: "
            "5.0 MiB free of 48.0 MiB · 12 waiting")
        assert "job database" not in await page.text_content("#service-load")
        # a workspace the service's OPENQIO_LOAD_VIEWERS leaves out gets 403: no line at all, no error on the page
        forbidden = {"error": {"code": "Forbidden", "message": "this workspace may not read the service's load"}}
        await answer_load(page, forbidden, status=403)
        await until(refreshed(page, lambda: page.is_hidden("#service-load")), "the load line hidden", 30)
        assert await page.text_content("#service-load") == ""
        assert all(e.startswith("403 ") and e.endswith("/dashboard/load") for e in errors), errors  # only its answer
    finally:
        await context.close()


async def test_dashboard_works_with_polling_alone(browser, service, jobs):
    async with Rest(service) as rest:  # a newer job, so the long one is not on the last list page
        await rest.wait(await rest.submit(seed_problem(), SA, {"sweeps": 10}))
    context, page, errors = await open_dashboard(browser, service, block_stream=True)
    try:
        await page.wait_for_selector(f'#jobs tbody tr[data-job-id="{jobs["long"]}"]', timeout=20_000)
        await page.click(f'#jobs tbody tr[data-job-id="{jobs["long"]}"]')
        await until(points_over(page, 1), "two plot points")
        await until(text_has(page, "#live-note", "polling"), "the polling fallback", 10)
        before = int(await page.get_attribute("#cost-plot", "data-points"))
        await until(points_over(page, before), "a polled plot point")
        # look at another job, then cancel the long one from outside: the list learns it although the long job is
        # neither selected nor on the list page the refresh reads (that page now holds the newer jobs)
        await page.click(f'#jobs tbody tr[data-job-id="{jobs["seed"]}"]')
        await until(text_is(page, "#detail-id", jobs["seed"]), "the seed job's details")
        async with Rest(service) as rest:
            status, _ = await rest.request("DELETE", f"jobs/{jobs['long']}")
            assert status == 204
        await until(lambda: _eq(row_status(page, jobs["long"]), "Cancelled"), "the cancelled status in the list")
        # and after the run, its details and its plot from the stored events
        await page.click(f'#jobs tbody tr[data-job-id="{jobs["long"]}"]')
        await until(text_is(page, "#detail-status", "Cancelled"), "the cancelled status")
        await until(points_over(page, 1), "the plot after the run")
        assert await page.locator("#cost-plot circle.pt").count() >= 2
        assert errors == [], errors
    finally:
        await context.close()


async def test_a_linked_finished_job_shows_its_result(browser, service, jobs):
    """`#job=<id>` opens that job; a finished job shows its best cost, configuration and a download of its
    rawOutputData; a run of a few milliseconds gets a sentence instead of a lone dot."""
    async with Rest(service) as rest:
        status, body = await rest.request("GET", f"jobs/{jobs['seed']}/events")
        assert status == 200, body
        finished = next(e["data"] for e in body["value"] if e["kind"] == "succeeded")
    context, page, errors = await open_dashboard(browser, service, fragment=f"&job={jobs['seed']}", downloads=True)
    try:
        await until(text_is(page, "#detail-id", jobs["seed"]), "the linked job")
        assert page.url.endswith(f"#job={jobs['seed']}") and "token" not in page.url  # a link to share, no token
        await until(text_is(page, "#result-cost", "-17"), "the result")
        assert await page.text_content("#result-configuration") == "0=+1 1=+1 2=-1"
        assert await page.text_content("#result-variables") == "3"
        assert json.loads(await page.text_content("#result-parameters"))["sweeps"] == 50
        assert await page.is_hidden("#cancel-job")  # nothing to cancel on a finished job
        async with page.expect_download() as info:
            await page.click("#result-download")
        download = await info.value
        assert download.suggested_filename == f"{jobs['seed']}-rawOutputData.json"
        document = json.loads(Path(await download.path()).read_text())
        assert document["cost"] == -17.0 and document["configuration"] == {"0": 1, "1": 1, "2": -1}
        if float(finished.get("elapsed_s") or 0) < 0.05:  # 50 sweeps of 3 spins: milliseconds
            await until(text_has(page, "#cost-plot", "too short to plot"), "the short-run note")
            assert await page.get_attribute("#cost-plot", "data-plotted") == "false"
            assert await page.locator("#cost-plot circle").count() == 0
        await screenshot(page, "finished-job")
        # the address follows the selection, and a link typed into the same tab opens its job
        await page.click(f'#jobs tbody tr[data-job-id="{jobs["pubo"]}"]')
        await until(text_is(page, "#detail-id", jobs["pubo"]), "the PUBO job")
        assert page.url.endswith(f"#job={jobs['pubo']}")
        await page.goto(f"{service.base_url}dashboard#job={jobs['broken']}")
        await until(text_is(page, "#detail-status", "Failed"), "the job of the changed link")
        assert await page.is_hidden("#result")  # a failed job has no result
        assert errors == [], errors
    finally:
        await context.close()


async def test_a_1qbit_jobs_result_shows_its_best_solution(browser, service):
    """1QBit's format (microsoft.qio-results.v1) has no root cost and text values: the page shows its best solution,
    its echoed parameters, and the target's short name."""
    async with Rest(service) as rest:
        job_id = "catalog-pticm"
        uri = await rest.upload(job_id, encode_json(seed_problem()))
        body = rest.job_body(job_id, uri, "1qbit.pticm", inputParams={"seed": "2"}, providerId="1qbit",
                             outputDataFormat="microsoft.qio-results.v1")
        status, answer = await rest.request("PUT", f"jobs/{job_id}", json=body)
        assert status == 200, answer
        assert (await rest.wait(job_id))["status"] == "Succeeded"
    context, page, errors = await open_dashboard(browser, service, fragment=f"&job={job_id}")
    try:
        await until(text_is(page, "#result-cost", "-17"), "the 1QBit result")
        assert await page.text_content("#result-configuration") == "0=+1 1=+1 2=-1"
        assert json.loads(await page.text_content("#result-parameters"))["solver_name"] == "PTICM"
        assert await page.text_content(f'#jobs tbody tr[data-job-id="{job_id}"]') and "pticm" in \
            await page.text_content(f'#jobs tbody tr[data-job-id="{job_id}"]')
        assert errors == [], errors
    finally:
        await context.close()


async def test_a_running_job_is_cancelled_from_the_page(browser, service):
    async with Rest(service) as rest:
        job_id = await rest.submit(long_problem(1500, seed=3), SA, {"sweeps": 10**8, "seed": 2})
        await rest.wait_status(job_id, JobStatus.EXECUTING)
    context, page, errors = await open_dashboard(browser, service, fragment=f"&job={job_id}")
    try:
        await until(text_is(page, "#detail-status", "Executing"), "the running job")
        page.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
        await page.click("#cancel-job")
        await until(text_is(page, "#detail-status", "Cancelled"), "the cancelled job", 60)
        assert await page.is_hidden("#cancel-job")
        await until(lambda: _eq(row_status(page, job_id), "Cancelled"), "the cancelled status in the list")
        async with Rest(service) as rest:
            assert (await rest.get(job_id))["status"] == "Cancelled"
        assert errors == [], errors
    finally:
        await context.close()


async def test_a_bad_token_asks_for_another(browser, service):
    context = await browser.new_context(ignore_https_errors=True)
    try:
        page = await context.new_page()
        await page.goto(f"{service.base_url}dashboard#token=not-the-right-token-at-all")
        await page.wait_for_selector("#token-panel:not([hidden])")
        assert "401" in await page.text_content("#token-error")
        await page.fill("#token-input", service.token)
        await page.click("#token-form button[type=submit]")
        await page.wait_for_selector("#main:not([hidden])")
        assert service.workspace in await page.text_content("#workspace-name")
        await page.reload()  # the tab remembers the token (sessionStorage) ...
        await page.wait_for_selector("#main:not([hidden])")
        await page.click("#sign-out")  # ... until it is told to forget it
        await page.wait_for_selector("#token-panel:not([hidden])")
        await page.reload()
        await page.wait_for_selector("#token-panel:not([hidden])")
        assert await page.is_hidden("#main")
    finally:
        await context.close()
