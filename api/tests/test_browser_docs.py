"""Swagger UI and Redoc render in Chromium under the portal's Content-Security-Policy, from the
portal's own static files, with no unexpected policy violation, and without one request leaving
the test's own server (read from Chromium's DevTools network events)."""

import json
import shutil
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.urls import reverse
from selenium.webdriver.common.by import By

from clinic.tests.browser import open_page, wait_until

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM = "/usr/bin/chromium"

# Installed before any page script runs (through the DevTools protocol, which the page's policy
# does not govern): every violation the browser reports is kept for the test to read.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (event) => {
  window.__cspViolations.push(event.violatedDirective + ' ' + event.blockedURI);
});
"""

# Redoc's sidebar always asks for Redocly's logo; the page's policy refuses it (api.docs says
# why), so this one violation is expected, and proves the image was stopped in the browser.
REDOC_LOGO = "img-src https://cdn.redoc.ly/redoc/logo-mini.svg"
LOCAL_SCHEMES = {"data", "blob", "about", "chrome-extension"}


@pytest.fixture(scope="module")
def network_logging_browser():
    """A Chromium of its own (the shared one keeps no network log): DevTools' network events are
    recorded as performance log entries."""
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
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(0)
    yield driver
    driver.quit()


@pytest.fixture
def recording_browser(network_logging_browser):
    driver = network_logging_browser
    script = driver.execute_cdp_cmd(
        "Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_VIOLATIONS}
    )
    driver.get_log("performance")  # what an earlier test left
    yield driver
    driver.execute_cdp_cmd(
        "Page.removeScriptToEvaluateOnNewDocument", {"identifier": script["identifier"]}
    )
    # Off the page before the live server stops, so nothing it still fetches reaches a server
    # (and a database) that the test has torn down.
    driver.get("about:blank")


def violations(driver):
    return driver.execute_script("return window.__cspViolations || null;")


def network_events(driver):
    events = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"].startswith("Network."):
            events.append(message)
    return events


def requests_elsewhere(events, live_server_url):
    """Each request for another host: (url, how it ended). Chromium reports a request that the
    page's policy stopped as failed with blockedReason "csp"; anything else went out."""
    own = urlsplit(live_server_url).netloc
    urls = {}
    for event in events:
        if event["method"] == "Network.requestWillBeSent":
            url = event["params"]["request"]["url"]
            parts = urlsplit(url)
            if parts.scheme not in LOCAL_SCHEMES and parts.netloc != own:
                urls[event["params"]["requestId"]] = url
    endings = dict.fromkeys(urls, "sent")
    for event in events:
        request_id = event["params"].get("requestId")
        if request_id in urls and event["method"] == "Network.loadingFailed":
            endings[request_id] = "blocked:" + str(event["params"].get("blockedReason"))
    return sorted((urls[request_id], ending) for request_id, ending in endings.items())


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
    # The page alone tells an integrator how to authenticate and what an error looks like.
    wait_until(
        driver, shows((By.CSS_SELECTOR, ".swagger-ui .info"), "Authorization: Token"), "auth"
    )
    assert '"error"' in driver.find_element(By.CSS_SELECTOR, ".swagger-ui .info").text
    assert violations(driver) == []
    events = network_events(driver)
    assert any(e["method"] == "Network.responseReceived" for e in events)  # the log is not blind
    assert requests_elsewhere(events, live_server.url) == []


def test_redoc_renders_without_a_request_to_another_host(recording_browser, live_server):
    driver = recording_browser
    open_page(driver, live_server.url + reverse("api:redoc"))
    title = settings.SPECTACULAR_SETTINGS["TITLE"]
    wait_until(driver, shows((By.CSS_SELECTOR, "h1"), title), "the title", timeout=15)
    wait_until(driver, shows((By.CSS_SELECTOR, "h2"), "me"), "an operation", timeout=15)
    wait_until(driver, lambda d: violations(d), "the logo's refusal", timeout=15)
    assert violations(driver) == [REDOC_LOGO]
    events = network_events(driver)
    assert any(e["method"] == "Network.responseReceived" for e in events)
    # Asked for, and stopped by the policy in the browser: nothing went out.
    for url, ending in requests_elsewhere(events, live_server.url):
        assert ending == "blocked:csp", (url, ending)
