from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone

from doctors import selectors
from doctors.forms import DoctorFilterForm
from doctors.models import Doctor

DOCTORS_PER_PAGE = 20


def department_list(request):
    departments = selectors.departments_with_doctor_counts()
    return render(request, "doctors/department_list.html", {"departments": departments})


def doctor_list(request):
    form = DoctorFilterForm(request.GET or None)
    filters = {}
    if form.is_bound:
        # A bad filter is reported on the form and left out; the valid ones still apply, as
        # the page shows them in the form.
        form.is_valid()
        filters = form.cleaned_data
    doctors = selectors.doctor_directory(
        department=filters.get("department"), name=filters.get("name", "")
    )
    page = Paginator(doctors, DOCTORS_PER_PAGE).get_page(request.GET.get("page"))
    querystring = request.GET.copy()
    querystring.pop("page", None)
    return render(
        request,
        "doctors/doctor_list.html",
        {"form": form, "page": page, "filter_querystring": querystring.urlencode()},
    )


def doctor_detail(request, pk):
    try:
        doctor = selectors.public_doctor(pk)
    except Doctor.DoesNotExist:
        raise Http404("No such doctor.") from None
    clinics = selectors.clinics_of(doctor)
    now = timezone.now()
    return render(
        request,
        "doctors/doctor_detail.html",
        {
            "doctor": doctor,
            "schedule": selectors.weekly_schedule(doctor),
            "clinics": clinics,
            # Judged on each clinic's own date, as the booking pages judge it.
            "takes_bookings": any(
                selectors.takes_bookings_at(doctor, clinic, now) for clinic in clinics
            ),
        },
    )
