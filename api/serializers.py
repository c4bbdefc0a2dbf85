"""How the clinic's structure and the caller's login look in JSON."""

from rest_framework import serializers

from accounts.roles import roles_of
from api.permissions import doctor_of, patient_of
from doctors.models import Department, Doctor

HH_MM = "%H:%M"


class DepartmentSerializer(serializers.ModelSerializer):
    opens_at = serializers.TimeField(format=HH_MM)
    closes_at = serializers.TimeField(format=HH_MM)
    bookable_doctors = serializers.IntegerField(
        source="doctor_count", read_only=True, help_text="Doctors a patient can book now."
    )

    class Meta:
        model = Department
        fields = ["id", "name", "description", "opens_at", "closes_at", "bookable_doctors"]


class DepartmentRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Department
        fields = ["id", "name"]


class ClinicRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    time_zone = serializers.CharField(source="timezone", help_text="IANA zone, e.g. Asia/Kolkata")


class DoctorSerializer(serializers.ModelSerializer):
    department = DepartmentRefSerializer()
    clinics = serializers.SerializerMethodField(help_text="Where the doctor sees patients.")

    class Meta:
        model = Doctor
        fields = [
            "id",
            "full_name",
            "department",
            "qualifications",
            "consultation_fee",
            "slot_minutes",
            "clinics",
        ]

    @staticmethod
    def _clinics(doctor):
        # From the prefetched working hours: no query per doctor.
        clinics = {row.clinic_id: row.clinic for row in doctor.working_hours.all()}
        return sorted(clinics.values(), key=lambda clinic: clinic.name)

    def get_clinics(self, doctor) -> list[dict]:
        return ClinicRefSerializer(self._clinics(doctor), many=True).data


class DoctorFilterSerializer(serializers.Serializer):
    department = serializers.PrimaryKeyRelatedField(
        queryset=Department.objects.all(), required=False
    )


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    email = serializers.EmailField()
    full_name = serializers.CharField()
    roles = serializers.SerializerMethodField(help_text="Role names, e.g. Patient, Front desk.")
    patient_id = serializers.SerializerMethodField(
        help_text="The login's own entry in the patient directory, if a patient."
    )
    doctor_id = serializers.SerializerMethodField(help_text="The login's doctor, if a doctor.")

    def get_roles(self, user) -> list[str]:
        return sorted(roles_of(user).names)

    def get_patient_id(self, user) -> int | None:
        patient = patient_of(user)
        return patient.pk if patient else None

    def get_doctor_id(self, user) -> int | None:
        doctor = doctor_of(user)
        return doctor.pk if doctor else None


class TokenLoginSerializer(serializers.Serializer):
    email = serializers.CharField(max_length=254)
    password = serializers.CharField(max_length=4096, trim_whitespace=False)
    otp_code = serializers.CharField(
        max_length=20,
        required=False,
        help_text="Staff logins with two-factor codes: the current code, or a backup code.",
    )


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Shown this once; send it as 'Authorization: Token …'")
    token_prefix = serializers.CharField(help_text="The token's first characters, as listed.")
    expiry = serializers.DateTimeField(allow_null=True)
    user = MeSerializer()
