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


def status_text(status):
    """A data source's status (codes and values from backprop.datasets) in this page's words."""
    return T["status"][status.code].format(name=T["source_names"][status.source], n_train=status.n_train,
                                           n_test=status.n_test, folder=status.folder, file=status.file)


st.markdown(T["data_in_use"].format(status=status_text(datasets.source_status(chrome.dataset_in_use()))))
if not chrome.presenting():
    statuses = [datasets.source_status(name) for name in datasets.SOURCES]
    st.markdown("\n".join(
        f"- {':material/check_circle:' if s.present else ':material/radio_button_unchecked:'} {status_text(s)}"
        for s in statuses
    ))
    st.caption(T["data_howto"])

st.subheader(T["credits_heading"])
st.markdown(T["credits"])
