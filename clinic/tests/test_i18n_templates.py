"""Every template's text is marked for translation (clinic.i18n_check): words between tags and in
the attributes people read, in every page, email and text message template.

NOT_YET_MARKED lists the templates still being marked; the list only shrinks (a template on it
that has become clean fails the test, so that it comes off).
"""

from pathlib import Path

import pytest
from django.conf import settings

from clinic.i18n_check import unmarked_in_file, unmarked_text

TEMPLATES = Path(settings.BASE_DIR, "templates")

NOT_YET_MARKED = set()


def templates():
    return sorted(
        str(path.relative_to(TEMPLATES))
        for path in TEMPLATES.rglob("*")
        if path.suffix in {".html", ".txt"}
    )


@pytest.mark.parametrize("name", templates())
def test_the_templates_text_is_marked(name):
    left = unmarked_in_file(TEMPLATES / name)
    if name in NOT_YET_MARKED:
        assert left, f"{name} is marked now: take it off NOT_YET_MARKED"
    else:
        assert left == []


def test_the_checker_finds_unmarked_text_and_passes_marked_text():
    assert unmarked_text("<p>Book now</p>") == ["Book now"]
    assert unmarked_text('<button aria-label="Close">×</button>') == ['aria-label="Close"']
    assert unmarked_text('<img alt="{% translate "Logo" %}" src="{{ url }}">') == []
    assert unmarked_text('<input type="submit" value="Send">') == ['value="Send"']
    marked = (
        "{% load i18n %}<h1>{% translate 'Book now' %}</h1>"
        "<p>{% blocktranslate trimmed with n=count %}You have {{ n }} visits{% endblocktranslate %}"
        "</p><script>const label = 'not text';</script>{{ patient.full_name }} · 12:30"
    )
    assert unmarked_text(marked) == []
    assert unmarked_text("Your visit on {{ day }}", plain_text=True) == ["Your visit on …"]
    assert unmarked_text("{% comment %}Why this is so{% endcomment %}") == []
