"""Home: what Backprop Explorer is, the three explorers, the data in use, and credits."""
import streamlit as st

from backprop import datasets
from pages import chrome

T = chrome.text("home")

st.title(T["title"])
st.markdown(T["intro"])

cols = st.columns(3)
for col, (page, key, icon) in zip(cols, [
    ("pages/shopping.py", "shopping", ":material/shopping_cart:"),
    ("pages/gradient_check.py", "gradient_check", ":material/rule:"),
    ("pages/training.py", "training", ":material/monitoring:"),
]):
    with col.container(border=True, height="stretch"):
        st.page_link(page, label=T[f"{key}_title"], icon=icon)
        st.markdown(T[f"{key}_blurb"])

st.subheader(T["data_heading"])
in_use = chrome.dataset_in_use()
st.markdown(T["data_in_use"].format(status=datasets.source_status(in_use)))
if not chrome.presenting():
    available = datasets.available_sources()
    st.markdown("\n".join(
        f"- {':material/check_circle:' if available[name] else ':material/radio_button_unchecked:'} "
        f"{datasets.source_status(name)}" for name in datasets.SOURCES
    ))
    st.caption(T["data_howto"])

st.subheader(T["credits_heading"])
st.markdown(T["credits"])
