"""What a reader sees in the committed chapters: every table and figure cell shows its output,
and every figure is readable at the page's width."""

import base64
import json
import re
import struct
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
#: Width in CSS pixels of the book page's content column: a wider image is shrunk to it.
PAGE_PX = 730
#: On-page pixels per point of font size that a figure must give at least (an 8-point legend: 8.8 px).
MIN_PX_PER_POINT = 1.1


def _cells(path):
    return [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]


def _png_size_and_dpi(b64):
    raw = base64.b64decode(b64)
    width, height = struct.unpack(">II", raw[16:24])
    at = raw.find(b"pHYs")
    dpi = None
    if at > 0:
        per_unit, _, unit = struct.unpack(">IIB", raw[at + 4 : at + 13])
        dpi = per_unit * 0.0254 if unit == 1 else None
    return width, height, dpi or 72.0


def on_page_px_per_point(b64) -> float:
    """Pixels on the page per point of font size: the image's pixels per point, times its shrink to the page."""
    width, _, dpi = _png_size_and_dpi(b64)
    return dpi / 72 * min(1.0, PAGE_PX / width)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_table_and_figure_cell_shows_its_output(path):
    for cell in _cells(path):
        source = "".join(cell["source"])
        kinds = [k for o in cell.get("outputs", []) for k in o.get("data", {})]
        html = "".join("".join(o.get("data", {}).get("text/html", "")) for o in cell.get("outputs", []))
        if "html_table(" in source:
            assert "<table" in html, f"{path.name}: a cell that builds a table shows none:\n{source[-300:]}"
        if "plt.show()" in source:
            assert "image/png" in kinds or "image/svg+xml" in kinds, f"{path.name}: a figure cell shows no figure:\n{source[-300:]}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_figures_are_readable_at_the_page_width(path):
    for cell in _cells(path):
        source = "".join(cell["source"])
        for o in cell.get("outputs", []):
            png = o.get("data", {}).get("image/png")
            if png:
                scale = on_page_px_per_point(png)
                assert scale >= MIN_PX_PER_POINT, (
                    f"{path.name}: a figure gives {scale:.2f} px per point on the page (a 10-point label "
                    f"{10 * scale:.1f} px): draw it narrower or at a higher dpi\n{source[-300:]}")
        small = re.findall(r"fontsize\s*=\s*(\d+(?:\.\d+)?)", source)
        assert all(float(s) >= 8 for s in small), f"{path.name}: font sizes {small} below 8 points:\n{source[-300:]}"


def test_the_readability_measure_itself():
    """A 64-dpi figure at its natural size: 0.89 px per point (text too small to read on the page)."""
    header = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + struct.pack(">II", 500, 300) + b"\x08\x02\x00\x00\x00" + b"\x00" * 4
    phys = struct.pack(">I", 9) + b"pHYs" + struct.pack(">IIB", round(64 / 0.0254), round(64 / 0.0254), 1)
    png = base64.b64encode(header + phys).decode()
    assert round(on_page_px_per_point(png), 2) == 0.89
    wide = base64.b64encode(header.replace(struct.pack(">II", 500, 300), struct.pack(">II", 1460, 300)) + phys).decode()
    assert round(on_page_px_per_point(wide), 3) == round(64 / 72 * 0.5, 3)


#: The longest code line, in characters, that the page's code column shows on one line (its code is
#: 12 px, ``site_static/tables.css``; a longer line wraps there, and would be cut in Jupyter or Colab).
MAX_CODE_COLUMNS = 88


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_code_lines_fit_the_page(path):
    """A reader sees the whole of every code line (``black --line-length 88`` wraps code; comments and
    long strings are wrapped by hand)."""
    long = [(i, line.rstrip("\n")) for i, cell in enumerate(_cells(path)) for line in cell["source"]
            if len(line.rstrip("\n")) > MAX_CODE_COLUMNS]
    assert not long, f"{path.name}: {len(long)} code lines over {MAX_CODE_COLUMNS} columns, first: cell {long[0][0]}: {long[0][1]!r}"
