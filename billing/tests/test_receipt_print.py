"""A printed receipt is the receipt alone: the site's navigation, skip link, footer and page
messages are marked not to print (checked in headless Chromium with print media emulated)."""

import pytest
from django.urls import reverse
from selenium.webdriver.common.by import By

from billing import services
from billing.models import Payment
from billing.tests.factories import ChargeFactory
from billing.tests.test_browser import log_in
from clinic.tests.browser import computed_style, open_page, wait_for_heading

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def printed(browser, css_selector):
    """Whether the first element matching `css_selector` takes part in the printed page."""
    element = browser.find_element(By.CSS_SELECTOR, css_selector)
    return browser.execute_script(
        "for (let node = arguments[0]; node; node = node.parentElement) {"
        "  if (getComputedStyle(node).display === 'none') return false;"
        "}"
        "return true;",
        element,
    )


def test_the_printed_receipt_leaves_out_the_navigation(browser, live_server, front_desk_user):
    payment = services.record_payment(
        charge=ChargeFactory(), amount="590.00", mode=Payment.Mode.CASH, by=front_desk_user
    )
    log_in(browser, live_server, front_desk_user)
    open_page(browser, live_server.url + reverse("billing:receipt", kwargs={"pk": payment.pk}))
    wait_for_heading(browser, f"Receipt {payment.receipt_label}")
    assert printed(browser, "nav[aria-label='Main']")  # on screen, the navigation is there

    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        assert not printed(browser, "nav[aria-label='Main']")
        assert not printed(browser, ".skip-link")
        assert not printed(browser, "body > footer")
        assert not printed(browser, "[data-print]")
        assert printed(browser, "main h1")
        assert printed(browser, "main .receipt header")  # the receipt's own letterhead stays
        assert (
            computed_style(browser, browser.find_element(By.TAG_NAME, "main"), "display") != "none"
        )
    finally:
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
