"""Real browser: start training on the live page, see the loss chart change between two screenshots, pause."""
import re
import time

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def iteration(page):
    text = page.get_by_test_id("stProgress").inner_text()
    return int(re.search(r"[Ii]teration ([\d,]+)", text).group(1).replace(",", ""))


def test_the_loss_chart_moves_while_training_and_pause_stops_it(app_url, page):
    # In through the home page and the sidebar, as a visitor would.
    page.goto(app_url)
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Live training").click()
    page.wait_for_url(app_url + "/training")
    page.get_by_role("button", name="Start").click()

    # While it trains, the curves are a canvas redrawn twice a second (pages/components/live_curves).
    curves = page.get_by_role("img", name="Loss per iteration and accuracy per epoch of the run in progress")
    expect(curves).to_be_visible()
    expect(page.get_by_test_id("stProgress")).to_contain_text("iterations/s")
    time.sleep(0.6)  # at least one redraw with data
    first, first_it = curves.screenshot(), iteration(page)
    page.wait_for_function(  # the page redraws on its own while the run goes on
        "(start) => { const m = document.querySelector('[data-testid=stProgress]').innerText"
        ".match(/Iteration ([\\d,]+)/); return m && +m[1].replace(/,/g, '') > start + 500 }", arg=first_it)
    time.sleep(0.6)  # the chart is redrawn in the same update as the progress bar; let it paint
    second = curves.screenshot()
    assert first != second

    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_test_id("stProgress")).to_contain_text("Paused at iteration")
    paused_at = iteration(page)
    expect(page.get_by_role("button", name="Resume")).to_be_enabled()
    # Paused: the interactive Plotly figures, holding the whole history so far
    expect(page.locator(".st-key-training_loss_chart .js-plotly-plot")).to_be_visible()
    expect(page.locator(".st-key-training_acc_chart .js-plotly-plot")).to_be_visible()
    time.sleep(1.0)
    assert iteration(page) == paused_at  # nothing moves while paused
    expect(page.get_by_test_id("stException")).to_have_count(0)


# --- issue 9: every state a link, the clicker's moments on one screen, a phone ----------------------------

from urllib.parse import parse_qs, urlencode, urlsplit

from conftest import running_app, wait_for_app

BOOKMARK = {"hidden_sizes": "20,20,20", "activation": "sigmoid", "weight_init": "xavier", "optimizer": "Adam",
            "lr": "0.002", "beta1": "0.8", "beta2": "0.99", "batch_size": "32", "epochs": "3",
            "weight_decay": "0.001", "train_size": "1000", "seed": "42", "dtype": "float64", "preset": "custom",
            "tab": "confusion"}
# What the sidebar shows for BOOKMARK, knob by knob (label -> the value on screen)
BOOKMARK_KNOBS = {"Preset": "Custom (your knobs)", "Data set": "MNIST sample (5,000 images)", "Hidden layers": "3", "Neurons per layer": "20",
                  "Activation": "Sigmoid", "Weight init": "Xavier", "Optimizer": "Adam", "Learning rate": "0.002",
                  "Batch size": "32", "β₁": "0.8", "β₂": "0.99", "Length": "3", "Length in": "epochs",
                  "Weight decay λ": "0.001", "Training images": "1,000", "Seed": "42", "Precision": "float64"}
# A fresh session has no run yet: the two hints saying what to do first are all the page shows in boxes
FIRST_VISIT_HINTS = ["Press Start to train with the knobs in the sidebar",
                     "Start or step a training run above, then look inside the network here"]

KNOBS = "[data-testid=stSelectbox], [data-testid=stNumberInput], [data-testid=stSlider], [data-testid=stButtonGroup]"
KNOBS_JS = """(bar) => Object.fromEntries([...bar.querySelectorAll('""" + KNOBS + """')]
  .map((w) => {
    const label = (w.querySelector('[data-testid=stWidgetLabel]')?.textContent || '').replace('bolt', '').trim();
    const kind = w.dataset.testid;
    const value = kind === 'stSlider' ? w.querySelector('[aria-valuetext]').getAttribute('aria-valuetext')
      : kind === 'stButtonGroup' ? w.querySelector('button[aria-checked=true]').innerText
      : w.querySelector('input').value;
    return [label, value.trim()];
  }))"""


def query_of(url):
    return {k: v[-1] for k, v in parse_qs(urlsplit(url).query).items()}


def test_a_bookmark_of_every_knob_comes_back_on_a_fresh_server_in_a_fresh_browser(browser):
    with running_app() as url:  # nobody has used this server: nothing in memory helps
        context = browser.new_context(viewport={"width": 1280, "height": 720})
        page = context.new_page()
        page.goto(url + "/training?" + urlencode(BOOKMARK, safe=","))
        wait_for_app(page)
        alerts = page.get_by_test_id("stAlert")
        expect(alerts.last).to_contain_text(FIRST_VISIT_HINTS[-1], timeout=60_000)  # the page is drawn to its end
        # a fresh browser loads each kind of widget's code on first use: the sidebar can come seconds later
        bar = page.get_by_test_id("stSidebar")
        expect(bar.locator(KNOBS)).to_have_count(len(BOOKMARK_KNOBS), timeout=30_000)
        expect(bar.locator("[data-testid=stSlider] [aria-valuetext]")).to_have_count(6)
        assert bar.evaluate(KNOBS_JS) == BOOKMARK_KNOBS
        # the page rewrites its URL from its knobs: a knob it lost would be missing here
        assert query_of(page.url) == BOOKMARK
        # no warning, no error: only the first-visit hints (the inspection tabs exist once a run does,
        # so on a fresh server the URL keeps tab=confusion for later)
        expect(alerts).to_have_count(len(FIRST_VISIT_HINTS))
        assert page.get_by_test_id("stAlertContentInfo").count() == len(FIRST_VISIT_HINTS)
        for box, words in zip(alerts.all(), FIRST_VISIT_HINTS):
            expect(box).to_contain_text(words)
        # a knob turned in the page is in the URL at once, before any run
        bar.get_by_test_id("stNumberInput").filter(has_text="Seed").locator("input").fill("7")
        page.keyboard.press("Enter")
        page.wait_for_function("() => new URLSearchParams(location.search).get('seed') === '7'")
        assert query_of(page.url) == {**BOOKMARK, "seed": "7"}
        # garbage in a parameter: a warning naming it, the value as text (never a link), the rest kept
        page.goto(url + "/training?lr=[click here](http://127.0.0.1:8809/phish)&batch_size=1000000")
        wait_for_app(page)
        alert = page.get_by_test_id("stAlert").filter(has_text="lr")
        expect(alert).to_contain_text("[click here](http")  # the value, as text
        assert alert.locator("a").count() == 0 and alert.locator("img").count() == 0
        expect(page.get_by_test_id("stAlert").filter(has_text="batch_size")).to_contain_text("using 1000")
        context.close()


def inside(page, locator, settle=5.0):
    """True once the element lies inside the 1280x720 screen: a rerun may still be moving the page for a moment."""
    deadline = time.monotonic() + settle
    while True:
        box = locator.bounding_box()
        if box is not None and box["y"] >= 0 and box["y"] + box["height"] <= 720 and box["x"] >= 0 and \
                box["x"] + box["width"] <= 1280:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)


MOMENT_VIEWS = [  # (figure, explanation) of each moment on the projector
    ('[data-testid="stCustomComponentV1"], .st-key-training_live_curves, .st-key-training_loss_chart',
     "The book's chapter 5 run"),
    (".st-key-training_loss_chart .js-plotly-plot", "between two mini-batches"),
    (".st-key-insp_weights_fig .js-plotly-plot", "Inside the network"),
    (".st-key-training_compare_live .js-plotly-plot", "Chapter 6"),
]


def test_the_clicker_walks_the_training_moments_each_on_one_screen(app_url, page, tmp_path):
    page.goto(app_url + "/training?present=1&moment=1")
    wait_for_app(page)
    for k, (figure, words) in enumerate(MOMENT_VIEWS, start=1):
        if k > 1:
            page.keyboard.press("PageDown")
            page.wait_for_function(f"() => location.search.includes('moment={k}')")
        expect(page.get_by_text(f"{k} of 4")).to_be_visible()
        explanation = page.get_by_test_id("stMarkdownContainer").filter(has_text=words).first
        chart = page.locator(figure).first
        expect(chart).to_be_visible(timeout=40_000)
        expect(explanation).to_be_visible()
        time.sleep(1.0)  # let the figure paint
        assert inside(page, explanation), f"moment {k}: explanation off screen"
        assert inside(page, chart), f"moment {k}: figure off screen {chart.bounding_box()}"
        page.screenshot(path=tmp_path / f"training-moment{k}.png")  # to look at when it fails
    page.keyboard.press("PageDown")  # nothing after the last moment of the chapter: it stays
    time.sleep(1.0)
    assert "moment=4" in page.url and "/training" in page.url
    page.keyboard.press("PageUp")
    page.wait_for_function("() => location.search.includes('moment=3')")
    expect(page.get_by_test_id("stException")).to_have_count(0)
    page.get_by_role("button", name="Stop").click()


def test_on_a_phone_the_page_does_not_scroll_sideways(browser, app_url, tmp_path):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(app_url + "/training?lr=0.05")
    wait_for_app(page)
    expect(page.get_by_role("button", name="Start")).to_be_visible()
    time.sleep(1.0)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    # the live canvas: on a phone each panel's legend wraps onto rows within its panel, none runs past it
    page.get_by_role("button", name="Start").click()
    canvas = page.locator(".live-curves canvas")
    expect(canvas.first).to_have_attribute("data-legend-overflow", "0", timeout=30_000)
    rows = [int(r) for r in canvas.first.get_attribute("data-legend-rows").split(",")]
    assert len(rows) == 2 and max(rows) >= 2, rows  # wrapped where a row would not fit
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=tmp_path / "training-phone.png")
    page.get_by_role("button", name="Stop").click()
    context.close()
