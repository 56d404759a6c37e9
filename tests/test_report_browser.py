"""The workflow's HTML report in a real browser: Debian's Chromium, headless, driven by Playwright.

Snakemake's report is a JavaScript app that builds each view on click, so a figure becomes an
``<img>`` only when its result is opened. The test opens every result of every category, as
a reader would, and fails on console errors, uncaught exceptions, failed loads and images
that did not decode (``naturalWidth`` 0). Screenshots of the first page and of a figure go to
``tests/artifacts/report_browser/`` (git-ignored). Playwright uses the system browser through
``executable_path``; it downloads none.
"""

from __future__ import annotations

import base64
import io
import os
import shutil
import subprocess
import time

import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, sync_playwright

from workflow_runs import REPO

pytestmark = pytest.mark.slow

ARTIFACTS = REPO / "tests" / "artifacts" / "report_browser"

# The app renders an opened result within milliseconds; this much slack keeps a loaded CI
# machine from missing one. A figure not rendered in time is absent from the figures seen,
# which fails the test rather than passing it.
RENDER_WAIT_MS = 300

# Every <img> of the page, waited for, with its name (the report embeds figures as data URIs
# carrying `filename=`) and its decoded width: 0 for an image that failed to load or decode.
IMAGES_JS = """async () => Promise.all([...document.images].map(async (image) => {
    try { await image.decode(); } catch (error) { /* broken: naturalWidth stays 0 */ }
    const name = /filename=([^;]+);/.exec(image.src);
    return {name: name ? name[1] : image.src.slice(0, 100), width: image.naturalWidth};
}))"""

# The report's sidebar lists the categories of results after its "Results" heading.
CATEGORIES_JS = """() => {
    const items = [...document.querySelectorAll('li')];
    const heading = items.findIndex((item) => item.textContent.trim().toLowerCase() === 'results');
    return items.slice(heading + 1).map((item) => item.textContent.trim());
}"""


def system_chromium() -> str:
    """Debian's chromium; installed with apt-get when missing and we are root, else the test skips."""
    found = shutil.which("chromium")
    if found:
        return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip("the browser test needs Debian's chromium: not installed, and installing it needs root and apt-get")
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "chromium"]
    started = time.monotonic()
    result = subprocess.run(install, env=environment, capture_output=True, text=True)
    if result.returncode != 0:  # a fresh machine may have no package lists yet
        subprocess.run(["apt-get", "update"], env=environment, capture_output=True, text=True)
        result = subprocess.run(install, env=environment, capture_output=True, text=True)
    found = shutil.which("chromium")
    if result.returncode != 0 or found is None:
        pytest.fail(f"apt-get install chromium failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    print(f"installed chromium with apt-get in {time.monotonic() - started:.0f} s")
    return found


@pytest.fixture(scope="module")
def browser():
    executable = system_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable)
        yield browser
        browser.close()


def open_page(browser: Browser, url: str) -> tuple[Page, list[str]]:
    """The page at ``url`` and the list its problems are appended to while it is open."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    problems: list[str] = []
    page.on("console", lambda message: message.type == "error" and problems.append(f"console error: {message.text}"))
    page.on("pageerror", lambda error: problems.append(f"uncaught exception: {error}"))
    page.on("requestfailed", lambda request: problems.append(f"failed to load {request.url[:100]}: {request.failure}"))
    page.goto(url)
    return page, problems


def images(page: Page) -> list[dict]:
    return page.evaluate(IMAGES_JS)


def test_report_renders_every_figure_without_errors(completed_small_run, browser):
    url = completed_small_run.report.as_uri()
    figures = {path.name for path in (completed_small_run.workdir / "results" / "figures").glob("*.png")}
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    print(f"screenshots in {ARTIFACTS}")

    page, problems = open_page(browser, url)
    categories = page.evaluate(CATEGORIES_JS)
    assert categories == ["1. Alignment with the survey", "2. Value profiles", "3. Survey", "4. Tables", "5. Value shifts", "6. Attribution", "7. Hofstede dimensions", "8. Validity"]
    page.screenshot(path=ARTIFACTS / "first_page.png")

    rendered, broken = set(), set()
    for category in categories:
        page.goto(url)  # each category from the first page, as a reader comes to it
        page.get_by_text(category, exact=True).click()
        results = page.locator("tr:has(a[iconname=eye])")
        assert results.count() > 0, f"category {category!r} shows no results"
        for index in range(results.count()):
            results.nth(index).locator("a[iconname=eye]").click()
            page.wait_for_timeout(RENDER_WAIT_MS)
            for image in images(page):
                (rendered if image["width"] > 0 else broken).add(image["name"])
            if "alignment.png" in rendered and not (ARTIFACTS / "figure.png").exists():
                page.screenshot(path=ARTIFACTS / "figure.png")

    assert not problems, problems
    assert not broken, f"broken images: {sorted(broken)}"
    assert figures and figures <= rendered, f"figures never rendered: {sorted(figures - rendered)}"
    assert (ARTIFACTS / "first_page.png").stat().st_size > 0 and (ARTIFACTS / "figure.png").stat().st_size > 0


def test_broken_image_and_console_error_are_detected(browser, tmp_path):
    """The checks above can fail: a truncated PNG, a missing file and a console error are caught."""
    png = io.BytesIO()
    Image.new("RGB", (4, 3), "white").save(png, format="PNG")
    valid = png.getvalue()
    page_file = tmp_path / "broken.html"
    page_file.write_text(
        f'<img src="data:image/png;filename=valid.png;base64,{base64.b64encode(valid).decode()}">'
        f'<img src="data:image/png;filename=truncated.png;base64,{base64.b64encode(valid[:40]).decode()}">'
        '<img src="missing.png">'
        '<script>console.error("deliberate error")</script>'
    )
    page, problems = open_page(browser, page_file.as_uri())
    widths = {image["name"]: image["width"] for image in images(page)}
    assert widths["valid.png"] == 4
    assert widths["truncated.png"] == 0
    assert [width for name, width in widths.items() if name.endswith("missing.png")] == [0]
    assert any("deliberate error" in problem for problem in problems), problems
    assert any("missing.png" in problem for problem in problems), problems
