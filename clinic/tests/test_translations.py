"""The translation catalogues are complete, up to date with the code, and used.

msgfmt (gettext) is needed: without it these tests skip, which CI (CI=true) turns into failures.
"""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test.utils import override_settings
from django.utils import translation

from clinic import translations

needs_msgfmt = pytest.mark.skipif(
    translations.msgfmt() is None, reason="gettext's msgfmt is not installed"
)

# What `make messages` leaves out: the tests, the benchmark, installed packages.
IGNORED = [".venv/*", "node_modules/*", "staticfiles/*", "bench/*", "*/tests/*", "conftest.py"]


def test_every_language_with_a_catalogue_is_offered():
    offered = {code for code, _name in settings.LANGUAGES}
    assert {source.parent.parent.name for source in translations.catalogues()} <= offered
    assert "hi" in offered


@needs_msgfmt
@pytest.mark.parametrize("source", translations.catalogues(), ids=lambda path: path.parts[-3])
def test_every_catalogue_is_complete(source):
    counts = translations.statistics(source)
    assert counts["translated"] > 0
    assert (counts["untranslated"], counts["fuzzy"]) == (0, 0)


@needs_msgfmt
def test_every_string_marked_in_the_code_is_in_the_catalogues(tmp_path, monkeypatch):
    """makemessages over the code, on a copy of the catalogues: anything it adds is a string
    marked for translation that no translator has seen. It runs in a folder of links to the
    code, since makemessages writes to the catalogues of the folder it runs in."""
    base = Path(settings.BASE_DIR)
    skipped = {"locale", "locale-django", ".git", ".venv", "node_modules", "staticfiles", "bench"}
    for entry in base.iterdir():
        if entry.name not in skipped and (entry.is_dir() or entry.suffix == ".py"):
            (tmp_path / entry.name).symlink_to(entry)
    locale = tmp_path / "locale"
    shutil.copytree(base / "locale", locale, ignore=shutil.ignore_patterns("*.mo"))
    monkeypatch.chdir(tmp_path)
    with override_settings(LOCALE_PATHS=[str(locale)]):
        call_command(
            "makemessages",
            all=True,
            no_obsolete=True,
            add_location="file",
            symlinks=True,
            ignore_patterns=IGNORED,
            verbosity=0,
        )
    for source in sorted(locale.glob("*/LC_MESSAGES/django.po")):
        missing = subprocess.run(
            ["msgattrib", "--untranslated", "--no-wrap", str(source)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        fuzzy = subprocess.run(
            ["msgattrib", "--only-fuzzy", "--no-wrap", str(source)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        new = [line for line in (missing + fuzzy).splitlines() if line.startswith("msgid ")]
        counts = translations.statistics(source)
        assert (counts["untranslated"], counts["fuzzy"]) == (0, 0), (
            f"run `make messages` and translate, in {source.parts[-3]}: {new[1:]}"
        )


@needs_msgfmt
def test_the_hindi_catalogue_is_used():
    with translation.override("hi"):
        assert translation.gettext("Change language") == "भाषा बदलें"
    with translation.override("en-gb"):
        assert translation.gettext("Change language") == "Change language"


@needs_msgfmt
def test_django_strings_its_hindi_lacks_are_translated_by_ours():
    """Django's Hindi has no password rules (among others): locale-django/ supplies them."""
    from django.contrib.auth.password_validation import MinimumLengthValidator

    with translation.override("hi"):
        help_text = MinimumLengthValidator(8).get_help_text()
    assert re.search(r"[\u0900-\u097F]", help_text), help_text
    assert "8" in help_text
