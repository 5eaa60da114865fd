"""What a chapter's first cell installs on Colab: a ref the repository has, at this version,
with requirements that accept what Colab preloads (.ci/colab-constraints.txt)."""

import re
import subprocess
from pathlib import Path

import nbformat
import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

import bal_utils

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "notebooks").glob("*.ipynb"))
INSTALL = '    %pip install -q "git+{REPO_URL}@{REF}"'


def _setup(path):
    """REPO_URL, REF and the source of a chapter's first code cell."""
    nb = nbformat.read(path, as_version=4)
    source = next(c.source for c in nb.cells if c.cell_type == "code")
    found = dict(re.findall(r'^(REPO_URL|REF) = "([^"]+)"$', source, re.M))
    return found.get("REPO_URL"), found.get("REF"), source


def _pyproject():
    return (ROOT / "pyproject.toml").read_text()


def _version(pyproject_text):
    return re.search(r'^version = "([^"]+)"$', pyproject_text, re.M).group(1)


def _dependencies(pyproject_text):
    block = re.search(r"^dependencies = \[(.*?)^\]", pyproject_text, re.M | re.S).group(1)
    return [Requirement(r) for r in re.findall(r'^\s*"([^"]+)"', block, re.M)]


def _colab_pins():
    lines = (ROOT / ".ci" / "colab-constraints.txt").read_text().splitlines()
    return dict(line.split("==") for line in lines if re.match(r"^[A-Za-z][\w.-]*==", line))


def _git(*args):
    return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True)


def test_every_chapter_installs_the_same_ref_of_the_books_repository_on_colab_only():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]
    assert len(CHAPTERS) >= 7
    refs = set()
    for path in CHAPTERS:
        url, ref, source = _setup(path)
        assert url == config["url"], f"{path.name}: REPO_URL={url!r}, the book's repository is {config['url']!r}"
        assert ref, f"{path.name}: no REF line in the first code cell"
        lines = source.splitlines()
        assert INSTALL in lines, f"{path.name}: the first cell should install with {INSTALL.strip()!r}"
        assert lines[lines.index(INSTALL) - 1] == 'if "google.colab" in sys.modules:', path.name
        assert not re.search(r"%pip install.*(-U\b|--upgrade)", source), f"{path.name}: upgrading would replace Colab's packages"
        refs.add(ref)
    assert len(refs) == 1, f"the chapters install different refs: {sorted(refs)}"


def test_the_ref_exists_in_the_repository_and_carries_this_version():
    (ref,) = {_setup(p)[1] for p in CHAPTERS}
    if _git("rev-parse", "--git-dir").returncode != 0:
        pytest.skip("not a git checkout: no refs to check")
    found = [c for c in (ref, f"origin/{ref}") if _git("rev-parse", "--verify", "-q", f"{c}^{{commit}}").returncode == 0]
    assert found, f"the chapters install {ref!r}, which this repository does not have (git rev-parse {ref})"
    there = _git("show", f"{found[0]}:pyproject.toml")
    assert there.returncode == 0, there.stderr
    assert _version(there.stdout) == _version(_pyproject()) == bal_utils.__version__, (
        f"{ref!r} installs bal_utils {_version(there.stdout)}, this checkout is {_version(_pyproject())}")


def test_the_requirements_accept_what_colab_preloads():
    pins = _colab_pins()
    assert {"tensorflow", "keras", "numpy", "ipywidgets"} <= set(pins)
    deps = {r.name: r for r in _dependencies(_pyproject())}
    assert set(deps) >= {"numpy", "keras", "ipywidgets"}
    for name, pinned in pins.items():
        if name in deps:
            assert Version(pinned) in deps[name].specifier, f"bal_utils asks for {deps[name]}, Colab has {name} {pinned}"
    extra = re.search(r'^tensorflow = \["([^"]+)"\]', _pyproject(), re.M).group(1)
    assert Version(pins["tensorflow"]) in Requirement(extra).specifier, f"the [tensorflow] extra asks for {extra}"
    # ipywidgets: both Colab's 7.7 and JupyterLab 4's 8.x
    assert Version("7.7.1") in deps["ipywidgets"].specifier and Version("8.1.5") in deps["ipywidgets"].specifier
    python = re.search(r'^requires-python = "([^"]+)"', _pyproject(), re.M).group(1)
    for minor in ("3.10", "3.11", "3.12", "3.13"):
        assert Version(minor) in SpecifierSet(python), f"requires-python {python} refuses {minor}"
