"""The translation catalogues: where they are, building the .mo files, checking their state.

The .po files in locale/<language>/LC_MESSAGES/ are the sources (committed); the .mo files are
built from them with gettext's msgfmt by `make` and at the start of a test run, never committed.
"""

import re
import shutil
import subprocess
from pathlib import Path

from django.conf import settings


def catalogues():
    """Every language's catalogue source: the portal's (locale/hi/LC_MESSAGES/django.po) and our
    translations of Django's own strings its catalogue lacks (locale-django/...)."""
    return sorted(
        source
        for folder in ("locale", "locale-django")
        for source in Path(settings.BASE_DIR, folder).glob("*/LC_MESSAGES/*.po")
    )


def msgfmt():
    """The path of gettext's msgfmt, or None when gettext is not installed."""
    return shutil.which("msgfmt")


def compile_catalogues():
    """Builds each .mo older than its .po. Without msgfmt, nothing (the tests that need the
    catalogues then say so)."""
    tool = msgfmt()
    if tool is None:
        return
    for source in catalogues():
        compiled = source.with_suffix(".mo")
        if not compiled.exists() or compiled.stat().st_mtime < source.stat().st_mtime:
            subprocess.run([tool, "--check", "-o", str(compiled), str(source)], check=True)


STATISTICS = re.compile(r"(\d+) (translated|fuzzy|untranslated) messages?")


def statistics(source):
    """msgfmt's counts for a catalogue: {"translated": n, "fuzzy": n, "untranslated": n}."""
    result = subprocess.run(
        [msgfmt(), "--check", "--statistics", "-o", "/dev/null", str(source)],
        capture_output=True,
        text=True,
        check=True,
    )
    counts = {"translated": 0, "fuzzy": 0, "untranslated": 0}
    for number, kind in STATISTICS.findall(result.stderr):
        counts[kind] = int(number)
    return counts
