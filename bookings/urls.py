import datetime as dt

from django.urls import path, register_converter

from bookings import series_views, views


class IsoDateConverter:
    """A calendar date as YYYY-MM-DD; an impossible date (2026-02-30) matches no URL."""

    # Years 1900 to 2999 only: the ends of the calendar (year 1, 9999) overflow date arithmetic.
    regex = r"(?:19|2\d)\d{2}-\d{2}-\d{2}"

    def to_python(self, value):
        return dt.date.fromisoformat(value)

    def to_url(self, value):
        return value.isoformat() if isinstance(value, dt.date) else str(value)


register_converter(IsoDateConverter, "isodate")

app_name = "bookings"

urlpatterns = [
    path("book/", views.choose_department, name="start"),
    path("book/departments/<int:department_id>/", views.choose_doctor, name="doctors"),
    path("book/doctors/<int:doctor_id>/", views.choose_clinic, name="clinics"),
    path(
        "book/doctors/<int:doctor_id>/clinics/<int:clinic_id>/",
        views.calendar,
        name="calendar",
    ),
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
        series_views.patient_series,
        name="book_series",
    ),
    path("appointments/", views.my_appointments, name="mine"),
    path("appointments/<int:pk>/", views.detail, name="detail"),
    path("appointments/<int:pk>/booked/", views.booked, name="booked"),
    path("appointments/<int:pk>/cancel/", views.cancel, name="cancel"),
    path(
        "appointments/<int:pk>/cancel-series/",
        series_views.patient_cancel_series,
        name="cancel_series",
    ),
    path("appointments/<int:pk>/calendar.ics", views.calendar_file, name="calendar_file"),
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
