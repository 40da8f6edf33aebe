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
