"""Home: what Backprop Explorer is, the three explorers, the data in use, and credits."""
import streamlit as st

import pages  # noqa: F401,I001 - first: imports every module the pages use, once, in one order (pages/__init__.py)

from backprop import datasets
from pages import chrome, data_problem

T = chrome.text("home")

st.title(T["title"])
st.markdown(T["intro"])

EXPLORERS = [  # the chapter's order, as the navigation and the clicker walk it
    ("pages/shopping.py", "shopping", ":material/shopping_cart:"),
    ("pages/network.py", "network", ":material/account_tree:"),
    ("pages/gradient_check.py", "gradient_check", ":material/rule:"),
    ("pages/training.py", "training", ":material/monitoring:"),
]
cells = [col for _ in range(2) for col in st.columns(2)]  # two by two: a title stays whole in every language
for col, (page, key, icon) in zip(cells, EXPLORERS):
    with col.container(border=True, height="stretch"):
        st.page_link(page, label=T[f"{key}_title"], icon=icon)
        st.markdown(T[f"{key}_blurb"])

st.subheader(T["data_heading"])


W = data_problem.words()  # a source's line, and a damaged one's fix, as every page words them


BROKEN = data_problem.BROKEN
in_use = datasets.source_status(chrome.dataset_in_use())
if in_use.code in BROKEN:
    st.error(data_problem.status_text(W, in_use), icon=":material/broken_image:")
else:
    st.markdown(T["data_in_use"].format(name=T["source_names"][in_use.source], status=data_problem.what_text(W, in_use)))
if not chrome.presenting():
    def line(s):
        icon = ":material/check_circle:" if s.present else (
            ":material/error:" if s.code in BROKEN else ":material/radio_button_unchecked:")
        shown = data_problem.status_text(W, s)
        if s.code in BROKEN and s.source == in_use.source:  # its fix is said above
            shown = data_problem.source_line(W, s)
        return f"- {icon} {shown}"

    st.markdown("\n".join(line(datasets.source_status(name)) for name in datasets.SOURCES))
    st.caption(T["data_howto"])

st.subheader(T["credits_heading"])
st.markdown(T["credits"])
