"""The main pages in Hindi: served with lang="hi", their text in Devanagari, and WCAG 2.2 AA
clean by axe-core, for a patient, the front desk and a doctor whose saved language is Hindi."""

import re

import pytest
from django.urls import reverse
from selenium.webdriver.common.by import By

from accounts.tests.factories import PatientFactory
from clinic.tests.test_accessibility import PageAudit, booked_and_paid, clinic_data  # noqa: F401 (a fixture)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

DEVANAGARI = re.compile(r"[\u0900-\u097F]")


class HindiAudit(PageAudit):
    def check(self, page_name):
        lang = self.browser.find_element(By.TAG_NAME, "html").get_attribute("lang")
        # The words around the data: a page headed by a patient's name still has Hindi below it.
        main = self.browser.find_element(By.TAG_NAME, "main").text
        hindi = len(DEVANAGARI.findall(main))
        if lang != "hi" or hindi < 20:
            self.failures.append(f"{page_name}: lang={lang!r}, {hindi} Devanagari letters")
        super().check(page_name)


@pytest.fixture
def audit(live_server, fresh_browser):
    return HindiAudit(fresh_browser, live_server)


def in_hindi(user):
    user.language = "hi"
    user.save(update_fields=["language"])
    return user


def test_a_hindi_reading_patients_pages_meet_wcag_22_aa(audit, clinic_data, front_desk_user):
    doctor, hill_road = clinic_data["doctor"], clinic_data["hill_road"]
    patient = PatientFactory(with_account=True, full_name="Rekha Sharma", language="hi")
    in_hindi(patient.user)
    earlier = booked_and_paid(
        patient=patient, doctor=doctor, clinic=hill_road, desk_user=front_desk_user
    )
    audit.log_in(patient.user)

    audit.open("booking: departments", reverse("bookings:start"))
    audit.open("booking: doctors", reverse("bookings:doctors", args=[clinic_data["department"].pk]))
    audit.open("booking: date picker", reverse("bookings:calendar", args=[doctor.pk, hill_road.pk]))
    audit.open("booking: day's times", audit.href("td.day-free a"))
    audit.open("booking: confirm", audit.href("ul[aria-label] li a"))
    audit.open("my appointments", reverse("bookings:mine"))
    audit.open("appointment detail", reverse("bookings:detail", args=[earlier.pk]))
    audit.open("cancel", reverse("bookings:cancel", args=[earlier.pk]))
    audit.open("reschedule", reverse("bookings:reschedule", args=[earlier.pk]))
    audit.open("my payments", reverse("billing:mine"))
    audit.open("my details", reverse("accounts:profile"))
    audit.assert_no_violations()


def test_hindi_reading_staff_pages_meet_wcag_22_aa(audit, clinic_data, front_desk_user):
    patient = PatientFactory(full_name="Ramesh Kumar", language="hi")
    appointment = booked_and_paid(
        patient=patient,
        doctor=clinic_data["doctor"],
        clinic=clinic_data["clinic"],
        desk_user=front_desk_user,
        day_offset=1,
    )
    audit.log_in(in_hindi(front_desk_user))
    audit.open("desk: arrivals", reverse("desk:queue"))
    audit.open("desk: patients", reverse("desk:patients"))
    audit.open("desk: patient", reverse("desk:patient", args=[patient.pk]))
    audit.open("desk: appointment", reverse("desk:appointment", args=[appointment.pk]))
    audit.open("desk: book", reverse("desk:book"))

    audit.log_in(in_hindi(clinic_data["doctor"].user))
    audit.open("doctor: day", reverse("schedule:today"))
    audit.open("doctor: week", reverse("schedule:week"))
    audit.assert_no_violations()
