"""The front desk's pages, under /desk/ (namespace "desk")."""

from django.urls import path

from bookings import desk_views as views
from bookings import series_views
from bookings.urls import IsoDateConverter  # noqa: F401  (registers the isodate converter)

app_name = "desk"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("patients/", views.patients, name="patients"),
    path("patients/new/", views.patient_new, name="patient_new"),
    path("patients/<int:pk>/", views.patient, name="patient"),
    path("patients/<int:pk>/edit/", views.patient_edit, name="patient_edit"),
    path("book/", views.book, name="book"),
    path(
        "book/doctors/<int:doctor_id>/first-available/",
        views.first_available_with,
        name="first_available",
    ),
    path("book/doctors/<int:doctor_id>/clinics/<int:clinic_id>/", views.calendar, name="calendar"),
    path(
        "book/doctors/<int:doctor_id>/clinics/<int:clinic_id>/<isodate:day>/",
        views.day,
        name="day",
    ),
    path(
        "book/doctors/<int:doctor_id>/clinics/<int:clinic_id>/confirm/",
        views.confirm,
        name="confirm",
    ),
    path(
        "book/doctors/<int:doctor_id>/clinics/<int:clinic_id>/series/",
        series_views.desk_series,
        name="book_series",
    ),
    path("series/<int:pk>/", series_views.desk_series_detail, name="series"),
    path(
        "appointments/<int:pk>/cancel-series/",
        series_views.desk_cancel_series,
        name="cancel_series",
    ),
    path("appointments/<int:pk>/", views.appointment, name="appointment"),
    path("appointments/<int:pk>/check-in/", views.check_in, name="check_in"),
    path(
        "appointments/<int:pk>/confirm-attendance/",
        views.confirm_attendance,
        name="confirm_attendance",
    ),
    path("appointments/<int:pk>/cancel/", views.cancel, name="cancel"),
    path("appointments/<int:pk>/reschedule/", views.reschedule, name="reschedule"),
    path(
        "appointments/<int:pk>/reschedule/<isodate:day>/",
        views.reschedule_day,
        name="reschedule_day",
    ),
    path(
        "appointments/<int:pk>/reschedule/confirm/",
        views.reschedule_confirm,
        name="reschedule_confirm",
    ),
]
