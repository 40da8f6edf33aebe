"""Real browser: on the training page, draw a digit on the canvas (a components v2 element) and get an answer,
with the mouse and with a finger."""
import re

import pytest
from playwright.sync_api import expect

from conftest import wait_for_app

pytestmark = pytest.mark.browser

SEVEN = [(0.25, 0.2), (0.75, 0.2), (0.45, 0.85)]  # fractions of the canvas: a bar, then a slanted stem
ONE = [(0.5, 0.15), (0.5, 0.4), (0.5, 0.6), (0.5, 0.85)]


def draw(page, canvas, points):
    """One stroke with the mouse through `points` (fractions of the canvas's box)."""
    box = canvas.bounding_box()
    at = lambda fx, fy: (box["x"] + fx * box["width"], box["y"] + fy * box["height"])  # noqa: E731
    page.mouse.move(*at(*points[0]))
    page.mouse.down()
    for fx, fy in points[1:]:
        page.mouse.move(*at(fx, fy), steps=10)
    page.mouse.up()


def touch(page, canvas, points):
    """The same stroke with a finger: raw touch events through the DevTools protocol, which Chromium turns
    into pointer events of type "touch", as on a tablet."""
    box = canvas.bounding_box()
    at = lambda fx, fy: {"x": box["x"] + fx * box["width"], "y": box["y"] + fy * box["height"]}  # noqa: E731
    cdp = page.context.new_cdp_session(page)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [at(*points[0])]})
    for fx, fy in points[1:]:
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [at(fx, fy)]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


def test_draw_a_digit_on_the_training_page(app_url, page):
    # Home first, then the sidebar: a fresh server whose first request is a deep link runs pages/*.py as
    # Streamlit's old folder-based pages (see the report), which is not what this test is about.
    page.goto(app_url)
    wait_for_app(page)
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Live training").click()
    page.wait_for_url(app_url + "/training")
    page.get_by_role("button", name="+1 epoch").click()  # a run exists, so the section has a net to inspect
    expect(page.get_by_role("heading", name="Inspect the trained network")).to_be_visible(timeout=30_000)
    page.get_by_role("tab", name="Draw a digit").click()
    expect(page.get_by_text("Draw a digit in the box")).to_be_visible()

    canvas = page.get_by_role("img", name="Drawing area: draw one digit")  # inside the component's shadow root
    canvas.scroll_into_view_if_needed()
    draw(page, canvas, SEVEN)
    answer = page.get_by_test_id("stMetricValue")
    expect(answer).to_have_text(re.compile(r"^[0-9]$"), timeout=20_000)
    expect(page.get_by_text("What the network sees")).to_be_visible()
    expect(page.get_by_text(re.compile(r"^It is (<1|>99|\d{1,2})% sure\.$"))).to_be_visible()
    expect(page.get_by_test_id("stException")).to_have_count(0)

    page.get_by_role("button", name="Clear").click()
    expect(answer).to_have_count(0)
    expect(page.get_by_text("Draw a digit in the box")).to_be_visible()

    touch(page, canvas, ONE)
    expect(answer).to_have_text(re.compile(r"^[0-9]$"), timeout=20_000)
