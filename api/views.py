"""The public reads of the clinic's structure, and the caller's own login."""

from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from api.serializers import (
    DepartmentSerializer,
    DoctorFilterSerializer,
    DoctorSerializer,
    MeSerializer,
)
from doctors import selectors
from doctors.models import WorkingHours


class DepartmentList(generics.ListAPIView):
    """Departments in name order, each with the number of doctors a patient can book now."""

    permission_classes = [AllowAny]
    serializer_class = DepartmentSerializer

    def get_queryset(self):
        return selectors.departments_with_doctor_counts()


@extend_schema(
    parameters=[
        OpenApiParameter("department", int, description="Only this department's doctors."),
    ]
)
class DoctorList(generics.ListAPIView):
    """The doctors a patient can book now (active, registration valid), as the booking pages
    list them, by name."""

    permission_classes = [AllowAny]
    serializer_class = DoctorSerializer

    def get_queryset(self):
        filters = DoctorFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        doctors = selectors.bookable_doctors().select_related("department")
        department = filters.validated_data.get("department")
        if department is not None:
            doctors = doctors.filter(department=department)
        hours = WorkingHours.objects.select_related("clinic").only(
            "doctor_id", "clinic__id", "clinic__name", "clinic__timezone"
        )
        return doctors.prefetch_related(Prefetch("working_hours", queryset=hours)).order_by(
            "full_name", "pk"
        )


class Me(APIView):
    """The login making the request: its roles, and its patient or doctor record if any."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=MeSerializer)
    def get(self, request):
        return Response(MeSerializer(request.user).data)
