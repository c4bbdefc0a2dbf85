"""Swagger UI and Redoc render in Chromium under the portal's Content-Security-Policy, from the
portal's own static files, with no policy violation."""

import pytest
from django.conf import settings
from django.urls import reverse
from selenium.webdriver.common.by import By

from clinic.tests.browser import open_page, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Installed before any page script runs (through the DevTools protocol, which the page's policy
# does not govern): every violation the browser reports is kept for the test to read.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (event) => {
  window.__cspViolations.push(event.violatedDirective + ' ' + event.blockedURI);
});
"""


@pytest.fixture
def recording_browser(fresh_browser):
    script = fresh_browser.execute_cdp_cmd(
        "Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_VIOLATIONS}
    )
    yield fresh_browser
    fresh_browser.execute_cdp_cmd(
        "Page.removeScriptToEvaluateOnNewDocument", {"identifier": script["identifier"]}
    )
    # Off the page before the live server stops, so nothing it still fetches reaches a server
    # (and a database) that the test has torn down.
    fresh_browser.get("about:blank")


def violations(driver):
    return driver.execute_script("return window.__cspViolations || null;")


def loaded_from_elsewhere(driver, live_server_url):
    urls = driver.execute_script(
        "return performance.getEntriesByType('resource').map((entry) => entry.name);"
    )
    return [url for url in urls if not url.startswith(live_server_url)]


def shows(selector, text):
    def condition(driver):
        return any(text in element.text for element in driver.find_elements(*selector))

    return condition


def test_swagger_ui_renders_the_operations_without_csp_violations(recording_browser, live_server):
    driver = recording_browser
    open_page(driver, live_server.url + reverse("api:docs"))
    title = settings.SPECTACULAR_SETTINGS["TITLE"]
    wait_until(driver, shows((By.CSS_SELECTOR, ".swagger-ui .info .title"), title), "the title")
    wait_until(
        driver,
        shows((By.CSS_SELECTOR, ".opblock-summary-path"), "/api/v1/doctors/"),
        "the doctors operation",
    )
    assert violations(driver) == []
    assert loaded_from_elsewhere(driver, live_server.url) == []


def test_redoc_renders_without_csp_violations(recording_browser, live_server):
    driver = recording_browser
    open_page(driver, live_server.url + reverse("api:redoc"))
    title = settings.SPECTACULAR_SETTINGS["TITLE"]
    wait_until(driver, shows((By.CSS_SELECTOR, "h1"), title), "the title", timeout=15)
    wait_until(driver, shows((By.CSS_SELECTOR, "h2"), "me"), "an operation", timeout=15)
    assert violations(driver) == []
    # Nothing but Redocly's logo comes from elsewhere (api.docs.REDOC_CSP says why).
    elsewhere = loaded_from_elsewhere(driver, live_server.url)
    assert all(url.startswith("https://cdn.redoc.ly/") for url in elsewhere), elsewhere
