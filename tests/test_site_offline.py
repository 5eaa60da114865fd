"""The built book reads offline: no CDN scripts (MathJax, require.js, the ipywidgets manager).

Builds nothing. Checks the configuration and the committed JavaScript always, and the pages
in _build/html when a build is there (`jupyter-book build . -W --keep-going`).
"""

import hashlib
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "_build" / "html"
CDN_HOSTS = ("cdn.jsdelivr.net", "unpkg.com", "cdnjs")
# sphinx-thebe writes this constant on every page; thebe is fetched only when a reader starts
# a live kernel (Binder), which needs the internet anyway. It is not a script the page loads.
THEBE_CONSTANT = re.compile(r'const THEBE_JS_URL = "[^"]*";')


def _config():
    return yaml.safe_load((ROOT / "_config.yml").read_text())


def _sphinx_config():
    return _config()["sphinx"]["config"]


def _static_dirs():
    return [ROOT / p for p in _sphinx_config()["html_static_path"]]


def test_mathjax_is_served_by_the_site():
    assert "sphinx-mathjax-offline" in _config()["sphinx"]["extra_extensions"]
    assert "mathjax_path" not in _sphinx_config(), "mathjax_path would override the offline copy"
    reqs = (ROOT / "requirements.txt").read_text()
    assert re.search(r"^sphinx-mathjax-offline\b", reqs, re.M)


def test_theme_versions_are_pinned():
    # Newer sphinx-book-theme / pydata-sphinx-theme pairs draw a second, full-width search bar.
    reqs = (ROOT / "requirements.txt").read_text()
    assert re.search(r"^sphinx-book-theme==", reqs, re.M)
    assert re.search(r"^pydata-sphinx-theme==", reqs, re.M)


def test_widget_scripts_are_local_files_in_the_repo():
    static_dirs = _static_dirs()
    assert static_dirs and all(d.is_dir() for d in static_dirs)
    assert all(d.name != "_static" for d in static_dirs)
    scripts = _sphinx_config()["nb_ipywidgets_js"]
    names = [Path(p).name for p in scripts]
    assert "require.js" in names and "embed-amd.js" in names
    assert names.index("require.js") < names.index("embed-amd.js")
    for path, attrs in scripts.items():
        assert "://" not in path and not path.startswith("/"), path
        assert any((d / path).is_file() for d in static_dirs), f"{path} is in no html_static_path folder"
        for value in attrs.values():
            assert "://" not in value and not any(h in value for h in CDN_HOSTS), (path, value)
    # Where the manager looks for non-core widget modules: the local folder (from notebooks/ pages).
    (embed,) = [a for p, a in scripts.items() if p.endswith("embed-amd.js")]
    cdn = embed["data-jupyter-widgets-cdn"]
    embed_dir = next(p for p in scripts if p.endswith("embed-amd.js")).rsplit("/", 1)[0]
    assert cdn.rstrip("/") == f"../_static/{embed_dir}"


def test_no_root_static_folder():
    # Jupyter Book adds every .js under `_static/` *and* under html_static_path to every page
    # as soon as a root `_static/` folder exists: the widgets would then render several times.
    assert not (ROOT / "_static").exists(), "a root _static/ folder makes Jupyter Book load the widget JS on every page"


def test_committed_js_matches_its_recorded_source():
    folder = next(d for d in _static_dirs() if (d / "widgets" / "SOURCES.txt").is_file()) / "widgets"
    sources = (folder / "SOURCES.txt").read_text()
    recorded = dict(
        (name, digest) for digest, name in re.findall(r"^([0-9a-f]{64})  (\S+)$", sources, re.M)
    )
    assert {"require.js", "embed-amd.js"} <= set(recorded)
    for name, digest in recorded.items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, name
    assert (folder / "LICENSE-ipywidgets.txt").is_file()


def _pages():
    pages = sorted(BUILD.rglob("*.html"))
    if not pages:
        pytest.skip("no _build/html: build the book to check the pages")
    return pages


def test_built_pages_load_no_script_from_a_cdn():
    bad = []
    for page in _pages():
        html = page.read_text(encoding="utf-8", errors="replace")
        for tag in re.findall(r"<script\b[^>]*>(?:.*?</script>)?", html, re.S):
            head = tag.split(">", 1)[0]
            if tag.startswith('<script type="application/vnd.jupyter.widget'):
                continue  # saved widget state and views: data, not code
            src = re.search(r'\bsrc="([^"]*)"', head)
            if src and re.match(r"(https?:)?//", src.group(1)):
                bad.append((page.relative_to(BUILD), src.group(1)))
            text = THEBE_CONSTANT.sub("", tag)
            bad += [(page.relative_to(BUILD), h) for h in CDN_HOSTS if h in text]
    assert not bad, bad


def test_built_pages_use_the_local_mathjax_and_widget_scripts():
    pages = _pages()
    assert (BUILD / "_static" / "mathjax" / "tex-chtml.js").is_file()
    assert (BUILD / "_static" / "widgets" / "embed-amd.js").is_file()
    for page in pages:
        html = page.read_text(encoding="utf-8", errors="replace")
        for src in re.findall(r'<script[^>]*\bsrc="([^"]*mathjax[^"]*)"', html, re.I):
            assert "_static/mathjax/" in src, (page, src)
        if 'type="application/vnd.jupyter.widget-state+json"' in html:
            for name in ("require.js", "embed-amd.js"):
                assert re.search(rf'<script[^>]*src="[^"]*_static/widgets/{re.escape(name)}', html), (page, name)
        # one search field per page (the second, full-width bar is the theme-version bug)
        assert html.count("search-button-field") <= 1, page


def test_built_pages_load_no_image_from_the_internet():
    """The chapters' "Open In Colab" badge included: book/_ext/colab_badge.py points it at site_static/."""
    bad, badges = [], 0
    for page in _pages():
        html = page.read_text(encoding="utf-8", errors="replace")
        for src in re.findall(r'<img\b[^>]*\bsrc="([^"]*)"', html):
            if re.match(r"(https?:)?//", src):
                bad.append((page.relative_to(BUILD), src))
            elif src.endswith("colab-badge.svg"):
                badges += 1
                assert (page.parent / src).resolve().is_file(), (page, src)
    assert not bad, bad
    assert badges >= len(list((ROOT / "notebooks").glob("*.ipynb"))), "a chapter lost its Colab badge"
