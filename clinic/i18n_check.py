"""Finds text in a Django template that is not marked for translation.

Used by the test suite (clinic/tests/test_i18n_templates.py), and by anyone marking templates:
`python -m clinic.i18n_check templates/bookings/confirm.html ...` prints what is left.

What counts as text: words (two letters or more) between HTML tags, and in the attributes people
read (alt, title, aria-label, placeholder...), once every template tag and variable is taken out.
Text inside {% blocktranslate %} ... {% endblocktranslate %} and {% comment %} is marked (or not
shown); a {% translate %} tag is a tag like any other. Script and style bodies are code, not text.
A plain-text template (.txt: emails, text messages) is all text.
"""

import re
import sys
from html.parser import HTMLParser
from pathlib import Path

from django.template.base import Lexer, TokenType

PLACEHOLDER = "\x1a"  # stands for a template tag or variable: text around it is still text
WORD = re.compile(r"[A-Za-z]{2,}")
READ_ATTRIBUTES = {
    "alt",
    "title",
    "aria-label",
    "aria-description",
    "aria-roledescription",
    "aria-placeholder",
    "aria-valuetext",
    "placeholder",
    "label",
}
# Inside these, the words are for a machine (or rendered from translated strings elsewhere).
CODE_ELEMENTS = {"script", "style"}
OPENING = {"blocktranslate": "endblocktranslate", "blocktrans": "endblocktrans"}
SKIPPED = {"comment": "endcomment", "verbatim": "endverbatim"}


def _tag_name(token):
    parts = token.contents.split()
    return parts[0] if parts else ""


def _without_marked_text(source):
    """The template with every tag and variable replaced by PLACEHOLDER and the text of
    blocktranslate and comment blocks dropped."""
    pieces = []
    closing = None
    for token in Lexer(source).tokenize():
        if closing is not None:
            if token.token_type == TokenType.BLOCK and _tag_name(token) == closing:
                closing = None
            continue
        if token.token_type == TokenType.TEXT:
            pieces.append(token.contents)
            continue
        if token.token_type == TokenType.BLOCK:
            name = _tag_name(token)
            closing = OPENING.get(name) or SKIPPED.get(name)
        pieces.append(PLACEHOLDER)
    return "".join(pieces)


def _words(text):
    return " ".join(WORD.findall(text.replace(PLACEHOLDER, " ")))


class _TextFinder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found = []
        self._code_depth = 0

    def handle_starttag(self, tag, attrs):
        if tag in CODE_ELEMENTS:
            self._code_depth += 1
        for name, value in attrs:
            if name in READ_ATTRIBUTES and value and _words(value):
                self.found.append(f'{name}="{value.replace(PLACEHOLDER, "…")}"')
        is_button_value = tag == "input" and dict(attrs).get("type") in {"submit", "button"}
        value = dict(attrs).get("value")
        if is_button_value and value and _words(value):
            self.found.append(f'value="{value.replace(PLACEHOLDER, "…")}"')

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag in CODE_ELEMENTS:
            self._code_depth -= 1

    def handle_endtag(self, tag):
        if tag in CODE_ELEMENTS and self._code_depth:
            self._code_depth -= 1

    def handle_data(self, data):
        if not self._code_depth and _words(data):
            self.found.append(" ".join(data.replace(PLACEHOLDER, "…").split()))


def unmarked_text(source, *, plain_text=False):
    """The pieces of text in the template `source` that are not marked for translation."""
    text = _without_marked_text(source)
    if plain_text:
        return [
            " ".join(line.replace(PLACEHOLDER, "…").split())
            for line in text.splitlines()
            if _words(line)
        ]
    finder = _TextFinder()
    finder.feed(text)
    finder.close()
    return finder.found


def unmarked_in_file(path):
    path = Path(path)
    return unmarked_text(path.read_text(), plain_text=path.suffix == ".txt")


def main(paths):
    left = 0
    for path in paths:
        for text in unmarked_in_file(path):
            left += 1
            print(f"{path}: {text}")
    return 1 if left else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
