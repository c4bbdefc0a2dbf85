"""notifications 0007 can be taken back once waitlist offers have had notices: going back to 0006
(whose notices all name an appointment) forgets the offers' notices, keeps the appointments',
and the way forward works again."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from bookings.tests.factories import AppointmentFactory
from notifications.models import Notification
from notifications.tests.factories import NotificationFactory
from waitlist.tests.factories import WaitlistOfferFactory

BEFORE_OFFERS = [("notifications", "0006_sms_delivery_status")]


# Migrating back and forth needs the real schema outside a test transaction.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_going_back_before_offers_forgets_their_notices_and_keeps_the_rest():
    appointment_notice = NotificationFactory(appointment=AppointmentFactory())
    offer = WaitlistOfferFactory()
    NotificationFactory(
        appointment=None, offer=offer, kind=Notification.Kind.WAITLIST_OFFER, address="a@b.example"
    )
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()

    executor.migrate(BEFORE_OFFERS)

    old_apps = executor.loader.project_state(BEFORE_OFFERS).apps
    OldNotification = old_apps.get_model("notifications", "Notification")
    assert list(OldNotification.objects.values_list("pk", flat=True)) == [appointment_notice.pk]

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(latest)
    assert list(Notification.objects.values_list("pk", flat=True)) == [appointment_notice.pk]
