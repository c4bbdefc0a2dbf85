"""The one-click links in messages (bookings.link_views), under /links/ (namespace "links")."""

from django.urls import path

from bookings import link_views

app_name = "links"

urlpatterns = [
    # Any characters up to the slash: a token that is not one is refused as a wrong link, on the
    # same page as every other, not with the portal's own "page not found".
    path("<str:token>/", link_views.open_link, name="open"),
]
