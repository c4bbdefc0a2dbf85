"""Fixtures shared by every app's tests: role users, a headless browser, CI strictness."""

import os
import shutil

import pytest
from django.test.utils import override_settings

from accounts.roles import Role
from accounts.tests.factories import PatientFactory, UserFactory
from doctors.tests.factories import DoctorFactory

IN_CI = os.environ.get("CI", "").lower() == "true"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM = "/usr/bin/chromium"


def pytest_sessionstart(session):
    """The suite reads the compiled catalogues: build any .mo older than its .po (as `make` does),
    so that a run of pytest alone never tests yesterday's translations. In a parallel run only
    the controlling process builds them, before it starts the workers, so that no worker reads a
    catalogue another is writing."""
    from clinic.translations import compile_catalogues

    if "PYTEST_XDIST_WORKER" not in os.environ:
        compile_catalogues()


@pytest.fixture(autouse=True)
def _each_test_starts_in_the_default_language():
    """A request in Hindi leaves Hindi active in the thread (as LocaleMiddleware does between
    requests); the next test must not inherit it."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI nothing is skipped silently: a skip (no PostgreSQL, no Chromium...) is a failure."""
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"Skipped in CI, which must run everything: {report.longrepr}"


@pytest.fixture(scope="session", autouse=True)
def _fast_and_self_contained_settings():
    # Production hashes with Argon2 (deliberately slow) and serves hashed static files after
    # collectstatic; the suite needs neither to test the portal's behaviour.
    with override_settings(
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        STORAGES={
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
        WHITENOISE_AUTOREFRESH=True,
        WHITENOISE_USE_FINDERS=True,
    ):
        yield


def pytest_collection_modifyitems(config, items):
    # A transactional test without serialized rollback leaves the tables empty behind it (no
    # content types, no roles), and every transactional test after it then fails far from the
    # cause: refuse such a test at collection instead.
    careless = [
        item.nodeid
        for item in items
        if (marker := item.get_closest_marker("django_db")) is not None
        and marker.kwargs.get("transaction")
        and not marker.kwargs.get("serialized_rollback")
    ]
    if careless:
        raise pytest.UsageError(
            "Transactional tests must also set serialized_rollback=True: " + ", ".join(careless)
        )
    # Tests on the test Redis (clinic.tests.concurrency.redis_only) empty its databases at will:
    # in a parallel run (make test) they all go to one worker, one after another.
    for item in items:
        if getattr(getattr(item, "module", None), "redis_only", None) is not None:
            item.add_marker(pytest.mark.xdist_group("redis"))


@pytest.fixture(autouse=True)
def _no_stale_content_types():
    # A transactional test empties every table, content types included, and they come back with
    # new ids; a cached id from an earlier test would then point nowhere (audit entries use it).
    from django.contrib.contenttypes.models import ContentType

    ContentType.objects.clear_cache()


@pytest.fixture(autouse=True)
def _empty_cache():
    # The throttles count tries in the cache; one test's tries must not refuse the next one's.
    from django.core.cache import caches

    for cache in caches.all(initialized_only=True):
        cache.clear()
    yield


@pytest.fixture
def patient_user(db):
    return PatientFactory(with_account=True).user


@pytest.fixture
def other_patient_user(db):
    return PatientFactory(with_account=True).user


@pytest.fixture
def doctor_user(db):
    return DoctorFactory(with_account=True).user


@pytest.fixture
def front_desk_user(db):
    return UserFactory(roles=[Role.FRONT_DESK], is_staff=True)


@pytest.fixture
def clinic_admin_user(db):
    return UserFactory(roles=[Role.CLINIC_ADMIN], is_staff=True)


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium through Debian's chromedriver; one for the whole run."""
    if not (shutil.which(CHROMEDRIVER) and shutil.which(CHROMIUM)):
        pytest.skip("Chromium and chromium-driver are not installed")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-dev-shm-usage",
        "--window-size=1280,1000",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(0)
    yield driver
    driver.quit()


@pytest.fixture
def fresh_browser(browser):
    """The shared browser with no cookies left over from the previous test."""
    browser.delete_all_cookies()
    yield browser
    browser.delete_all_cookies()
