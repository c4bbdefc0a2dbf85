"""Views for the idempotency tests: writes of departments, each a different kind of write."""

import threading

from django.db import OperationalError, transaction
from django.db.models import F
from django.urls import path
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from api.idempotency import idempotent
from bookings.services import NotAllowed
from doctors.models import Department
from doctors.tests.factories import DepartmentFactory

# The blocking view waits on `release` after setting `entered`, so a test can act meanwhile.
entered = threading.Event()
release = threading.Event()


def _create(request):
    name = request.data.get("name", "")
    if name == "refused":
        raise NotAllowed("Refused by a rule.", code="outside_window")
    if name == "fault":
        raise RuntimeError("a fault")
    if name == "unavailable":
        return Response({"detail": "down"}, status=503)
    if name == "busy":
        raise OperationalError("canceling statement due to lock timeout")
    department = DepartmentFactory(name=name)
    if request.data.get("then") == "refuse":
        raise NotAllowed("Refused after writing.", code="outside_window")
    if request.data.get("then") == "server_error":
        return Response({"detail": "down"}, status=503)
    return Response(
        {"id": department.pk, "name": department.name},
        status=status.HTTP_201_CREATED,
        headers={"Location": f"/departments/{department.pk}/"},
    )


class Durable(APIView):
    """As the booking services are: its own durable transaction."""

    permission_classes = [IsAuthenticated]

    @idempotent
    def post(self, request):
        then = request.data.get("then")
        with transaction.atomic(durable=True):
            response = _create(request)
            if then == "fault_before_commit":
                raise RuntimeError("a fault while the service's transaction is open")
        if then == "fault_after_commit":
            # As a statement time-out or a lost connection while the answer is being built.
            raise RuntimeError("a fault after the service committed")
        return response


class OneTransaction(APIView):
    permission_classes = [IsAuthenticated]

    @idempotent(one_transaction=True)
    def post(self, request):
        return _create(request)


class Blocking(APIView):
    permission_classes = [IsAuthenticated]

    @idempotent
    def post(self, request):
        entered.set()
        release.wait(30)
        return _create(request)


class Open(APIView):
    """Open to anonymous callers, who cannot use keys."""

    permission_classes = [AllowAny]

    @idempotent
    def post(self, request):
        if request.data.get("then") == "touch":
            # A bare UPDATE, outside any transaction: committed as it runs.
            Department.objects.filter(name=request.data["name"]).update(name=F("name"))
            return Response({"detail": "down"}, status=503)
        return _create(request)


urlpatterns = [
    path("open/", Open.as_view()),
    path("durable/", Durable.as_view()),
    path("one-transaction/", OneTransaction.as_view()),
    path("blocking/", Blocking.as_view()),
]
