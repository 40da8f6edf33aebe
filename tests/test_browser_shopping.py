"""Real browser: the shopping graph steps on PageDown / arrows / Play, and fits a projector."""
import pytest
from playwright.sync_api import expect

from conftest import wait_for_app

pytestmark = pytest.mark.browser

DRAWING = '[data-testid="stPlotlyChart"] .main-svg'
# The numbers on the current drawing: while a rerun is under way Streamlit keeps the previous chart,
# marked stale, beside the new one (a new figure is a new element).
LABELS = ("() => [...document.querySelectorAll('[data-testid=\"stElementContainer\"]:not([data-stale=\"true\"])"
          " [data-testid=\"stPlotlyChart\"] .annotation-text')].map(t => t.textContent).join('|')")


def open_shopping(page, app_url, query):
    page.set_default_timeout(60_000)  # a first visit loads Plotly's bundle: slow on a machine shared with others
    page.goto(f"{app_url}/shopping?{query}")
    page.wait_for_selector(DRAWING)
    wait_for_app(page)
    return page.evaluate(LABELS)


def labels_when(page, step, *, has=(), lacks=()):
    """The numbers of the drawing once it shows step ``step`` completely: URL, headline and numbers.

    Waiting on content rather than on "something changed" avoids reading a drawing mid-update.
    """
    page.wait_for_url(f"**step={step}**")
    page.wait_for_function(
        f"([has, lacks]) => {{ const s = ({LABELS})(); return s.endsWith('(backward)')"
        " && has.every(n => s.includes('|' + n + '|')) && lacks.every(n => !s.includes('|' + n + '|')); }",
        arg=[list(has), list(lacks)])
    return page.evaluate(LABELS)


def test_keys_step_and_redraw_and_play_runs_on(app_url, page):
    step0 = open_shopping(page, app_url, "preset=apples_oranges&step=0")
    assert "715" not in step0 and "?" in step0
    page.keyboard.press("PageDown")
    step1 = labels_when(page, 1, has=["200"], lacks=["450"])  # apple_price, by the first forward step
    expect(page.get_by_text("Forward 1 of 4")).to_be_visible()
    page.keyboard.press("ArrowRight")
    step2 = labels_when(page, 2, has=["200", "450"])
    assert step2 != step1
    page.keyboard.press("PageUp")
    assert labels_when(page, 1, has=["200"], lacks=["450"]) == step1
    page.keyboard.press("End")
    end = labels_when(page, 8, has=["715", "650"])
    assert all(f"|{n}|" in end for n in ("715", "2.2", "110", "3.3", "165", "650"))
    page.keyboard.press("Home")
    page.wait_for_url("**step=0**")
    page.get_by_role("button", name="Play").click()
    page.wait_for_url("**step=1**", timeout=8000)  # the run_every timer: one step per 2 s by default
    expect(page.get_by_role("button", name="Pause")).to_be_visible()
    expect(page.get_by_test_id("stException")).to_have_count(0)


def test_presentation_mode_fits_a_projector(app_url, page):
    before = open_shopping(page, app_url, "preset=apples_oranges&step=6&present=1")  # the longest headline
    expect(page.get_by_text("Backward 2 of 4")).to_be_visible()
    drawing = page.locator(DRAWING).first.bounding_box()
    assert drawing["width"] > 600 and drawing["y"] + drawing["height"] <= 720  # large, and all on screen
    explained = page.locator(".st-key-shop_explain").bounding_box()  # the rule and formula beside it
    assert explained["x"] >= drawing["x"] + drawing["width"] and explained["y"] + explained["height"] <= 720
    for name in ("Back", "Next"):
        box = page.get_by_role("button", name=name).first.bounding_box()
        assert box["y"] + box["height"] <= 720
    page.keyboard.press("PageDown")  # a presenter's clicker
    assert before != labels_when(page, 7, has=["3.3", "165"])


@pytest.mark.parametrize("width, height", [(1280, 800), (390, 844)])
def test_at_a_desk_the_inputs_sit_between_graph_and_explanation_and_an_edit_redraws_the_step(
        app_url, page, width, height):
    page.set_viewport_size({"width": width, "height": height})
    labels = open_shopping(page, app_url, "preset=apples_oranges&step=8&apple=abc")
    assert "|715|" in labels
    expect(page.get_by_test_id("stAlert")).to_contain_text("apple")  # the link's bad value, named
    boxes = {key: page.locator(f".st-key-shop_{key}").bounding_box() for key in ("top", "inputs", "below")}
    drawing = page.locator(DRAWING).first.bounding_box()
    # the inputs are drawn outside the stepper's fragment, yet read where they always were
    assert boxes["top"]["y"] < drawing["y"] < drawing["y"] + drawing["height"] <= boxes["inputs"]["y"]
    assert boxes["inputs"]["y"] + boxes["inputs"]["height"] <= boxes["below"]["y"]
    assert abs(boxes["inputs"]["width"] - boxes["below"]["width"]) < 2  # one column, as before
    assert drawing["y"] + (drawing["height"] / 2 if width > 600 else 0) <= height  # on the first screen
    page.keyboard.press("PageUp")  # the stepper's own rerun: the warning has been seen, and goes
    labels_when(page, 7, has=["715"])
    expect(page.get_by_test_id("stAlert")).to_have_count(0)
    page.keyboard.press("End")
    labels_when(page, 8, has=["715"])
    box = page.get_by_role("spinbutton", name="apple (price)")
    box.fill("120")
    box.press("Enter")  # the page's full run: the step stays, its numbers are the new ones
    page.wait_for_url("**apple=120**")
    labels_when(page, 8, has=["759", "240"], lacks=["715"])  # (120 x 2 + 150 x 3) x 1.1
    page.get_by_role("button", name="Back Shortcut PageUp").click()  # (the keys are the box's while it has focus)
    labels_when(page, 7, has=["759", "240"])
    expect(page.get_by_test_id("stException")).to_have_count(0)
