"""The gradient check's verdict drawn: the headline (backprop.gradcheck's codes, worded), which numerical
gradient ran, the coloured table of verdicts, and a planted bug's outcome with its one wrong line.
Drawn by pages/gradient_check.py, which passes its words and mode in a ``View`` (this module is imported
once per server process: nothing language- or session-dependent lives here).
"""
import inspect
import textwrap
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from backprop.checkconfig import changed_lines
from backprop.figures import gradcheck as figs
from backprop.gradcheck import bug_outcome
from pages import chrome

VERDICT_STYLE = {  # cell background and text colour of each verdict
    "excellent": ("#dafbe1", "#116329"), "acceptable": ("#eef7d6", "#3f6212"),
    "suspicious": ("#fff1c2", "#7d4e00"), "wrong": ("#ffd7d5", "#a40e26"), "shape_mismatch": ("#ffd7d5", "#a40e26"),
    "not_finite": ("#ffd7d5", "#a40e26"), "imprecise": ("#eaeef2", "#424a53"), "unresolved": ("#eaeef2", "#424a53"),
}
VERDICT_ICON = {"excellent": "✔", "acceptable": "✔", "suspicious": "⚠", "wrong": "✘", "shape_mismatch": "✘",
                "not_finite": "✘", "imprecise": "?", "unresolved": "?"}


@dataclass(frozen=True)
class View:
    """What the verdict needs of the page: its words, the moments' words, and presentation mode."""
    T: dict  # gradient_check.toml
    S: dict  # gradient_check_story.toml
    present: bool


def h_label(h):
    """1e-04 -> '1e-4'."""
    return f"{h:.0e}".replace("e-0", "e-")


def seconds_text(s):
    return f"{s * 1000:.1f} ms" if s < 1 else f"{s:.2f} s"


def error_text(v, p, dtype):
    """The error cell: the shape mismatch or non-finite value itself, else the error the verdict judged."""
    if p.verdict == "shape_mismatch":
        return v.T["shape_mismatch"].format(got=p.shape_error, want=p.shape)
    if p.verdict == "not_finite":
        return v.T["not_finite"]
    if p.verdict == "imprecise":
        return v.T["below_roundoff"].format(floor=figs.fmt(p.floor, 2))
    return figs.fmt(p.judged_err if dtype == "float32" else p.max_rel_err)


def reason_text(v, p):
    """Why one parameter failed, in a few words: 'W1 (relative error 1.98e+00)', 'b2 (shape mismatch)'."""
    if p.verdict in ("shape_mismatch", "not_finite"):
        return v.T["reason_" + p.verdict].format(name=p.name)
    return v.T["reason_error"].format(name=p.name, err=figs.fmt(p.judged_err, 2))


def verdict_table(v, check):
    rel_column = v.T["col_rel_float32" if check.dtype == "float32" else "col_rel"]  # float32: beyond round-off
    rows, styles = [], []
    for p in check.params.values():
        index, a, n = p.worst
        a_text, n_text = figs.fmt_pair(a, n, most=5)
        bad_shape = p.shape_error is not None
        row = {
            v.T["col_parameter"]: p.name, v.T["col_shape"]: figs.shape_text(p.shape),
            v.T["col_checked"]: f"{p.n_checked:,}", v.T["col_kinks"]: f"{p.n_kinks:,}" if p.n_kinks else "0",
            v.T["col_mean"]: figs.fmt(p.mean_abs_diff), v.T["col_max"]: figs.fmt(p.max_abs_diff),
            rel_column: error_text(v, p, check.dtype),
            v.T["col_verdict"]: v.T["verdict_" + p.verdict],
            v.T["col_worst"]: "—" if bad_shape or index is None else "[" + ", ".join(map(str, index)) + "]",
            v.T["col_backprop"]: "—" if bad_shape else a_text, v.T["col_numerical"]: "—" if bad_shape else n_text,
        }
        if v.present:  # half a projector: the book's mean |diff|, the judged error and the verdict
            for col in ("col_checked", "col_max", "col_kinks", "col_worst", "col_backprop", "col_numerical"):
                row.pop(v.T[col])
        rows.append(row)
        styles.append(VERDICT_STYLE[p.verdict])
    df = pd.DataFrame(rows)

    def colour(column):
        return [f"background-color: {bg}; color: {fg}; font-weight: 600" for bg, fg in styles]

    return df.style.apply(colour, subset=[v.T["col_verdict"], rel_column])


def headline(v, check):
    """The check's headline (backprop.gradcheck's code and values, worded), and right under it what it means."""
    code, values = check.headline()
    names = chrome.join(values.get("params", ()))
    if code == "fail":
        reasons = chrome.join(reason_text(v, check.params[k]) for k in values["params"])
        st.error(v.T["headline_fail"].format(reasons=reasons), icon=":material/error:")
    elif code == "imprecise":
        st.warning(v.T["headline_imprecise"].format(params=names, dtype=values["dtype"], h=h_label(values["h"]),
                                                    floor=figs.fmt(values["floor"], 2)), icon=":material/help:")
    elif code == "unresolved":
        st.warning(v.T["headline_unresolved"].format(params=names, h=h_label(values["h"]), dtype=values["dtype"]),
                   icon=":material/help:")
    else:
        st.success(v.T["headline_pass_" + values["dtype"]].format(n=values["n"], worst=figs.fmt(values["worst"])),
                   icon=":material/check_circle:")
    if check.dtype == "float32" and not v.present:  # a float32 verdict's explanation, next to it (on a projector
        st.caption(v.T["note_float32"])  # the headlines carry it: "within float32 precision", "cannot resolve")


def which_ran(v, check):
    """Which numerical gradient ran, on what, and how long it took."""
    st.caption(v.T[("ran_short_" if v.present else "ran_") + check.method].format(
        entries=check.n_checked, seconds=seconds_text(check.seconds), backprop=seconds_text(check.backprop_seconds),
        images=check.n_images, dtype=check.dtype, h=h_label(check.h)))


def planted_bug(v, check, planted):
    """What the bug is, whether the check caught it, the one wrong line, and (folded) both backwards."""
    outcome, values = bug_outcome(check, planted)
    right_src = textwrap.dedent(inspect.getsource(planted.replaces.backward))
    wrong_src = textwrap.dedent(inspect.getsource(planted.layer_class.backward))
    removed, added = changed_lines(right_src, wrong_src)
    with st.container(border=True, key="gc_bug_box"):
        if not v.present:  # on a projector the moment names the bug and the headline says what was caught
            st.markdown("**" + v.T["bug_heading"].format(title=v.T["bug_titles"][planted.key]) + "**")
            st.markdown(v.T["bug_explanations"][planted.key])
        if v.present and outcome == "caught":
            pass
        elif outcome == "invisible":
            st.warning(v.T["bug_not_caught_batch"].format(batch=values["batch"]))
        elif outcome == "caught":
            clean = v.T["bug_clean"].format(params=chrome.join(values["clean"])) if values["clean"] else ""
            caught = chrome.join(reason_text(v, check.params[k]) for k in values["caught"])
            st.success(v.T["bug_caught"].format(caught=caught, clean=clean))
        else:
            st.warning(v.T["bug_partly"].format(caught=chrome.join(values["caught"]) or v.T["none"],
                                                expected=chrome.join(values["expected"])))
        st.caption(v.S["diff_caption"].format(cls=planted.replaces.__name__))
        code = [line.split("  # ")[0] for line in added]  # the planted line's "# BUG: ..." comment said apart
        st.code("\n".join([f"- {line}" for line in removed] + [f"+ {line}" for line in code]), language="diff",
                wrap_lines=True)
        why = [line.split("  # ", 1)[1] for line in added if "  # " in line]
        if why and not v.present:  # on a projector the lecturer says why
            st.caption(" ".join(why))
        if v.present:  # the one line is the point; both backwards are in the page's normal mode
            return
        with st.expander(v.T["bug_show_code"], expanded=False):
            left, right = st.columns(2)
            left.caption(v.T["bug_code_right"].format(cls=planted.replaces.__name__))
            left.code(right_src, language="python", wrap_lines=True)
            right.caption(v.T["bug_code_wrong"].format(cls=planted.layer_class.__name__))
            right.code(wrong_src, language="python", wrap_lines=True)
