"""The import direction: accounts <- doctors <- bookings <- billing <- api. No lower app imports
the API; clinic/ (the project) may."""

import ast
from pathlib import Path

import pytest
from django.conf import settings

LOWER_APPS = ["accounts", "doctors", "bookings", "billing"]


def imported_modules(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


@pytest.mark.parametrize("app", LOWER_APPS)
def test_no_lower_app_imports_the_api(app):
    sources = list((Path(settings.BASE_DIR) / app).rglob("*.py"))
    assert sources
    offenders = sorted(
        str(path.relative_to(settings.BASE_DIR))
        for path in sources
        if any(name.split(".")[0] == "api" for name in imported_modules(path))
    )
    assert not offenders
