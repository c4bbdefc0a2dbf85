"""The visit types a doctor offers, so that an app can offer the same choice as the booking pages
and then search slots for one (`/api/v1/slots/?visit_type=`), book one, or move a visit into one.

The choice is the pages' own (bookings.visit_type_choice.offered_types): visitors, patients and
doctors get the active types bookable online, the front desk, clinic admins and integrations
every active type. Each comes with its price as a booking of it would be charged now
(bookings.pricing, billing's quote): no money rule is written here.
"""

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from api.errors import ApiError
from api.permissions import is_staff
from bookings import pricing
from bookings.visit_type_choice import offered_types
from doctors.models import Doctor, VisitType


class QuoteSerializer(serializers.Serializer):
    currency = serializers.CharField()
    fee = serializers.DecimalField(max_digits=10, decimal_places=2)
    gst = serializers.DecimalField(max_digits=10, decimal_places=2)
    total = serializers.DecimalField(max_digits=10, decimal_places=2)


class VisitTypeSerializer(serializers.ModelSerializer):
    price = serializers.SerializerMethodField(
        help_text="What a booking of this type with this doctor is charged now (the type's fee, "
        "or the doctor's, with GST); the charge is fixed when the visit is booked."
    )

    class Meta:
        model = VisitType
        fields = [
            "id",
            "name",
            "minutes",
            "buffer_before_minutes",
            "buffer_after_minutes",
            "mode",
            "bookable_online",
            "patients_may_book_series",
            "price",
        ]

    @extend_schema_field(QuoteSerializer(allow_null=True))
    def get_price(self, visit_type):
        quoted = pricing.quote(doctor=self.context["doctor"], visit_type=visit_type)
        return QuoteSerializer(quoted).data if quoted is not None else None


class DoctorVisitTypes(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        summary="The visit types a doctor offers",
        description=(
            "The doctor's active visit types (their department's and their own) in the order "
            "the booking pages list them, the first being the pages' default. Public, as the "
            "doctor's page: visitors, patients and doctors get the types patients may book "
            "online; the front desk, clinic admins and integrations every active type. An "
            "empty list means the doctor is booked in plain slots (`slot_minutes`, the "
            "doctor's fee). 404 for an unknown or inactive doctor."
        ),
        responses=VisitTypeSerializer(many=True),
    )
    def get(self, request, pk):
        try:
            doctor = Doctor.objects.active().get(pk=pk)
        except Doctor.DoesNotExist:
            raise ApiError(
                "No such doctor.", code="not_found", status_code=status.HTTP_404_NOT_FOUND
            ) from None
        types = offered_types(doctor, online_only=not is_staff(request.user))
        serializer = VisitTypeSerializer(types, many=True, context={"doctor": doctor})
        return Response(serializer.data)
