"""The chrome's look: the style sheets and the one script that pages/chrome.py puts on every page.

Text only, no logic: which of them a run gets (presentation mode or not) is chrome's decision.
"""
# The moment bar (``chrome.moments``): its arrow twins hidden, its "k of n" on one line.
MOMENT_CSS = """
<style>
.st-key-chrome_moment_back_arrow, .st-key-chrome_moment_next_arrow { display: none; }  /* arrow_css */
.st-key-chrome_moment_bar { gap: 0.5rem; padding-top: 1.2rem; }
.st-key-chrome_moment_bar [data-testid="stMarkdownContainer"] p { margin: 0; white-space: nowrap; }
</style>
"""

# Presentation mode: large type for a hall, the navigation on top, the picker given its room.
PRESENTATION_CSS = """
<style>
html { font-size: 22px; }
[data-testid="stAppViewContainer"] .block-container { padding-top: 3.2rem; max-width: 100%; }
[data-testid="stMarkdownContainer"] p, [data-testid="stMarkdownContainer"] li { font-size: 1.15rem; }
h1 { font-size: 2.2rem !important; }
button[kind] p { font-size: 1.1rem; }
[data-testid="stDecoration"], footer { display: none; }
/* The navigation bar keeps its labels at body size and leaves the language picker its room at the right
   (a page that does not fit goes into the bar's own "more" menu instead of under the picker). */
[data-testid="stTopNav"] { margin-right: 14rem; }
[data-testid="stTopNav"] [data-testid="stMarkdownContainer"] p { font-size: 0.85rem; }
</style>
"""

# Presentation mode, what a lecture needs at 1280x720 and 1920x1080 (issue 9): the page uses the
# projector's width, and a step's formula beside the shopping graph shrinks to its column rather than
# being cut off (its type is capped at a share of the column's width; whatever still overflows scrolls);
# a finished run's final-accuracy headline stays on one line above its charts.
LECTURE_FIT_CSS = """
<style>
[data-testid="stAppViewContainer"] .block-container { padding-left: 2.5rem; padding-right: 2.5rem; }
.st-key-shop_explain { container-type: inline-size; }
.st-key-shop_explain .katex-display > .katex { font-size: min(1.21em, 4.7cqi); }
.st-key-shop_explain .katex-display { overflow-x: auto; overflow-y: hidden; }
[data-testid="stMain"]:has(.st-key-training_loss_chart) h3 { font-size: 1.3rem; padding: 0.1rem 0 0; }  /* a finished run's headline: one line */
</style>
"""

# The picker sits in the header's right-hand end, beside the app menu, in both modes (the sidebar
# is collapsed in presentation mode); it takes no room from the page.
PICKER_CSS = """
<style>
.st-key-chrome_lang_box { position: fixed; top: 0.45rem; right: 3.6rem; z-index: 999991; width: auto; }
.st-key-chrome_lang_box button { min-height: 1.9rem; padding: 0 0.45rem; }
.st-key-chrome_lang_box button p { font-size: 0.85rem !important; }
[data-testid="stLayoutWrapper"]:has(> .st-key-chrome_lang_box) { position: absolute; }  /* out of the flow: no gap */
</style>
"""

# Every page, on a phone (390 px) and on touch screens: nothing wider than the screen makes the page
# scroll sideways (wide tables, formulas and code scroll inside themselves, rows of widgets wrap),
# keyboard hints are hidden where there is no keyboard, and CJK words in table cells never break.
SMALL_SCREEN_CSS = """
<style>
[data-testid="stTable"] td, [data-testid="stTable"] th { word-break: keep-all; }
@media (hover: none) { button kbd { display: none !important; } }
@media (max-width: 640px) {
  [data-testid="stMain"] { overflow-x: hidden; }
  [data-testid="stTable"], [data-testid="stDataFrame"] { max-width: 100%; overflow-x: auto; }
  .katex-display, [data-testid="stLatex"], [data-testid="stMarkdownContainer"] .katex-display {
    max-width: 100%; overflow-x: auto; overflow-y: hidden; }
  [data-testid="stCode"] pre { max-width: 100%; overflow-x: auto; }
  [data-testid="stPlotlyChart"], [data-testid="stImage"], iframe { max-width: 100%; }
  [data-testid="stPlotlyChart"] { overflow-x: auto; }
  [data-testid="stHorizontalBlock"], .st-key-chrome_moment_bar { flex-wrap: wrap; }
  [data-testid="stMarkdownContainer"] { overflow-wrap: anywhere; }
}
</style>
"""

# Sets <html lang> and words Streamlit's own "Skip to main content" link (which React draws once, as a
# constant: a MutationObserver words it again if the app's frame is ever drawn anew).
DOCUMENT_LANG_JS = """<script>
(() => {
  const lang = %s, skip = %s;
  document.documentElement.lang = lang;
  window.bpSkipText = skip;
  const word = () => {
    const a = document.querySelector('[data-testid="stSkipToContent"]');
    if (a && a.textContent !== window.bpSkipText) a.textContent = window.bpSkipText;
  };
  word();
  if (!window.bpSkipObserver) {
    window.bpSkipObserver = new MutationObserver(word);
    window.bpSkipObserver.observe(document.body, {childList: true});
  }
})();
</script>"""
