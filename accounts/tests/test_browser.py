"""Sign-up, log-out and log-in as a visitor does them, in headless Chromium against a live
server."""

import datetime
import re
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse
from selenium.webdriver.common.by import By

from accounts.models import Patient, User
from accounts.roles import Role
from accounts.tests.factories import DEFAULT_PASSWORD, PatientFactory
from clinic.tests.browser import (
    BOOTSTRAP_PRIMARY_BG,
    choose,
    click_and_wait_for_new_page,
    computed_style,
    error_summary,
    field_by_label,
    fill,
    messages,
    nav_button,
    nav_link,
    navigation_items,
    open_page,
    submit,
    type_date,
    wait_for_heading,
)

pytestmark = [
    pytest.mark.browser,
    # live_server needs a transactional database, which is emptied after each test. The role
    # groups come from a data migration, so serialized_rollback puts them back for each test.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PASSWORD = "Violet-Harbour-2718"
HOME_HEADING = f"Welcome to {settings.CLINIC_NAME}"
LOGGED_OUT_NAVIGATION = {"Log in", "Sign up"}
PATIENT_NAVIGATION = {"My details", "Log out"}


def fill_signup_form(browser, *, email, password, password_confirmation):
    fill(browser, "Full name", "Asha Raman")
    fill(browser, "Email address", email)
    type_date(browser, "Date of birth", datetime.date(1990, 3, 15))
    choose(browser, "Sex", "Female")
    fill(browser, "Phone", "+91 98123 45678")
    fill(browser, "Password", password)
    fill(browser, "Password confirmation", password_confirmation)


def assert_logged_out_navigation(browser):
    items = set(navigation_items(browser))
    assert LOGGED_OUT_NAVIGATION <= items, items
    assert not PATIENT_NAVIGATION & items, items


def assert_patient_navigation(browser):
    items = set(navigation_items(browser))
    assert PATIENT_NAVIGATION <= items, items
    assert not LOGGED_OUT_NAVIGATION & items, items


def test_visitor_signs_up_logs_out_and_logs_back_in(live_server, fresh_browser):
    browser = fresh_browser
    email = "asha.raman@example.com"

    open_page(browser, live_server.url + reverse("home"))
    wait_for_heading(browser, HOME_HEADING)
    assert_logged_out_navigation(browser)

    click_and_wait_for_new_page(browser, nav_link(browser, "Sign up"))
    wait_for_heading(browser, "Create your account")
    assert browser.current_url == live_server.url + reverse("accounts:signup")

    fill_signup_form(browser, email=email, password=PASSWORD, password_confirmation=PASSWORD)
    submit(browser, "Create account")

    wait_for_heading(browser, "Check your email")
    assert_logged_out_navigation(browser)
    [confirmation] = [m for m in mail.outbox if m.to == [email]]
    link = re.search(r"https?://\S+", confirmation.body).group(0)
    open_page(browser, live_server.url + urlsplit(link).path)
    wait_for_heading(browser, "Confirm your account")
    fill(browser, "The password you chose when you signed up", PASSWORD)
    submit(browser, "Confirm and log in")

    wait_for_heading(browser, "My details")
    assert browser.current_url == live_server.url + reverse("accounts:profile")
    assert messages(browser) == ["Welcome! Your account is ready."]
    assert f"You log in as {email}." in browser.find_element(By.TAG_NAME, "main").text
    assert_patient_navigation(browser)

    user = User.objects.get(email=email)
    assert user.full_name == "Asha Raman"
    assert user.phone == "+919812345678"
    assert user.check_password(PASSWORD)
    assert list(user.groups.values_list("name", flat=True)) == [Role.PATIENT]
    patient = Patient.objects.get(user=user)
    assert (patient.full_name, patient.email, patient.phone) == (
        "Asha Raman",
        email,
        "+919812345678",
    )
    assert patient.date_of_birth == datetime.date(1990, 3, 15)
    assert patient.sex == Patient.Sex.FEMALE
    assert patient.created_by == user

    click_and_wait_for_new_page(browser, nav_button(browser, "Log out"))
    wait_for_heading(browser, HOME_HEADING)
    assert messages(browser) == ["You have been logged out."]
    assert_logged_out_navigation(browser)

    click_and_wait_for_new_page(browser, nav_link(browser, "Log in"))
    wait_for_heading(browser, "Log in")
    fill(browser, "Email address", email)
    fill(browser, "Password", PASSWORD)
    submit(browser, "Log in")

    wait_for_heading(browser, "Hello, Asha")
    assert browser.current_url == live_server.url + reverse("home")
    assert_patient_navigation(browser)
    assert User.objects.count() == 1
    assert Patient.objects.count() == 1


def test_signup_with_mismatching_password_confirmation_shows_errors(live_server, fresh_browser):
    browser = fresh_browser
    email = "mismatch@example.com"
    open_page(browser, live_server.url + reverse("accounts:signup"))
    wait_for_heading(browser, "Create your account")

    fill_signup_form(browser, email=email, password=PASSWORD, password_confirmation=PASSWORD + "x")
    submit(browser, "Create account")

    wait_for_heading(browser, "Create your account")
    assert browser.current_url == live_server.url + reverse("accounts:signup")
    mismatch = "The two password fields didn\u2019t match."
    assert error_summary(browser) == [f"Password confirmation: {mismatch}"]

    confirmation = field_by_label(browser, "Password confirmation")
    assert "is-invalid" in confirmation.get_attribute("class").split()
    assert confirmation.get_attribute("aria-invalid") == "true"
    field_error = browser.find_element(By.ID, "id_password2_error")
    assert field_error.is_displayed()
    assert field_error.text == mismatch
    # The visitor's other answers are kept for the second attempt.
    assert field_by_label(browser, "Email address").get_attribute("value") == email
    assert field_by_label(browser, "Date of birth").get_attribute("value") == "1990-03-15"

    assert_logged_out_navigation(browser)
    assert not User.objects.filter(email=email).exists()
    assert not Patient.objects.filter(email=email).exists()


def test_login_with_wrong_password_shows_error_and_stays_logged_out(live_server, fresh_browser):
    browser = fresh_browser
    user = PatientFactory(with_account=True).user
    open_page(browser, live_server.url + reverse("accounts:login"))
    wait_for_heading(browser, "Log in")

    fill(browser, "Email address", user.email)
    fill(browser, "Password", DEFAULT_PASSWORD + "-wrong")
    submit(browser, "Log in")

    wait_for_heading(browser, "Log in")
    assert error_summary(browser) == [
        "Please enter a correct email address and password. "
        "Note that both fields may be case-sensitive."
    ]
    assert field_by_label(browser, "Email address").get_attribute("value") == user.email
    assert_logged_out_navigation(browser)

    # The server agrees: a page for logged-in users sends the visitor to the login page.
    profile_url = reverse("accounts:profile")
    open_page(browser, live_server.url + profile_url)
    wait_for_heading(browser, "Log in")
    assert browser.current_url.startswith(live_server.url + reverse("accounts:login") + "?next=")


def test_bootstrap_from_npm_styles_the_pages(live_server, fresh_browser):
    browser = fresh_browser
    open_page(browser, live_server.url + reverse("home"))
    wait_for_heading(browser, HOME_HEADING)

    stylesheet = browser.find_element(By.CSS_SELECTOR, "link[href*='vendor/bootstrap/css']")
    assert stylesheet.get_attribute("href") == (
        live_server.url + "/static/vendor/bootstrap/css/bootstrap.min.css"
    )
    sign_up = nav_link(browser, "Sign up")
    # Without Bootstrap's CSS a link's background is transparent, rgba(0, 0, 0, 0).
    assert computed_style(browser, sign_up, "background-color") == BOOTSTRAP_PRIMARY_BG
    # The JavaScript bundle from the same package defines window.bootstrap.
    assert browser.execute_script("return typeof window.bootstrap?.Collapse") == "function"
