"""Real browser: /network in presentation mode at 1280x720, walked with PageDown alone, puts each step's figures
(its charts, images and formulas) on the one screen with nothing scrolling sideways, Back and Next below the
header and level with the headline, for the full net with N=8 and for the tiny net; on a phone no page scrolls
sideways. (The chapter's PageDown walk through the shopping graph into /network: tests/test_browser_flow.py.)"""
import re

import pytest

from conftest import wait_for_app
from test_browser_flow import FRESH, SHOTS, press

pytestmark = pytest.mark.browser

N_STEPS = 9  # backprop.network_state.N_STEPS
DRAWN = ("() => { const charts = [...document.querySelectorAll('[data-testid=\"stMain\"] [data-testid=\"stPlotlyChart\"]')];"
         " return charts.length >= 2 && charts.every(c => c.querySelector('.main-svg')); }")  # the strip and the step's
# Every figure of the step outside the folded expanders: where it is, and whether a formula is cut at its side.
SCREEN = """() => {
  const figures = [];
  for (const e of document.querySelectorAll('[data-testid="stMain"] :is([data-testid="stPlotlyChart"],'
                                            + ' [data-testid="stImage"], .katex-display)')) {
    if (e.closest('[data-testid="stExpander"]')) continue;
    const r = e.getBoundingClientRect(), box = e.closest('[data-testid="stElementContainer"]').getBoundingClientRect();
    const cut = e.classList.contains('katex-display') && (e.scrollWidth > e.clientWidth + 4 || r.right > box.right + 1);
    const key = e.closest('[class*="st-key-"]');
    figures.push({what: (key ? [...key.classList].find(c => c.startsWith('st-key-')) : e.className) + (cut ? ' (cut)' : ''),
                  top: r.top, bottom: r.bottom, left: r.left, right: r.right, cut});
  }
  const rect = s => document.querySelector(s).getBoundingClientRect();
  const header = rect('[data-testid="stHeader"]'), next = rect('.st-key-net_next button');
  const title = rect('.st-key-net_controls h3');
  return {figures, width: document.documentElement.scrollWidth, header: header.bottom, next: [next.top, next.bottom],
          title: [title.top, title.bottom]};
}"""


def walk_with_page_down(page, url, name):
    """PageDown from step 0 to the update; every step's figures on the 1280x720 screen. Returns each step's lowest figure."""
    page.goto(url)
    wait_for_app(page)
    lowest = []
    for k in range(N_STEPS + 1):
        if k:
            press(page, "PageDown", "network", k)
        page.wait_for_url(re.compile(rf"/network\?(.*&)?step={k}(&|$)"))
        page.wait_for_function(FRESH)
        page.wait_for_selector(".st-key-net_controls h3")
        page.wait_for_selector(".st-key-net_explain p")
        page.wait_for_function(DRAWN)
        screen = page.evaluate(SCREEN)
        outside = [f for f in screen["figures"] if f["cut"] or f["top"] < 0 or f["bottom"] > 721 or f["left"] < 0
                   or f["right"] > 1281]
        if outside or screen["width"] > 1280:
            page.screenshot(path=str(SHOTS / f"network-off-screen-{name}-{k}.png"))
        assert not outside, (name, k, outside)
        assert screen["width"] <= 1280, (name, k, "scrolls sideways", screen["width"])
        assert len(screen["figures"]) >= 2, (name, k, screen["figures"])  # the strip and at least one more
        assert screen["next"][0] >= screen["header"], (name, k, "Next under the header", screen)
        middle = lambda box: (box[0] + box[1]) / 2  # noqa: E731
        assert abs(middle(screen["next"]) - middle(screen["title"])) <= 4, (name, k, "headline not level", screen)
        lowest.append(round(max(f["bottom"] for f in screen["figures"])))
    assert "present=1" in page.url
    return lowest


def test_each_step_of_both_nets_is_one_projector_screen(app_url, page):
    page.set_default_timeout(60_000)  # a first visit loads Plotly's bundle and the MNIST sample
    full = walk_with_page_down(page, f"{app_url}/network?present=1&n=8&step=0", "n8")
    # the tiny net in Japanese, the longest of the three catalogues on a narrower column
    tiny = walk_with_page_down(page, f"{app_url}/network?present=1&net=tiny&lang=ja&step=0", "tiny-ja")
    print("lowest figure per step, N=8:", full, "tiny (ja):", tiny)
    assert page.get_by_test_id("stException").count() == 0


def test_a_phone_gets_no_sideways_scrolling(app_url, browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    phone = context.new_page()
    phone.set_default_timeout(60_000)
    try:
        for path in ("network?net=tiny&step=6", "network?n=3&step=8", "shopping?preset=softmax_loss&step=20"):
            phone.goto(f"{app_url}/{path}")
            phone.wait_for_selector('[data-testid="stPlotlyChart"] .main-svg')
            wait_for_app(phone)
            assert phone.evaluate("document.documentElement.scrollWidth") <= 390, path
    finally:
        context.close()
