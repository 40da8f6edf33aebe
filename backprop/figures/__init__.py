"""Plotly figures: pure functions from data to a figure, tested without a browser or Streamlit."""
