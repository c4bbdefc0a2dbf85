"""A doctor's own pages, under /schedule/ (namespace "schedule")."""

from django.urls import path

from bookings import doctor_views as views
from bookings.urls import IsoDateConverter  # noqa: F401  (registers the isodate converter)

app_name = "schedule"

urlpatterns = [
    path("", views.today, name="today"),
    path("day/<isodate:day>/", views.day, name="day"),
    path("week/", views.week, name="week"),
    path("week/<isodate:day>/", views.week, name="week_of"),
    path("appointments/<int:pk>/", views.appointment, name="appointment"),
    path(
        "appointments/<int:pk>/<slug:action>/",
        views.transition,
        name="transition",
    ),
    path("time-off/", views.time_off, name="time_off"),
    path("time-off/<int:pk>/remove/", views.remove_time_off, name="remove_time_off"),
    path("hours/", views.working_hours, name="hours"),
    path("calendar-feed/", views.calendar_feed, name="calendar_feed"),
    path("feed/<str:token>.ics", views.feed, name="feed"),
]
