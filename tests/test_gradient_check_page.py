"""AppTest: the gradient check page runs the check, shows a verdict per parameter, turns the right rows red
when a bug is planted, and explains (or prevents) inputs that make no sense."""
import re

import pytest
from streamlit.testing.v1 import AppTest

from backprop.checkconfig import H_CHOICES
from backprop.planted_bugs import BUGS
from pages import chrome

PARAMS = ["W1", "b1", "W2", "b2"]
RED = "#ffd7d5"  # the page's background for a 'wrong' verdict


def open_page(**query):
    at = AppTest.from_file("../app.py", default_timeout=30)
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    at.switch_page("pages/gradient_check.py").run()
    assert not at.exception, at.exception
    return at


def verdicts(at):
    table = at.table[0].value
    return dict(zip(table["Parameter"], table["Verdict"].str.replace("\u00a0", " ")))


def red_rows(at):
    """Rows whose verdict cell has the red background, read from the table's CSS rules."""
    styles = at.table[0].proto.arrow_data.styler.styles
    col = list(at.table[0].value.columns).index("Verdict")
    red = set()
    for selectors, body in re.findall(r"([^{}]+)\{([^}]*)\}", styles):
        if f"background-color: {RED}" in body:
            red |= {PARAMS[int(r)] for r, c in re.findall(r"_row(\d+)_col(\d+)", selectors) if int(c) == col}
    return red


def test_defaults_show_four_passing_rows_and_which_method_ran():
    at = open_page()
    assert verdicts(at) == dict.fromkeys(PARAMS, "✔ excellent")
    table = at.table[0].value
    assert list(table["Shape"]) == ["784×50", "50", "50×10", "10"]
    assert list(table["Checked"]) == ["39,200", "50", "500", "10"]
    assert "agrees on all 4 parameters" in at.success[0].value
    assert any("fast central differences" in c.value and "39,760 entries" in c.value for c in at.caption)
    assert red_rows(at) == set()
    assert at.get("plotly_chart")  # the heatmap tab is open by default
    # A rerun that changes nothing recomputes nothing: the same result object is reused.
    stored = at.session_state["gc_checks"]
    first = next(iter(stored.values()))
    at.run()
    assert len(at.session_state["gc_checks"]) == 1 and next(iter(at.session_state["gc_checks"].values())) is first


@pytest.mark.parametrize("bug, red, activation", [
    ("relu_mask_wrong_side", {"W1", "b1"}, "relu"),
    ("sigmoid_backward_from_input", {"W1", "b1"}, "sigmoid"),
    ("softmax_no_batch_divide", set(PARAMS), "relu"),
    ("affine_db_wrong_axis", {"b2"}, "relu"),
])
def test_planting_a_bug_turns_the_right_rows_red(bug, red, activation):
    at = open_page()
    at.selectbox(key="gc_bug").set_value(bug).run()
    assert not at.exception, at.exception
    assert at.session_state["gc_activation"] == activation
    v = verdicts(at)
    assert {k for k, text in v.items() if text.startswith("✘")} == red and red_rows(at) == red
    if bug == "affine_db_wrong_axis":  # its own verdict, not a relative error of infinity
        assert v["b2"] == "✘ shape mismatch"
    assert all(v[k] == "✔ excellent" for k in PARAMS if k not in red)
    assert "The check fails on" in at.error[0].value
    assert any(s.value.startswith("Caught:") for s in at.success)
    assert at.query_params["gc_bug"] == bug  # the configuration can be shared as a link
    if activation == "sigmoid":  # the page switched the activation and said so
        assert any("now uses Sigmoid" in i.value for i in at.info)
    if bug == "affine_db_wrong_axis":
        assert any("shape (3,), but b2 has shape (10,)" in i.value for i in at.info)
        assert "shape (3,) ≠ (10,)" in at.table[0].value["Max rel. error"].iloc[3]


def test_bug_link_and_the_one_image_case_are_explained():
    at = open_page(gc_bug="softmax_no_batch_divide")
    assert at.session_state["gc_bug"] == "softmax_no_batch_divide" and red_rows(at) == set(PARAMS)
    at.number_input(key="gc_batch").set_value(1).run()
    assert not at.exception
    assert red_rows(at) == set()  # with N = 1 the missing / N changes nothing ...
    assert any("with 1 image the bug changes nothing" in w.value for w in at.warning)  # ... and the page says so
    # Switching to Sigmoid removes a ReLU-only bug and says why.
    at.selectbox(key="gc_bug").set_value("relu_mask_wrong_side").run()
    at.segmented_control(key="gc_activation").set_value("sigmoid").run()
    assert at.session_state["gc_bug"] == "none"
    assert any("has no layer for it to replace" in i.value for i in at.info)
    assert "gc_bug" not in at.query_params


def test_inputs_that_make_no_sense_are_prevented_or_explained():
    assert min(H_CHOICES) > 0  # the h slider has no 0 to choose
    at = open_page(gc_h="0")  # ... and a link asking for h = 0 is ignored
    assert at.session_state["gc_h"] == 1e-4 and not at.error
    at.number_input(key="gc_batch").set_value(1_000_000).run()  # above the widget's maximum: not accepted
    assert not at.exception and 1 <= at.session_state["gc_batch"] <= 100
    at.number_input(key="gc_batch").set_value(3).run()
    # The last images: starting at 4,999 with 3 images would run past the end; the page moves back and says so.
    at.number_input(key="gc_first").set_value(4999).run()
    assert not at.exception
    assert at.session_state["gc_first"] == 4997
    assert any("starts at image 4,997" in i.value for i in at.info)
    assert set(verdicts(at).values()) == {"✔ excellent"}
    # float32 with h below its resolution: no crash, an explanation.
    at.segmented_control(key="gc_dtype").set_value("float32").run()
    at.select_slider(key="gc_h").set_value(1e-11).run()
    assert not at.exception
    assert any("below float32 resolution" in i.value for i in at.info)


def test_the_headline_comes_first_and_presentation_mode_folds_the_settings():
    normal = [e.type for e in open_page().main]
    assert normal.index("success") < normal.index("table")  # the headline, then the evidence
    at = open_page(present="1")
    assert at.expander[0].proto.expanded is False
    shown = [e.type for e in at.main]
    assert shown.index("success") < shown.index("table")  # on a projector too
    assert "Gradient check" == at.title[0].value and not at.markdown  # no intro paragraph
    assert verdicts(at) == dict.fromkeys(PARAMS, "✔ excellent")
    assert "Checked" not in at.table[0].value.columns  # fewer columns on a projector


def test_every_planted_bug_has_its_words_in_the_catalogue():
    T = chrome.text("gradient_check")
    for section in ("bugs", "bug_titles", "bug_explanations"):
        assert set(T[section]) == set(BUGS), section


def test_a_long_book_loop_asks_first_and_offers_sampling():
    at = open_page()
    at.number_input(key="gc_hidden").set_value(200).run()
    at.number_input(key="gc_batch").set_value(50).run()
    at.segmented_control(key="gc_method").set_value("loop").run()
    assert not at.exception and not at.table  # nothing ran yet: 159,010 entries would take many minutes
    assert "The book's loop would take" in at.warning[0].value and "159,010 entries" in at.warning[0].value
    sample = next(b for b in at.button if b.label.startswith("Sample 100 entries"))
    sample.click().run()
    assert not at.exception
    if not at.table:  # on a very busy machine even 310 entries can look slow: the page asks again, and we accept
        assert "310 entries" in at.warning[0].value
        next(b for b in at.button if b.label.startswith("Run the book's loop")).click().run()
    assert at.table[0].value["Checked"].tolist() == ["100", "100", "100", "10"]
    assert any("the book's loop" in c.value for c in at.caption)


def test_float32_on_correct_code_is_never_headlined_as_failing():
    """Issue 9: float32 with no bug showed a red 'fails on W1'; a broken b2 showed 'relative error up to ∞'."""
    at = open_page(gc_dtype="float32")
    assert at.session_state["gc_dtype"] == "float32" and not at.error
    assert "within float32 precision" in at.success[0].value
    main = list(at.main)
    kinds = [e.type for e in main]
    first = kinds.index("success")  # the headline, then its explanation, then the table
    assert kinds[first + 1] == "caption" and "round-off floor" in main[first + 1].value
    assert kinds.index("table") > first + 1
    assert set(verdicts(at).values()) <= {"✔ excellent", "✔ acceptable"} and red_rows(at) == set()
    assert "Beyond round-off" in at.table[0].value.columns
    # The book's loop in float32 cannot resolve W1 at h = 1e-4: the headline says so and points to float64.
    at.toggle(key="gc_sample").set_value(True).run()
    at.segmented_control(key="gc_method").set_value("loop").run()
    assert not at.error and "float32 cannot resolve this check" in at.warning[0].value
    assert "use float64" in at.warning[0].value
    # A planted bug is still caught in float32, and a wrong shape is said to be one, never "∞".
    at.segmented_control(key="gc_method").set_value("fast").run()
    at.selectbox(key="gc_bug").set_value("affine_db_wrong_axis").run()
    assert "**b2** (shape mismatch)" in at.error[0].value and "∞" not in at.error[0].value
    assert verdicts(at)["b2"] == "✘ shape mismatch" and red_rows(at) == {"b2"}
