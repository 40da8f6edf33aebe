"""The README's two commands stay true: CI runs the test command as written, and pins hold."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _commands():
    return re.findall(r"```bash\n(.+?)\n```", (ROOT / "README.md").read_text())


def test_first_two_commands_install_and_run():
    run_app, run_tests = _commands()[:2]
    assert run_app == "pip install -r requirements.txt && streamlit run app.py"
    assert run_tests.endswith("python -m pytest")


def test_ci_runs_the_readme_test_command_as_written():
    ci_lines = [line.strip() for line in (ROOT / ".ci/run").read_text().splitlines()]
    assert _commands()[1] in ci_lines


def test_requirements_are_pinned_and_light():
    reqs = [line for line in (ROOT / "requirements.txt").read_text().splitlines() if line.strip()]
    assert all("==" in line for line in reqs), reqs
    names = {line.split("==")[0].lower() for line in reqs}
    assert {"numpy", "streamlit", "plotly"} <= names
    assert not names & {"torch", "tensorflow", "pandas-profiling", "opencv-python"}
