"""Backprop Explorer's NumPy core: the layers, networks and checks of "Deep Learning from Scratch" ch. 5.

Never imports streamlit: everything here runs and is tested without the app.
"""
