"""A patient's sign-up over the API, as on the sign-up page: the page's own form, the same
service, the same email, the same throttles, and the same answer whether or not the address
already has an account (a stranger must not learn who is registered; the address's owner reads
the difference in their inbox). The login works once its owner opens the emailed link and types
the password chosen here; a new sign-up of an address never confirmed replaces the earlier one.
"""

from django.conf import settings
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import signup
from accounts.forms import PatientSignupForm
from accounts.models import Patient
from accounts.ratelimits import refuse_if_too_many
from api.errors import ApiError
from api.formdata import cleaned

SENT = (
    "We have sent a message to the address you gave. Open the link in it and type your "
    "password to confirm your address and start using your account. The link works for a few "
    "hours."
)
# The form's two password fields are the API's one.
RENAME = {"password1": "password", "password2": "password"}


class IsAnonymous(BasePermission):
    message = "You are logged in already; sign-up is for new patients."

    def has_permission(self, request, view):
        return not (request.user and request.user.is_authenticated)


class SignupSerializer(serializers.Serializer):
    """What the sign-up page asks (accounts.forms.PatientSignupForm validates it)."""

    full_name = serializers.CharField(max_length=150)
    email = serializers.EmailField(max_length=254)
    date_of_birth = serializers.DateField(help_text="YYYY-MM-DD; not in the future.")
    sex = serializers.ChoiceField(choices=Patient.Sex.choices)
    phone = serializers.CharField(
        required=False, allow_blank=True, max_length=24, help_text="E.164, e.g. +919812345678."
    )
    password = serializers.CharField(
        max_length=4096,
        trim_whitespace=False,
        help_text="Checked by the same rules as on the sign-up page (length, not common, not "
        "like your name or address).",
    )


class SignupSentSerializer(serializers.Serializer):
    message = serializers.CharField()


def _too_many(request, email):
    refused = refuse_if_too_many(
        request._request,
        form="signup",
        address=email if isinstance(email, str) else "",
        per_address=settings.THROTTLE_FORMS_PER_ADDRESS,
    )
    if refused is not None:
        raise ApiError(
            "Too many sign-ups from here or for this address. Try again later.",
            code="throttled",
            status_code=status.HTTP_429_TOO_MANY_REQUESTS,
            headers={"Retry-After": refused["Retry-After"]},
        )


class Signup(APIView):
    permission_classes = [IsAnonymous]

    @extend_schema(
        summary="Sign up as a patient",
        description="Creates a patient's login, inactive until its owner opens the link "
        "emailed to the address and types this password on the page it opens. The answer is "
        "the same (202) whether or not the address already has an account: its owner is told "
        "by email instead. A sign-up of an address whose earlier sign-up was never confirmed "
        "replaces that one's password and details, and only the new link works. Counted by "
        "the sign-up page's throttles (THROTTLE_FORMS_PER_ADDRESS per address, "
        "THROTTLE_FORMS_PER_IP per client address): over them, 429 `throttled` with "
        "Retry-After. Not for a caller that is logged in (403).",
        request=SignupSerializer,
        responses={202: SignupSentSerializer},
        auth=[],
        examples=[
            OpenApiExample(
                "A new patient",
                value={
                    "full_name": "Asha Rao",
                    "email": "asha@example.com",
                    "date_of_birth": "1990-04-21",
                    "sex": "female",
                    "phone": "+919812345678",
                    "password": "a long passphrase of yours",
                },
                request_only=True,
            )
        ],
    )
    def post(self, request):
        body = request.data
        _too_many(request, body.get("email", "") if isinstance(body, dict) else "")
        signup.sign_up(request._request, cleaned(PatientSignupForm, body, rename=RENAME))
        return Response({"message": SENT}, status=status.HTTP_202_ACCEPTED)
