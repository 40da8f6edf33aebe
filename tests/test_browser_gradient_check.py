"""Real browser: the gradient check page shows its verdict table and a heatmap, and a planted bug turns rows red."""
import pytest
from playwright.sync_api import expect

from conftest import wait_for_app

pytestmark = pytest.mark.browser
SLOW = 30_000  # ms: the first run of a page (and the table's code) can take a while on a busy 2-core machine


def test_check_shows_table_and_heatmap_then_catches_a_planted_bug(app_url, page):
    page.goto(app_url)  # the home page first: a fresh server learns the app's page URLs on its first run
    wait_for_app(page)
    page.goto(app_url + "/gradient_check")
    table = page.get_by_test_id("stTable")
    expect(table).to_be_visible(timeout=SLOW)
    for name in ("W1", "b1", "W2", "b2"):
        expect(table.get_by_role("row").filter(has_text=name).first).to_contain_text("excellent")
    expect(page.get_by_text("Backprop agrees on all 4 parameters")).to_be_visible()
    chart = page.get_by_test_id("stPlotlyChart").first
    expect(chart).to_be_visible(timeout=SLOW)
    expect(chart.locator(".heatmaplayer image")).to_have_count(3, timeout=SLOW)  # backprop, numerical, difference
    expect(page.get_by_test_id("stException")).to_have_count(0)

    page.get_by_test_id("stSelectbox").filter(has_text="Plant a bug").locator("input").click()
    page.get_by_role("option", name="ReLU: mask flipped").click()
    expect(page.get_by_text("The check fails on")).to_be_visible(timeout=SLOW)
    rows = {name: table.get_by_role("row").filter(has_text=name).first for name in ("W1", "b1", "W2", "b2")}
    expect(rows["W1"]).to_contain_text("wrong")
    expect(rows["b1"]).to_contain_text("wrong")
    expect(rows["W2"]).to_contain_text("excellent")
    expect(rows["b2"]).to_contain_text("excellent")
    expect(page).to_have_url(app_url + "/gradient_check?gc_bug=relu_mask_wrong_side")
    expect(page.get_by_test_id("stException")).to_have_count(0)
