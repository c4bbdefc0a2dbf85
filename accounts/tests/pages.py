"""Reading the portal's HTML in view tests: visible text, form controls, labels, error summary."""

from dataclasses import dataclass, field
from html import unescape
from html.parser import HTMLParser

NOT_TYPED_BY_PEOPLE = {"hidden", "submit", "button", "reset", "image"}


def page_text(response):
    return unescape(response.content.decode())


@dataclass
class Page:
    # (tag, attrs) of inputs people fill in, outside the header (its language switcher is on
    # every page)
    controls: list = field(default_factory=list)
    label_targets: set = field(default_factory=set)  # the for= of every <label>
    ids: list = field(default_factory=list)
    links: list = field(default_factory=list)  # (href, attrs) of every <a>
    main_ids: list = field(default_factory=list)
    # The error summary at the top of a form: [(href of the field's link or None, text)].
    error_summary: list = field(default_factory=list)

    def errors_for(self, field_id):
        return [text for href, text in self.error_summary if href == f"#{field_id}"]

    def general_errors(self):
        return [text for href, text in self.error_summary if href is None]


class _Reader(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.page = Page()
        self._summary_depth = 0  # >0 while inside <div id="form-errors">
        self._div_depth = 0
        self._item = None  # [href, text parts] of the <li> being read
        self._in_header = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "header":
            self._in_header += 1
        if "id" in attrs:
            self.page.ids.append(attrs["id"])
        if tag == "div":
            self._div_depth += 1
            if attrs.get("id") == "form-errors":
                self._summary_depth = self._div_depth
        if tag in ("input", "select", "textarea"):
            if attrs.get("type", "text") not in NOT_TYPED_BY_PEOPLE and not self._in_header:
                self.page.controls.append((tag, attrs))
        elif tag == "label" and attrs.get("for"):
            self.page.label_targets.add(attrs["for"])
        elif tag == "a":
            self.page.links.append((attrs.get("href"), attrs))
            if self._item is not None and self._item[0] is None:
                self._item[0] = attrs.get("href")
        elif tag == "main":
            self.page.main_ids.append(attrs.get("id"))
        elif tag == "li" and self._summary_depth:
            self._item = [None, []]

    def handle_endtag(self, tag):
        if tag == "header" and self._in_header:
            self._in_header -= 1
        if tag == "li" and self._item is not None:
            href, parts = self._item
            text = " ".join("".join(parts).split())
            if href is not None:
                # "<a href=#id_email>Email address</a>: Enter a valid email address."
                text = text.split(": ", 1)[-1]
            self.page.error_summary.append((href, text))
            self._item = None
        elif tag == "div":
            if self._summary_depth == self._div_depth:
                self._summary_depth = 0
            self._div_depth -= 1

    def handle_data(self, data):
        if self._item is not None:
            self._item[1].append(data)


def read_page(response):
    reader = _Reader()
    reader.feed(response.content.decode())
    reader.close()
    return reader.page
