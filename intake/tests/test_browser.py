"""A patient answers the intake questions in headless Chromium against a live server: from the
page shown right after booking, with a mistake first; every page meets WCAG 2.2 AA (axe)."""

import datetime as dt

import pytest
from django.urls import reverse
from selenium.webdriver.common.by import By

from bookings.tests.factories import AppointmentFactory
from bookings.tests.test_browser import log_in
from clinic.tests.browser import (
    accessibility_violations,
    describe_violations,
    error_summary,
    fill,
    open_page,
    submit,
    type_date,
    wait_for_heading,
)
from intake.models import Answer

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def pick(browser, legend, option):
    """Clicks the radio button labelled `option` in the fieldset whose legend is `legend`."""
    for fieldset in browser.find_elements(By.CSS_SELECTOR, "main fieldset"):
        if fieldset.find_element(By.TAG_NAME, "legend").text.removesuffix("*").strip() == legend:
            fieldset.find_element(By.XPATH, f".//label[normalize-space()='{option}']").click()
            return
    raise AssertionError(f"No fieldset {legend!r}")


def test_a_patient_answers_the_questions_after_booking(
    live_server, fresh_browser, patient_user, visit_type, questions
):
    appointment = AppointmentFactory(patient=patient_user.patient, visit_type=visit_type)
    booked = reverse("bookings:booked", kwargs={"pk": appointment.pk})
    open_page(fresh_browser, f"{live_server.url}{reverse('accounts:login')}?next={booked}")
    log_in(fresh_browser, patient_user)
    open_page(fresh_browser, live_server.url + booked)
    wait_for_heading(fresh_browser, "Your appointment is booked")
    problems = []
    if violations := accessibility_violations(fresh_browser):
        problems.append(describe_violations("booked", booked, violations))

    # The required yes/no question left out: the answering page says so, and keeps the rest.
    fill(fresh_browser, "What brings you in?", "Wheezing after climbing stairs")
    pick(fresh_browser, "How long has it lasted?", "Weeks")
    submit(fresh_browser, "Save answers")
    wait_for_heading(fresh_browser, "Questions before your visit")
    assert error_summary(fresh_browser) == [
        "Are you allergic to penicillin?: Please answer this question."
    ]
    if violations := accessibility_violations(fresh_browser):
        problems.append(describe_violations("answering, with an error", "", violations))
    assert not Answer.objects.exists()

    pick(fresh_browser, "Are you allergic to penicillin?", "No")
    type_date(fresh_browser, "When did it start?", dt.date(2026, 11, 20))
    submit(fresh_browser, "Save answers")
    wait_for_heading(fresh_browser, "Appointment details")
    main = fresh_browser.find_element(By.TAG_NAME, "main").text
    assert "Are you allergic to penicillin?\nNo" in main
    assert "How long has it lasted?\nWeeks" in main
    assert "20 November 2026" in main
    if violations := accessibility_violations(fresh_browser):
        problems.append(describe_violations("details with answers", "", violations))
    assert not problems, "\n\n".join(problems)
