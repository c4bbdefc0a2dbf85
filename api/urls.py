"""/api/v1/: the JSON API. Every path under it answers JSON, an unknown one included."""

from django.urls import path, re_path

from api import (
    appointments,
    billing,
    charges,
    clinic_structure,
    docs,
    errors,
    patients,
    signup,
    slots,
    views,
    visit_types,
)
from api.auth import TokenView

app_name = "api"

urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="token"),
    path("auth/signup/", signup.Signup.as_view(), name="signup"),
    path("me/", views.Me.as_view(), name="me"),
    # The clinic's structure: public reads, clinic admins' writes.
    path("departments/", clinic_structure.Departments.as_view(), name="departments"),
    path(
        "departments/<int:pk>/",
        clinic_structure.DepartmentDetail.as_view(),
        name="department",
    ),
    path("doctors/", clinic_structure.Doctors.as_view(), name="doctors"),
    path("doctors/<int:pk>/", clinic_structure.DoctorDetail.as_view(), name="doctor"),
    path(
        "doctors/<int:pk>/visit-types/",
        visit_types.DoctorVisitTypes.as_view(),
        name="doctor_visit_types",
    ),
    path(
        "doctors/<int:pk>/deactivate/",
        clinic_structure.DoctorDeactivate.as_view(),
        name="doctor_deactivate",
    ),
    # Transactions: charges, the ledger, recording a payment, refunding one.
    path("charges/", charges.Charges.as_view(), name="charges"),
    path("charges/<int:pk>/", charges.ChargeDetail.as_view(), name="charge"),
    path("payments/", billing.Payments.as_view(), name="payments"),
    path("payments/<int:pk>/", billing.PaymentDetail.as_view(), name="payment"),
    path("payments/<int:pk>/refund/", billing.Refund.as_view(), name="payment_refund"),
    path(
        "appointments/<int:appointment_pk>/payments/",
        billing.RecordPayment.as_view(),
        name="appointment_payments",
    ),
    # The appointment API: the patient directory, free slots, appointments and their changes.
    path("patients/", patients.PatientCreate.as_view(), name="patients"),
    path("patients/search/", patients.PatientSearch.as_view(), name="patient_search"),
    path("patients/<int:pk>/", patients.PatientDetail.as_view(), name="patient"),
    path("slots/", slots.SlotList.as_view(), name="slots"),
    path("appointments/", appointments.AppointmentList.as_view(), name="appointments"),
    path("appointments/<int:pk>/", appointments.AppointmentDetail.as_view(), name="appointment"),
    path(
        "appointments/<int:pk>/cancel/",
        appointments.AppointmentCancel.as_view(),
        name="appointment_cancel",
    ),
    path(
        "appointments/<int:pk>/reschedule/",
        appointments.AppointmentReschedule.as_view(),
        name="appointment_reschedule",
    ),
    path(
        "appointments/<int:pk>/check-in/",
        appointments.AppointmentCheckIn.as_view(),
        name="appointment_check_in",
    ),
    path(
        "appointments/<int:pk>/complete/",
        appointments.AppointmentComplete.as_view(),
        name="appointment_complete",
    ),
    path(
        "appointments/<int:pk>/no-show/",
        appointments.AppointmentNoShow.as_view(),
        name="appointment_no_show",
    ),
    # The schema and the pages that show it, from the sidecar's static files (no CDN).
    path("schema/", docs.SchemaView.as_view(), name="schema"),
    path("docs/", docs.SwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("redoc/", docs.RedocView.as_view(url_name="api:schema"), name="redoc"),
    # Last: whatever no endpoint above matched.
    re_path(r"^.*$", errors.not_found, name="not_found"),
]
