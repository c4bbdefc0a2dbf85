"""A visitor switches the portal to Hindi with the header's switcher in headless Chromium: the
same page comes back in Hindi (lang="hi"), stays Hindi on the next page, and a patient who logs
in keeps it on their login; switching back gives English again."""

import pytest
from django.urls import reverse
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from accounts.models import User
from accounts.tests.factories import DEFAULT_PASSWORD, PatientFactory
from clinic.tests.browser import click_and_wait_for_new_page, open_page, wait_for_heading

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def switch_to(browser, language_name):
    Select(browser.find_element(By.ID, "language-select")).select_by_visible_text(language_name)
    button = browser.find_element(By.CSS_SELECTOR, "form.language-switcher button[type='submit']")
    click_and_wait_for_new_page(browser, button)


def page_language(browser):
    return browser.find_element(By.TAG_NAME, "html").get_attribute("lang")


def test_a_visitor_switches_to_hindi_and_back(live_server, fresh_browser):
    browser = fresh_browser
    patient = PatientFactory(with_account=True)
    open_page(browser, live_server.url + reverse("doctors:departments"))
    wait_for_heading(browser, "Departments")

    switch_to(browser, "हिंदी")
    wait_for_heading(browser, "विभाग")
    assert page_language(browser) == "hi"
    assert browser.current_url == live_server.url + reverse("doctors:departments")

    open_page(browser, live_server.url + reverse("accounts:login"))
    assert page_language(browser) == "hi"
    browser.find_element(By.ID, "id_username").send_keys(patient.user.email)
    browser.find_element(By.ID, "id_password").send_keys(DEFAULT_PASSWORD)
    click_and_wait_for_new_page(
        browser, browser.find_element(By.CSS_SELECTOR, "main form button[type='submit']")
    )
    assert page_language(browser) == "hi"
    # Logged in, the choice is saved on the login: it follows the patient to any device.
    switch_to(browser, "हिंदी")
    assert User.objects.get(pk=patient.user.pk).language == "hi"

    switch_to(browser, "English")
    assert page_language(browser) == "en-gb"
    assert User.objects.get(pk=patient.user.pk).language == "en-gb"
