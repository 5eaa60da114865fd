"""Helpers for the chapters: glue and HTML tables."""

import numpy as np
import pytest

from bal_utils import get_preset
from bal_utils.book import GLUED, config_table, glue, html_table, listed


def test_glue_keeps_formattable_values():
    glue("a_float", np.float64(39.15))
    glue("a_text", "dense-256, warm-start")
    assert type(GLUED["a_float"]) is float and f"{GLUED['a_float']:.1f}" == "39.1"
    assert repr(GLUED["a_text"]) == "dense-256, warm-start"  # shows without quotes in {glue:text}


def test_html_tables_escape_and_align():
    html = html_table(["name", "value"], [["a<b", "290 / 600"], ["150-epochs", 3.5]], caption="c").data
    assert "a&lt;b" in html and "<caption>c</caption>" in html
    assert '<td style="text-align:right">290 / 600</td>' in html and "<td>150-epochs</td>" in html
    assert '<td style="text-align:right">3.5</td>' in html
    assert html.count("<tr>") == 3
    table = config_table(get_preset("authors")).data
    assert "<td>dense layer width</td><td>dense_units</td>" in table
    assert "Max entropy, BALD, Variation ratios, Mean STD, Random" in table and "[" not in table
    assert "BALD: dense layer width = 256; Mean STD: weight decay c (L2 c / N on the dense layer) = 2.5" in table


def test_every_config_field_has_words_for_the_book():
    import dataclasses

    from bal_utils import Config
    from bal_utils.book import FIELD_WORDS

    assert set(FIELD_WORDS) == {f.name for f in dataclasses.fields(Config)}


def test_glue_refuses_text_that_the_page_would_show_as_a_tuple():
    with pytest.raises(ValueError, match="would show as \\(430, 490, 480\\)"):
        glue("seeds", "430, 490, 480")
    glue("seeds", listed([430, 490, 480]))  # not a literal: shown as written
    glue("count", "120")  # a number shows as itself
    assert repr(GLUED["seeds"]) == "430, 490 and 480"


def test_listed_joins_items_as_prose():
    assert listed(["4.3"]) == "4.3"
    assert listed([430, 490]) == "430 and 490"
    assert listed(["—", "490", "480"]) == "—, 490 and 480"
    with pytest.raises(ValueError, match="at least one item"):
        listed([])
