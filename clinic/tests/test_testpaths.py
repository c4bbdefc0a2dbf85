"""Every app's tests run: an app whose tests folder pytest.ini's testpaths leaves out would never
be tested by `make test` or CI, and nothing would say so."""

import configparser
from pathlib import Path

from django.conf import settings


def test_every_tests_folder_is_in_the_test_paths():
    config = configparser.ConfigParser()
    config.read(Path(settings.BASE_DIR, "pytest.ini"))
    testpaths = set(config["pytest"]["testpaths"].split())
    folders = {
        path.parent.parent.name for path in Path(settings.BASE_DIR).glob("*/tests/__init__.py")
    }
    assert folders - testpaths == set()
