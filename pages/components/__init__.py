"""Custom Streamlit components of the app (static HTML/CSS/JS, no build step, nothing fetched from a CDN)."""
