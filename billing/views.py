"""Billing pages: a patient's payments and receipts, the front desk recording a payment, a clinic
admin refunding one, and the online payment seam.

Who may do what follows the roles' permissions (billing.add_payment for the front desk,
billing.refund_payment for clinic admins); a patient reaches only their own receipts. Anything
else answers 404, so nothing admits to existing.
"""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods, require_POST

from accounts.audit import record_view
from billing import selectors, services
from billing.forms import RecordPaymentForm, RefundForm
from billing.models import Charge, Payment
from billing.providers import PaymentNotConfirmed, configured_provider
from bookings.models import Appointment, PaymentMode, Status
from bookings.views import patient_required


def permission_or_404(permission):
    def decorator(view):
        @login_required
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.has_perm(permission):
                raise Http404("Not found.")
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


@patient_required
def my_payments(request, patient):
    return render(
        request,
        "billing/my_payments.html",
        {
            "charges": selectors.charges_of_patient(patient),
            "ledger": selectors.ledger_of_patient(patient),
            "online_available": configured_provider() is not None,
        },
    )


@login_required
def receipt(request, pk):
    try:
        entry = selectors.receipt(pk)
    except Payment.DoesNotExist:
        raise Http404("No such receipt.") from None
    patient = entry.charge.appointment.patient
    own = patient.user_id is not None and patient.user_id == request.user.pk
    if not own and not request.user.has_perm("billing.view_payment"):
        raise Http404("No such receipt.")
    record_view(entry)
    return render(
        request, "billing/receipt.html", {"entry": entry, "appointment": entry.charge.appointment}
    )


def _charge_of(appointment_pk):
    return get_object_or_404(
        Charge.objects.select_related("appointment__patient", "appointment__doctor"),
        appointment__pk=appointment_pk,
    )


@require_http_methods(["GET", "POST"])
@permission_or_404("billing.add_payment")
def record_payment(request, appointment_pk):
    charge = _charge_of(appointment_pk)
    _, _, due = services.balance(charge)
    # Nothing to take: the page says so instead of offering a form the service would refuse.
    payable = due > 0 and charge.appointment.status != Status.CANCELLED
    form = RecordPaymentForm(request.POST or None, initial={"amount": due}) if payable else None
    if request.method == "POST" and form is not None and form.is_valid():
        try:
            payment = services.record_payment(
                charge=charge,
                amount=form.cleaned_data["amount"],
                mode=form.cleaned_data["mode"],
                reference=form.cleaned_data["reference"],
                by=request.user,
            )
        except services.BillingError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                gettext("Payment recorded: receipt %(number)s. Print it below.")
                % {"number": payment.receipt_label},
            )
            return redirect("billing:receipt", pk=payment.pk)
    return render(
        request,
        "billing/record_payment.html",
        {"charge": charge, "appointment": charge.appointment, "due": due, "form": form},
    )


@require_http_methods(["GET", "POST"])
@permission_or_404("billing.refund_payment")
def refund(request, pk):
    payment = get_object_or_404(
        Payment.objects.select_related(
            "charge__appointment__patient", "charge__appointment__doctor"
        ),
        pk=pk,
        kind=Payment.Kind.PAYMENT,
    )
    left = services.refundable(payment)
    form = RefundForm(request.POST or None, initial={"amount": left if left > 0 else None})
    if request.method == "POST" and form.is_valid():
        try:
            entry = services.refund_payment(
                payment=payment,
                amount=form.cleaned_data["amount"],
                reason=form.cleaned_data["reason"],
                by=request.user,
            )
        except services.BillingError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                gettext("Refund recorded: receipt %(number)s.") % {"number": entry.receipt_label},
            )
            return redirect("billing:receipt", pk=entry.pk)
    return render(
        request,
        "billing/refund.html",
        {"payment": payment, "appointment": payment.charge.appointment, "left": left, "form": form},
    )


@require_POST
@patient_required
def pay_online(request, appointment_pk, patient):
    appointment = get_object_or_404(Appointment, pk=appointment_pk, patient=patient)
    provider = configured_provider()
    if provider is None or appointment.payment_mode != PaymentMode.ONLINE:
        messages.info(
            request,
            gettext(
                "Online payment is not available yet. Please pay at the clinic's reception; "
                "you will get a receipt there and here."
            ),
        )
        return redirect("billing:mine")
    if appointment.status == Status.CANCELLED:
        # The gateway would take the money and the return could not record it.
        messages.info(request, gettext("This appointment is cancelled; there is nothing to pay."))
        return redirect("billing:mine")
    charge = _charge_of(appointment.pk)
    _, _, due = services.balance(charge)
    if due <= 0:
        messages.info(request, gettext("Nothing is due on this appointment."))
        return redirect("billing:mine")
    return redirect(
        provider.checkout_url(
            charge=charge,
            amount=due,
            return_url=request.build_absolute_uri(reverse("billing:online_return")),
        )
    )


@patient_required
def online_return(request, patient):
    provider = configured_provider()
    if provider is None:
        raise Http404("Online payment is off.")
    try:
        charge_id, amount, reference = provider.confirm(request)
    except PaymentNotConfirmed:
        messages.error(request, gettext("The payment did not go through; nothing was taken."))
        return redirect("billing:mine")
    charge = get_object_or_404(Charge, pk=charge_id, appointment__patient=patient)
    try:
        payment = services.record_payment(
            charge=charge,
            amount=amount,
            mode=Payment.Mode.ONLINE,
            reference=reference,
            by=request.user,
        )
    except services.BillingError as error:
        messages.error(
            request,
            gettext("%(error)s Please contact the clinic about reference %(reference)s.")
            % {"error": error, "reference": reference},
        )
        return redirect("billing:mine")
    messages.success(
        request,
        gettext("Thank you, your payment is received: receipt %(number)s.")
        % {"number": payment.receipt_label},
    )
    return redirect("billing:receipt", pk=payment.pk)
