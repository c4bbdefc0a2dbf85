"""The patient directory over the API: add a patient (no login needed), read one, find some.

Front desk, clinic admins and integrations (a login with the Front desk role) reach every
patient; a patient reads only their own record (another's answers 404). Searches are POSTed, so
names, phone numbers and email addresses never appear in URLs or access logs.
"""

from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import services
from accounts.audit import record_view, record_views
from accounts.forms import DirectoryPatientForm, PatientSearchForm
from accounts.models import Patient
from accounts.roles import Role
from accounts.selectors import SEARCH_LIMIT, search_patients
from api.errors import error_body
from api.idempotency import idempotent
from api.permissions import HasRole, IsFrontDesk, is_staff, patient_of
from api.schema import ERROR_COMPONENT


class PatientSerializer(serializers.ModelSerializer):
    has_login = serializers.BooleanField(
        source="has_account", read_only=True, help_text="Whether the patient has a login."
    )

    class Meta:
        model = Patient
        fields = ["id", "full_name", "date_of_birth", "sex", "phone", "email", "has_login"]


class NewPatientSerializer(serializers.Serializer):
    """The body's types only: the directory's own form (accounts.forms.DirectoryPatientForm)
    then applies its rules (a phone or an email, the phone's format, the duplicate warning)."""

    full_name = serializers.CharField(max_length=150)
    date_of_birth = serializers.DateField(input_formats=["iso-8601"], help_text="YYYY-MM-DD")
    sex = serializers.ChoiceField(choices=Patient.Sex.choices)
    phone = serializers.CharField(
        required=False, allow_blank=True, max_length=24, help_text="E.164, e.g. +919812345678"
    )
    email = serializers.CharField(required=False, allow_blank=True, max_length=254)
    confirm_different = serializers.BooleanField(
        required=False,
        default=False,
        help_text=(
            "true to add the patient although the directory holds someone with the same name "
            "and date of birth or phone (after a 409 possible_duplicate)."
        ),
    )


class SearchSerializer(serializers.Serializer):
    query = serializers.CharField(
        max_length=100,
        help_text="A phone number (any separators), an email address or a part of a name.",
    )


class SearchResultSerializer(serializers.Serializer):
    results = PatientSerializer(many=True)
    truncated = serializers.BooleanField(
        help_text=f"More than {SEARCH_LIMIT} matched: narrow the search."
    )


DUPLICATE_RESPONSE = OpenApiResponse(
    response={"$ref": f"#/components/schemas/{ERROR_COMPONENT}"},
    description=(
        "possible_duplicate: the directory may hold this patient already (same name and date "
        "of birth or phone). `error.possible_duplicates` lists their ids; read them, or send "
        "again with confirm_different: true to add a different person of the same name."
    ),
    examples=[
        OpenApiExample(
            "A likely duplicate",
            value={
                "error": {
                    "code": "possible_duplicate",
                    "message": "This patient may be in the directory already: ...",
                    "fields": {},
                    "possible_duplicates": [41],
                }
            },
        )
    ],
)


def _form_data(data):
    """The form's view of the validated body: strings, as an HTML form would post them."""
    form_data = {
        "full_name": data["full_name"],
        "date_of_birth": data["date_of_birth"].isoformat(),
        "sex": data["sex"],
        "phone": data.get("phone", ""),
        "email": data.get("email", ""),
    }
    if data["confirm_different"]:
        form_data["add_anyway"] = "on"
    return form_data


def _form_errors(form):
    return {
        ("non_field_errors" if name == "__all__" else name): list(messages)
        for name, messages in form.errors.items()
    }


class PatientCreate(APIView):
    permission_classes = [IsFrontDesk]

    @extend_schema(
        summary="Add a patient to the directory",
        description=(
            "A patient without a login (a walk-in or phone patient), as the front desk adds "
            "them. A phone or an email address is required. If the directory may already hold "
            "them, nothing is added and the answer is 409 `possible_duplicate` with the ids."
        ),
        request=NewPatientSerializer,
        responses={201: PatientSerializer, 409: DUPLICATE_RESPONSE},
        examples=[
            OpenApiExample(
                "A walk-in patient",
                value={
                    "full_name": "Asha Rao",
                    "date_of_birth": "1984-02-29",
                    "sex": "female",
                    "phone": "+91 98123 45678",
                },
                request_only=True,
            )
        ],
    )
    @idempotent(one_transaction=True)
    def post(self, request):
        body = NewPatientSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        form = DirectoryPatientForm(_form_data(body.validated_data))
        if not form.is_valid():
            if form.possible_duplicates:
                error = error_body("possible_duplicate", form.non_field_errors()[0])
                error["error"]["possible_duplicates"] = [p.pk for p in form.possible_duplicates]
                return Response(error, status=status.HTTP_409_CONFLICT)
            raise serializers.ValidationError(_form_errors(form))
        patient = services.add_directory_patient(by=request.user, **form.patient_details())
        return Response(
            PatientSerializer(patient).data,
            status=status.HTTP_201_CREATED,
            headers={"Location": reverse("api:patient", kwargs={"pk": patient.pk})},
        )


class PatientDetail(APIView):
    permission_classes = [HasRole.of(Role.PATIENT, Role.FRONT_DESK, Role.CLINIC_ADMIN)]

    @extend_schema(
        summary="A patient's record",
        description="Staff and integrations: any patient. A patient: their own record only.",
        responses=PatientSerializer,
    )
    def get(self, request, pk):
        patients = Patient.objects.all()
        if not is_staff(request.user):
            own = patient_of(request.user)
            patients = patients.filter(pk=own.pk if own else None)
        patient = get_object_or_404(patients, pk=pk)
        record_view(patient)
        return Response(PatientSerializer(patient).data)


class PatientSearch(APIView):
    permission_classes = [IsFrontDesk]

    @extend_schema(
        summary="Find patients by phone, email or name",
        description=(
            "POSTed so that personal details stay out of URLs and logs. A phone number matches "
            "by its digits; anything else matches names and email addresses. At most "
            f"{SEARCH_LIMIT} results, by name; `truncated` says more matched. Changes no record; "
            "each patient listed is recorded as viewed in the audit trail."
        ),
        request=SearchSerializer,
        responses=SearchResultSerializer,
        examples=[OpenApiExample("By phone", value={"query": "98123 45678"}, request_only=True)],
    )
    def post(self, request):
        body = SearchSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        form = PatientSearchForm(body.validated_data)
        if not form.is_valid():
            raise serializers.ValidationError(_form_errors(form))
        found = search_patients(form.cleaned_data["query"])
        # The records listed enter the audit trail as viewed, as on the desk's search page.
        record_views(found[:SEARCH_LIMIT])
        return Response(
            {
                "results": PatientSerializer(found[:SEARCH_LIMIT], many=True).data,
                "truncated": len(found) > SEARCH_LIMIT,
            }
        )
