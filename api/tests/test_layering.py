"""The import direction: accounts <- doctors <- bookings <- intake <- billing <- waitlist <-
notifications <- api <- fhir.
No app's code imports a higher app; no lower app, tests included, imports the API, and none (the
API included) imports the FHIR interface; clinic/ (the project) may import all."""

import ast
from pathlib import Path

import pytest
from django.conf import settings

LAYERS = [
    "accounts",
    "doctors",
    "bookings",
    "intake",
    "billing",
    "waitlist",
    "notifications",
    "api",
    "fhir",
]
LOWER_APPS = ["accounts", "doctors", "bookings", "intake", "billing", "waitlist", "notifications"]


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


def offenders_importing(app, top_level):
    sources = list((Path(settings.BASE_DIR) / app).rglob("*.py"))
    assert sources
    return sorted(
        str(path.relative_to(settings.BASE_DIR))
        for path in sources
        if any(_is_ours(name, top_level) for name in imported_modules(path))
    )


def _is_ours(module, top_level):
    # fhir.resources is the FHIR model library, which shares its top-level name with our app.
    parts = module.split(".")
    return parts[0] == top_level and parts[:2] != ["fhir", "resources"]


@pytest.mark.parametrize("app", [*LOWER_APPS, "api"])
def test_no_lower_app_imports_the_fhir_interface(app):
    assert not offenders_importing(app, "fhir")


def test_the_fhir_interface_is_seen_when_imported(tmp_path):
    """The check above is not blind: an import of the app is found, the library's is not."""
    module = tmp_path / "module.py"
    module.write_text("import fhir.views\nfrom fhir.resources.R4B.slot import Slot\n")
    found = [name for name in imported_modules(module) if _is_ours(name, "fhir")]
    assert found == ["fhir.views"]


@pytest.mark.parametrize("app", LAYERS[:-1])
def test_no_app_code_imports_a_higher_app(app):
    """Tests of a lower app may drive the whole portal (a booking test sees the outbox row the
    booking wrote); the app's own code may not."""
    higher = LAYERS[LAYERS.index(app) + 1 :]
    code = [
        path
        for path in (Path(settings.BASE_DIR) / app).rglob("*.py")
        if "tests" not in path.relative_to(settings.BASE_DIR).parts
    ]
    assert code
    offenders = sorted(
        str(path.relative_to(settings.BASE_DIR))
        for path in code
        if any(_is_ours(name, top) for name in imported_modules(path) for top in higher)
    )
    assert not offenders
