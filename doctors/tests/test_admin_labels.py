"""The admin fields Django leaves without a label of their own get one (accounts.admin_labels):
each part of a date and time, and each cell of the working-hours rows on the doctor form."""

import re

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse

from accounts.admin_labels import LabelledFieldsMixin
from doctors.models import Doctor, WorkingHours
from doctors.tests.factories import DoctorFactory, WorkingHoursFactory

pytestmark = pytest.mark.django_db


def attributes_of(html, element_id):
    """The attributes of the element with `element_id`, as a dict (values unescaped enough)."""
    tag = re.search(rf'<(?:input|select)[^>]*\bid="{re.escape(element_id)}"[^>]*>', html)
    assert tag, f"no field #{element_id} on the page"
    return dict(re.findall(r'([\w-]+)="([^"]*)"', tag.group(0)))


def test_each_part_of_a_time_offs_start_and_end_has_a_name(client, clinic_admin_user):
    client.force_login(clinic_admin_user)
    html = client.get(reverse("admin:doctors_timeoff_add")).content.decode()

    assert attributes_of(html, "id_starts_at_0")["aria-label"] == "Starts at: date"
    assert attributes_of(html, "id_starts_at_1")["aria-label"] == "Starts at: time"
    assert attributes_of(html, "id_ends_at_0")["aria-label"] == "Ends at: date"
    assert attributes_of(html, "id_ends_at_1")["aria-label"] == "Ends at: time"
    # The reason has a <label> of its own and needs nothing more.
    assert "aria-label" not in attributes_of(html, "id_reason")


def test_each_cell_of_a_doctors_working_hours_rows_has_a_name(client, clinic_admin_user):
    doctor = DoctorFactory()
    WorkingHoursFactory(doctor=doctor)
    client.force_login(clinic_admin_user)
    html = client.get(reverse("admin:doctors_doctor_change", args=[doctor.pk])).content.decode()

    for row in ("0", "1"):  # the saved row and the empty one
        prefix = f"id_working_hours-{row}-"
        assert attributes_of(html, prefix + "clinic")["aria-label"] == "Clinic"
        assert attributes_of(html, prefix + "weekday")["aria-label"] == "Weekday"
        assert attributes_of(html, prefix + "starts_at")["aria-label"] == "Starts at"
        assert attributes_of(html, prefix + "ends_at")["aria-label"] == "Ends at"
    assert attributes_of(html, "id_working_hours-0-DELETE")["aria-label"] == "Delete this row"
    # The doctor's own fields keep their <label>s.
    assert "aria-label" not in attributes_of(html, "id_full_name")


def test_a_stacked_inline_keeps_its_labels(clinic_admin_user):
    """A stacked inline shows each field with its <label>, so nothing is added."""

    class StackedHours(LabelledFieldsMixin, admin.StackedInline):
        model = WorkingHours

    inline = StackedHours(Doctor, admin.site)
    request = RequestFactory().get("/")
    request.user = clinic_admin_user
    formset = inline.get_formset(request)(instance=DoctorFactory())

    form = formset.forms[0]
    assert "aria-label" not in form.fields["weekday"].widget.attrs
    assert "aria-label" not in form.fields["DELETE"].widget.attrs


def test_a_tabular_inline_without_deletion_names_its_cells(clinic_admin_user):
    class FixedHours(LabelledFieldsMixin, admin.TabularInline):
        model = WorkingHours
        can_delete = False

    inline = FixedHours(Doctor, admin.site)
    request = RequestFactory().get("/")
    request.user = clinic_admin_user
    form = inline.get_formset(request)(instance=DoctorFactory()).forms[0]

    assert form.fields["weekday"].widget.attrs["aria-label"] == "Weekday"
    assert "DELETE" not in form.fields
