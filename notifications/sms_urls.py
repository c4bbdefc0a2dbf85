"""The addresses Twilio calls (set the inbound one as the number's or Messaging Service's
"a message comes in" webhook, HTTP POST; the status one is given with each text)."""

from django.urls import path

from notifications import sms_views

app_name = "notifications"

urlpatterns = [
    path("sms/twilio/status/", sms_views.twilio_status, name="sms_status"),
    path("sms/twilio/inbound/", sms_views.twilio_inbound, name="sms_inbound"),
]
