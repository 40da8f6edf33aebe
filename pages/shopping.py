"""Placeholder until its issue lands."""
import streamlit as st

st.title("shopping")
