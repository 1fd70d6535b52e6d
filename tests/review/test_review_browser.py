"""The review page in a real headless browser: Debian's Chromium driven by Playwright.

It must load offline from a file:// URL, show its N rows, filter by source and by
signal, and sort. ``.ci/run`` installs Chromium where it is missing, so a missing
browser fails here (with how to install it) rather than skipping.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from review_data import GONE

from hqseg.curation.review import write_review_page

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-sync"]  # fmt: skip
TOP = 30


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.is_file() or not shutil.which(str(CHROMIUM)):
        pytest.fail(f"{CHROMIUM} is missing: `apt-get install -y chromium chromium-driver` "
                    "(.ci/run does it) to run the review page's browser test")  # fmt: skip
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright is missing: install hqseg[test] (scripts/install.sh)")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def page(browser, audit, tmp_path_factory):
    """The page of the top :data:`TOP` suspects, loaded; records the requests it makes."""
    path = write_review_page(audit.csv, audit.build, tmp_path_factory.mktemp("page"), top=TOP)
    tab = browser.new_page()
    tab.requested, tab.errors = [], []
    tab.on("request", lambda r: tab.requested.append(r.url))
    tab.on("pageerror", lambda e: tab.errors.append(str(e)))
    tab.on("console", lambda m: m.type == "error" and tab.errors.append(m.text))
    tab.goto(path.as_uri())
    yield tab
    tab.close()


def _visible(tab) -> list[str]:
    return tab.locator("tr.suspect:visible").evaluate_all("rs => rs.map(r => r.dataset.id)")


def _reset(tab) -> None:
    tab.select_option("#source", "")
    tab.select_option("#signal", "")
    tab.fill("#signal-min", "0")
    tab.fill("#search", "")


def _drawn(audit) -> list[dict]:
    return [r for r in audit.rows[:TOP] if r["id"] != GONE]


def test_loads_offline_with_n_rows_and_images(page, audit):
    drawn = _drawn(audit)
    assert _visible(page) == [r["id"] for r in drawn]
    assert page.locator("#shown").text_content() == str(len(drawn))
    loaded = page.evaluate("[...document.images].every(i => i.complete && i.naturalWidth > 0)")
    assert loaded and page.locator("img").count() == 2 * len(drawn)
    assert all(u.startswith(("file:", "data:")) for u in page.requested), page.requested
    assert page.errors == []


def test_filter_by_source_then_signal(page, audit):
    drawn = _drawn(audit)
    sources = sorted({r["source"] for r in drawn})
    assert len(sources) >= 3
    try:
        for source in sources:
            page.select_option("#source", source)
            want = [r["id"] for r in drawn if r["source"] == source]
            assert _visible(page) == want
            assert page.locator("#shown").text_content() == str(len(want))
        page.select_option("#source", "")
        page.select_option("#signal", "sig_edges")
        page.fill("#signal-min", "0.6")
        want = [r["id"] for r in drawn if r["sig_edges"] >= 0.6]
        assert 0 < len(want) < len(drawn) and _visible(page) == want
        page.select_option("#source", sources[0])  # both filters at once
        assert _visible(page) == [r["id"] for r in drawn
                                  if r["sig_edges"] >= 0.6 and r["source"] == sources[0]]
        page.select_option("#source", "")
        page.fill("#search", "coarse high")  # text in the reasons
        assert _visible(page) == [r["id"] for r in drawn
                                  if r["sig_edges"] >= 0.6 and "coarse high" in r["reasons"]]
    finally:
        _reset(page)
    assert len(_visible(page)) == len(drawn)


def test_sort_by_a_signal_and_back(page, audit):
    drawn = _drawn(audit)
    order = {r["id"]: i for i, r in enumerate(drawn)}  # ties keep score order
    button = page.locator('button.sort[data-key="sig_colour"]')
    button.click()  # first click: the most suspicious first
    want = sorted(drawn, key=lambda r: (-r["sig_colour"], order[r["id"]]))
    assert _visible(page) == [r["id"] for r in want]
    assert page.locator('th[data-key="sig_colour"]').get_attribute("aria-sort") == "descending"
    button.click()
    want = sorted(drawn, key=lambda r: (r["sig_colour"], order[r["id"]]))
    assert _visible(page) == [r["id"] for r in want]
    page.locator('button.sort[data-key="biou_model"]').click()  # blanks last, low IoU first
    blank = [r["id"] for r in drawn if r["biou_model"] == ""]
    with_iou = sorted((r for r in drawn if r["biou_model"] != ""),
                      key=lambda r: (r["biou_model"], order[r["id"]]))  # fmt: skip
    assert blank and _visible(page) == [r["id"] for r in with_iou] + blank
    page.locator('button.sort[data-key="score"]').click()
    assert _visible(page) == [r["id"] for r in drawn]
    page.locator('button.sort[data-key="score"]').click()
    page.locator('button.sort[data-key="score"]').click()
    assert _visible(page) == [r["id"] for r in drawn]  # back to descending
    assert page.errors == []
