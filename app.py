"""Backprop Explorer: entry point. Routing and shared chrome only; every page lives in pages/."""
import streamlit as st

from pages import chrome, routing

st.set_page_config(page_title="Backprop Explorer", page_icon=":material/hub:", layout="wide",
                   initial_sidebar_state="collapsed" if chrome.presenting() else "auto")
T = chrome.text("app")
chrome.apply_chrome()

page = st.navigation(
    [
        st.Page("pages/home.py", title=T["home"], icon=":material/home:", default=True),
        # URLs are the file names (/shopping, /gradient_check, /training), as pages/routing.py explains.
        st.Page("pages/shopping.py", title=T["shopping"], icon=":material/shopping_cart:"),
        st.Page("pages/network.py", title=T["network"], icon=":material/account_tree:"),
        st.Page("pages/gradient_check.py", title=T["gradient_check"], icon=":material/rule:"),
        st.Page("pages/training.py", title=T["training"], icon=":material/monitoring:"),
    ],
    position="top" if chrome.presenting() else "sidebar",
)
routing.run_page(page, T)  # the page's edge: an unforeseen error becomes a message with a way on
