"""A data set that cannot be loaded, in words: which file is damaged or missing and what to do about it.

The words are Home's (``[status]`` and ``[fix]`` of home.toml), so every page says what Home says; the
codes come from ``backprop.datasets.problem_status`` (an exception raised while loading) or from the
values of a training process's ``ErrorInfo`` ("data_corrupt", "dataset_missing").

A page looks its words up once in its script body (``W = data_problem.words()``) and hands them on:
``chrome.text`` reroutes a run that did not start from app.py, and a button callback or a fragment
never does, so these functions must not look words up themselves.
"""
import pathlib

import streamlit as st

from backprop import datasets
from pages import chrome

BROKEN = ("unreadable", "corrupt")  # present, but a file fails its check


def words():
    """The session's words for data problems (call it in a page's script body, not in a callback)."""
    return {"home": chrome.text("home"), "data": chrome.text("data")}


def what_text(W, status):
    """A source's status without its name ("5,000 training + 10,000 test images"); file and folder as plain text."""
    file, folder = chrome.escape_markdown(status.file), chrome.escape_markdown(status.folder)
    return W["home"]["status"][status.code].format(n_train=status.n_train, n_test=status.n_test, folder=folder,
                                                   file=file)


def source_line(W, status):
    """A source's name and status, as Home lists it ("bundled sample: 5,000 training + 10,000 test images")."""
    return W["home"]["source_line"].format(name=W["home"]["source_names"][status.source], status=what_text(W, status))


def status_text(W, status):
    """A SourceStatus that is not "present" in a sentence: what is wrong, and for a damaged file how to
    restore it. File and folder are shown as plain text."""
    H, D = W["home"], W["data"]
    file, folder = chrome.escape_markdown(status.file), chrome.escape_markdown(status.folder)
    if status.source not in H["source_names"]:  # a file outside every known source
        return D["unknown_file"].format(file=file, folder=folder)
    text = source_line(W, status)
    if status.code in BROKEN:
        text = H["broken"].format(status=text, fix=H["fix"][status.source].format(folder=folder))
    return text


def error_text(W, error, source=None):
    """Why loading ``source`` raised ``error`` (a DatasetNotFoundError or IDXError) in a sentence; None if
    the error is not about data files."""
    status = datasets.problem_status(error, source)
    return status_text(W, status) if status is not None else None


def values_text(W, values):
    """The values of an ErrorInfo "data_corrupt" or "dataset_missing" (``live.ErrorInfo.of``) in a sentence."""
    return status_text(W, datasets.SourceStatus(values.get("source", ""), values["status"],
                                                pathlib.Path(values.get("folder", "")), file=values.get("file", "")))


def say(W, error, source=None, key="page_needs"):
    """Show why the data cannot be loaded (``key`` of data.toml leads in); re-raise ``error`` if it is not
    about data files (the page's edge words that)."""
    problem = error_text(W, error, source)
    if problem is None:
        raise error
    st.error(W["data"][key].format(problem=problem), icon=":material/broken_image:")


def load(W, source, key="page_needs"):
    """The Dataset of ``source``, or None after saying which file is damaged or missing and what to do."""
    try:
        return datasets.load_dataset(source)
    except (OSError, ValueError) as e:
        say(W, e, source, key)
        return None


def stop(W, error, source=None, key="page_needs"):
    """``say`` it, then end this page's run: nothing below can be drawn without the data."""
    say(W, error, source, key)
    st.stop()
