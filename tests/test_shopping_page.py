"""The shopping page under AppTest: stepping, Back, the URL, inputs, Play and presentation mode."""
import json
import re
import time

from conftest import open_page


def shopping(**params):
    at = open_page("pages/shopping.py", params)
    assert not at.exception, at.exception
    return at


def click(at, key, times=1):
    for _ in range(times):
        at.button(key=key).click().run()
        assert not at.exception, at.exception
    return at


def where(at):
    """The step indicator (a level-4 heading, level 2 in presentation mode)."""
    return next(m.value for m in at.markdown if m.value.startswith(("####", "## ")))


def figure(at):
    return json.loads(at.get("plotly_chart")[0].proto.spec)


def drawn(at):
    """Every number drawn on the graph's edges."""
    return [re.sub("</?b>", "", a["text"]) for a in figure(at)["layout"]["annotations"]
            if a.get("text") and a.get("yanchor") in ("top", "bottom") and a.get("xref") == "x"
            and "xanchor" not in a]


def gradient_rows(at):
    """name -> (value, gradient) as shown in the 'Gradients so far' table."""
    table = next((m.value for m in at.markdown if m.value.startswith("| x |")), "")
    rows = {}
    for line in table.splitlines()[2:]:
        cells = [re.sub(r"<[^>]+>|\*\*|`|:orange-badge\[|\]", "", c).strip() for c in line.strip("|").split("|")]
        rows[cells[0]] = (cells[1], cells[2])
    return rows


def test_stepping_to_the_end_shows_the_books_numbers():
    at = shopping()
    assert where(at).startswith("#### Start")
    assert set(drawn(at)) == {"100", "2", "150", "3", "1.1", "?"}
    click(at, "shop_next", 8)
    assert where(at).startswith("#### Backward 4 of 4 · `mul_apple_layer`") and "done" in where(at)
    assert {"715", "2.2", "110", "3.3", "165", "650"} <= set(drawn(at)) and "?" not in drawn(at)
    rows = gradient_rows(at)
    assert rows["price"] == ("715", "1")
    assert {name: rows[name][1] for name in ("apple", "apple_num", "orange", "orange_num", "tax")} == \
        {"apple": "2.2", "apple_num": "110", "orange": "3.3", "orange_num": "165", "tax": "650"}
    assert at.button(key="shop_end").disabled
    assert "Inside the network" in at.button(key="shop_next").help  # Next at the end walks on to /network
    assert at.query_params["step"] == "8"
    checks = next(m.value for m in at.markdown if m.value.startswith("| input |"))
    assert checks.count("check_circle") == 5 and "cancel" not in checks
    assert at.get("page_link")[0].proto.page == "gradient_check"


def test_back_undoes_a_step():
    at = click(shopping(), "shop_next", 4)
    after_four = figure(at)
    click(at, "shop_next")
    assert where(at).startswith("#### Backward 1 of 4")
    assert "650" in drawn(at)
    click(at, "shop_back")
    assert where(at).startswith("#### Forward 4 of 4")
    assert figure(at) == after_four
    click(at, "shop_back_arrow")  # the arrow keys' twin of Back
    assert at.session_state.shop_step == 3
    click(at, "shop_reset")
    assert at.session_state.shop_step == 0 and at.button(key="shop_back").disabled


def test_query_parameters_restore_a_moment():
    at = shopping(preset="apples", step="3", tax="1.2")
    assert where(at).startswith("#### Backward 1 of 2 · `mul_tax_layer`")
    assert [n.value for n in at.number_input] == [100, 2, 1.2]
    assert at.segmented_control(key="shop_preset").value == "apples"
    shown = drawn(at)
    assert "240" in shown and "200" in shown and "1.2" in shown  # price, d(price)/d(tax), d/d(apple_price)
    assert not at.warning
    click(at, "shop_next")
    assert dict(at.query_params) == {"preset": "apples", "step": "4", "tax": "1.2"}


def test_bad_parameters_give_a_warning_not_an_exception():
    at = shopping(preset="bananas", step="99", apple="abc", tax="inf", lang="en")
    warning = at.warning[0].value
    for words in ("preset=bananas", "apple=abc", "tax=inf", "step=99"):
        assert words in warning, words
    assert where(at).startswith("#### Start")
    assert [n.value for n in at.number_input] == [100, 2, 150, 3, 1.1]
    assert dict(at.query_params) == {"preset": "apples_oranges", "step": "0", "lang": "en"}  # chrome's kept
    click(at, "shop_next")
    assert not at.warning  # seen: gone after the first action


def test_inputs_recompute_and_invalid_input_keeps_the_last_graph():
    at = click(shopping(), "shop_end")
    at.number_input(key="shop_v_tax").set_value(1.2).run()
    assert {"780", "2.4", "120", "3.6", "180", "650"} <= set(drawn(at))
    assert at.query_params["tax"] == "1.2"
    assert where(at).startswith("#### Backward 4 of 4")  # the step stays put

    at.number_input(key="shop_v_apple").set_value(None).run()
    assert "apple (price)" in at.error[0].value and "finite number" in at.error[0].value
    assert "780" in drawn(at) and "100" in drawn(at)  # the last good graph

    at.number_input(key="shop_v_apple").set_value(1e200).run()
    at.number_input(key="shop_v_apple_num").set_value(1e200).run()
    assert not at.exception
    assert "overflow" in at.error[0].value
    assert at.query_params["apple"] == "1e+200"  # the last good inputs stay in the URL


def test_play_advances_on_each_tick_and_stops_at_the_end():
    at = click(shopping(step="6"), "shop_play")
    assert at.session_state.shop_playing and at.button(key="shop_play").label == "Pause"
    at.session_state.shop_due = time.monotonic() + 60  # however slow the machine: the pace has not passed
    at.run()  # a rerun before the pace has passed does not step
    assert at.session_state.shop_step == 6
    for expected in (7, 8):
        at.session_state.shop_due = 0.0  # what the run_every timer does: the pace has passed
        at.run()
        assert at.session_state.shop_step == expected
    assert not at.session_state.shop_playing and at.button(key="shop_play").label == "Play"
    click(at, "shop_play")  # Play at the end replays from the start
    assert at.session_state.shop_step == 0 and at.session_state.shop_playing
    click(at, "shop_next")  # a manual step pauses
    assert at.session_state.shop_step == 1 and not at.session_state.shop_playing


def test_switching_preset_starts_over():
    at = click(shopping(), "shop_next", 3)
    at.segmented_control(key="shop_preset").set_value("apples").run()
    assert [n.label for n in at.number_input] == ["apple (price)", "apple_num (count)", "tax (rate)"]
    assert at.session_state.shop_step == 0 and "step 0 of 4]" in where(at)
    click(at, "shop_end")
    assert {"220", "2.2", "110", "200"} <= set(drawn(at))


def test_the_step_is_explained_with_its_numbers_and_code():
    at = shopping(step="7")
    latex = at.latex[0].value
    assert r"1.1 \times 3 = \mathbf{3.3}" in latex and r"1.1 \times 150 = \mathbf{165}" in latex
    assert "other" in " ".join(m.value for m in at.markdown)
    method, script = (c.value for c in at.code)
    assert "def backward(self, dout):" in method and "class MulLayer:" in method
    assert "self.x = 150, self.y = 3" in method and "dorange, dorange_num = 3.3, 165" in method
    assert "dorange, dorange_num = mul_orange_layer.backward(dorange_price)  # ◀ step 7" in script
    assert gradient_rows(at)["orange"] == ("150", "3.3")
    table = next(m.value for m in at.markdown if m.value.startswith("| x |"))
    assert table.count(":orange-badge[") == 2 and ":orange-badge[orange_num]" in table  # found by this step
    first = shopping(step="1")
    assert "def forward(self, x, y):" in first.code[0].value and r"100 \times 2 = 200" in first.latex[0].value
    add = shopping(step="6")
    assert r"1.1 \times 1 = \mathbf{1.1}" in add.latex[0].value and "unchanged" in " ".join(
        m.value for m in add.markdown)


def test_presentation_mode_puts_the_step_first_and_folds_the_rest():
    at = shopping(present="1", step="7")
    assert where(at).startswith("## Backward 3 of 4")
    assert not at.title  # the navigation bar names the page
    labels = [e.label for e in at.expander]  # below the first screen: the step's code and check, then the inputs
    assert labels[:2] == ["The code being run", "Numerical check"]
    assert labels[2].startswith("Inputs: apple = 100, apple_num = 2, orange = 150")
    assert figure(at)["layout"]["height"] > figure(shopping(step="7"))["layout"]["height"]


def test_history_and_navigation():
    at = click(shopping(), "shop_next", 3)
    at.query_params["step"] = "2"  # the browser's Back button: the previous history entry
    at.run()
    assert at.session_state.shop_step == 2 and where(at).startswith("#### Forward 2 of 4")
    at.switch_page("pages/home.py").run()
    at.query_params.clear()  # navigation clears the URL
    at.switch_page("pages/shopping.py").run()
    assert at.session_state.shop_step == 2 and at.query_params["step"] == "2"  # carried on, URL restored


def test_book_values_restore_the_inputs():
    at = shopping(tax="1.2", apple="120")
    assert not at.button(key="shop_book").disabled
    click(at, "shop_book")
    assert [n.value for n in at.number_input] == [100, 2, 150, 3, 1.1]
    assert at.button(key="shop_book").disabled and "tax" not in at.query_params


def test_a_typed_expression_steps_to_the_end_and_shows_its_gradients():
    at = shopping()
    at.segmented_control(key="shop_preset").set_value("expression").run()
    at.text_input(key="shop_expr_text").input("x*x + 2*x*y").run()
    assert not at.error
    assert [n.label for n in at.number_input] == ["x", "y"]  # each box labelled with its variable
    at.number_input(key="shop_e_y").set_value(5.0).run()
    click(at, "shop_end")
    assert "done" in where(at)
    rows = gradient_rows(at)
    assert rows["x"] == ("2", "14") and rows["y"] == ("5", "4") and rows["f"] == ("24", "1")  # 2x + 2y, 2x
    assert "Σ 14" in [a.get("text") for a in figure(at)["layout"]["annotations"]]  # x's three paths summed
    assert dict(at.query_params) == {"preset": "expression", "step": "8", "expr": "x*x + 2*x*y", "x": "2", "y": "5"}
    checks = next(m.value for m in at.markdown if m.value.startswith("| input |"))
    assert checks.count("check_circle") == 2
    assert any("class MulLayer:" in c.value for c in at.code)


def test_a_bad_expression_shows_where_and_keeps_the_last_graph():
    at = shopping(preset="expression", expr="(x + y) * z", step="4")
    assert gradient_rows(at)["z"] == ("4", "5")
    for text, words in [("x + os.system", "`os.system` is not allowed"), ("__import__('os')", "`__import__(…)`"),
                        ("x ** y", "exponent `y` must be a number"), ("log(x - 5)", "`log` here gets")]:
        at.text_input(key="shop_expr_text").input(text).run()
        assert not at.exception
        message = at.error[0].value
        assert words in message and "(x + y) * z" in message, message
        assert gradient_rows(at)["z"] == ("4", "5")  # the last good graph stays
        assert at.query_params["expr"] == "(x + y) * z"
    assert "position 1" in at.error[0].value and at.code[0].value == "log(x - 5)\n^"
    at.text_input(key="shop_expr_text").input("x" * 10_001).run()
    assert "longer than 10000 characters" in at.error[0].value


def test_a_bad_expression_in_the_link_is_named():
    at = shopping(preset="expression", expr="x.__class__", step="2")
    warning = at.warning[0].value
    assert "`expr`" in warning and "position 1" in warning and "x.__class__" in warning
    assert at.query_params["expr"] == "(x + y) * z" and where(at).startswith("#### Forward 2 of 2")


def test_the_sigmoid_graph_ends_at_y_times_one_minus_y():
    at = shopping(preset="sigmoid", step="5")
    assert where(at).startswith("#### Backward 1 of 4 · `recip_y_layer`")
    assert r"-\frac{1}{\text{c}^2}" in at.latex[0].value
    click(at, "shop_end")
    tables = [m.value for m in at.markdown if m.value.startswith("| input | through the graph")]
    assert "y(1 − y)" in tables[0] and "0.1966119332" in tables[0] and "check_circle" in tables[0]
    assert [n.label for n in at.number_input] == ["x"]
    assert "ReciprocalLayer" in at.code[1].value or "ScaleLayer" in at.code[1].value


def test_softmax_with_loss_is_offered_and_ends_at_y_minus_t():
    at = shopping()
    assert "Softmax-with-Loss" in at.segmented_control(key="shop_preset").options
    at.segmented_control(key="shop_preset").set_value("softmax_loss").run()
    click(at, "shop_end")
    table = next(m.value for m in at.markdown if m.value.startswith("| input | through the graph"))
    assert "y − t" in table and table.count("check_circle") == 3
    assert at.query_params["preset"] == "softmax_loss" and at.query_params["step"] == "32"


def test_a_step_that_is_no_ascii_number_is_named_not_an_exception():
    for raw in ("²", "7" * 5000):  # "²".isdigit() is true; int() refuses 4,300+ digits
        at = shopping(preset="apples_oranges", step=raw)
        assert not at.exception
        warning = at.warning[0].value
        assert "`step=" in warning and "not a step" in warning
        assert len(warning) < 300  # the 5,000 digits are cut, not echoed whole
        assert where(at).startswith("#### Start")


def test_arriving_at_the_last_moment_opens_the_last_step():
    """/network's PageUp before its first step opens this page with ?moment=last."""
    at = shopping(preset="apples", moment="last")
    assert where(at).startswith("#### Backward 2 of 2") and at.session_state.shop_step == 4
    assert "moment" not in at.query_params and at.query_params["step"] == "4"


def intro(at):
    return at.markdown[0].value  # under the title, above everything else the page draws


def test_the_intro_says_which_graph_is_shown_and_follows_the_choice():
    at = shopping()
    assert "apples and oranges" in intro(at)
    for key, words in (("expression", "**Your expression** as a computational graph"), ("sigmoid", "figures 5-19"),
                       ("softmax_loss", "y − t"), ("apples", "apples and oranges")):
        at.segmented_control(key="shop_preset").set_value(key).run()  # a rerun of the stepper alone
        assert words in intro(at), (key, intro(at))
        assert ("apples" in intro(at)) == (key == "apples"), key
    assert "apples" not in intro(shopping(preset="expression", expr="x * y", step="1"))


def test_a_division_by_zero_points_at_the_division():
    at = shopping(preset="expression", expr="x + y", step="0")
    at.text_input(key="shop_expr_text").input("1/(x-y)").run()  # at x = 2, y = 3: drawn
    at.number_input(key="shop_e_y").set_value(2.0).run()  # now x - y = 0
    assert "position 2 of the expression" in at.error[0].value, at.error[0].value  # the /, not the 1
    at.number_input(key="shop_e_y").set_value(3.0).run()
    at.text_input(key="shop_expr_text").input("(x + 1) / (2 - 2)").run()
    assert "(position 9)" in at.error[0].value and at.code[0].value == "(x + 1) / (2 - 2)\n        ^"


def test_a_bad_expression_in_the_link_reads_as_a_sentence_in_every_language():
    words = {"en": "Ignored from the link: `step=99` is not a step", "ja": "`expr`（4 文字目、代わりに",
             "zh": "`expr`（第 4 个字符，改为显示"}
    for lang, start in words.items():
        warning = shopping(preset="expression", expr="x +* y", step="99", lang=lang).warning[0].value
        assert start in warning, (lang, warning)
    warning = shopping(preset="expression", expr="x +* y", lang="en").warning[0].value
    assert warning == ("Ignored from the link: `expr` (position 4, showing `(x + y) * z` instead). "
                       "This is not a formula Python can read."), warning


def test_a_step_s_figure_is_made_once_for_every_session_and_only_for_what_it_shows():
    """The figures of graph steps are shared by the server's sessions (pages/shopping_panels.STEP_FIGURES):
    the same step draws the same figure, and anything the figure shows keeps figures apart (the language, the
    typed expression, the inputs, presentation mode)."""
    from pages.shopping_panels import STEP_FIGURES

    first, second = shopping(step="3"), shopping(step="3")
    assert figure(first) == figure(second) and len(STEP_FIGURES) >= 1
    assert figure(shopping(step="3", lang="ja")) != figure(first)  # its labels and legend in Japanese
    assert figure(shopping(step="3", present="1")) != figure(first)
    assert figure(shopping(step="3", apple="150")) != figure(first)
    x_times_y, x_plus_y = (shopping(preset="expression", expr=e, x="2", y="3", step="1") for e in ("x*y", "x+y"))
    assert figure(x_times_y) != figure(x_plus_y)
    assert "AddLayer" in json.dumps(figure(x_plus_y)) and "MulLayer" in json.dumps(figure(x_times_y))
