"""The waitlist's pages.

Patients: join the waitlist (from a department's or a doctor's booking page, or when no time is
free), see and withdraw their entries, and open an offer: through the link in its message
(/waitlist/offers/<token>/, which asks them to log in) or from "My waitlist". An offer page books
the time with the normal confirm form through the offer's hold, or declines it (the next patient
in line is offered it). Anyone else, and a wrong, lapsed or used link, gets one page that says
nothing about any patient or offer.

Front desk and clinic admins (waitlist.change_waitlistentry): the whole waitlist with its open
offers, adding a directory patient (with or without a login), withdrawing. Doctors see the
entries waiting for them, read-only. Other logins get 404.
"""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.db.models import Prefetch, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import Patient
from bookings import pricing
from bookings.services import BookingError, SlotUnavailable
from bookings.views import patient_required
from doctors.models import Department, Doctor
from waitlist import links, services
from waitlist.forms import DeskEntryForm, DeskFilterForm, EntryForm, OfferBookingForm
from waitlist.models import ACTIVE_ENTRY_STATES, OfferState, WaitlistEntry, WaitlistOffer

DESK_PER_PAGE = 50


def _open_offers(now):
    return Prefetch(
        "offers",
        queryset=WaitlistOffer.objects.filter(state=OfferState.OPEN, expires_at__gt=now)
        .select_related("doctor", "clinic")
        .order_by("made_at"),
        to_attr="open_offers",
    )


def _entries():
    return WaitlistEntry.objects.select_related("doctor__department", "department", "clinic")


# The patient's pages ----------------------------------------------------------------------------


@patient_required
def mine(request, patient):
    now = timezone.now()
    entries = (
        _entries()
        .filter(patient=patient)
        .prefetch_related(_open_offers(now))
        .order_by("-created_at", "-pk")
    )
    active = [entry for entry in entries if entry.state in ACTIVE_ENTRY_STATES]
    past = [entry for entry in entries if entry.state not in ACTIVE_ENTRY_STATES][:20]
    return render(request, "waitlist/mine.html", {"active": active, "past": past})


def _initial_choice(request):
    """The doctor or department the booking page sent the patient from (?doctor= / ?department=)."""
    initial = {"earliest": services.days_open_to_join()[0]}
    for name, model in (("doctor", Doctor), ("department", Department)):
        value = request.GET.get(name, "")
        if value.isdigit():
            found = model.objects.filter(pk=value).first()
            if found is not None:
                initial[name] = found
    if "doctor" in initial:
        initial["department"] = initial["doctor"].department
    return initial


@patient_required
@require_http_methods(["GET", "POST"])
def join(request, patient):
    if request.method == "POST":
        form = EntryForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.join_waitlist(patient=patient, by=request.user, **data)
            except services.WaitlistError as error:
                form.add_error(None, str(error))
            else:
                messages.success(
                    request,
                    gettext(
                        "You are on the waitlist. When a time comes free we will email or text "
                        "you a link, and keep the time for you for a while."
                    ),
                )
                return redirect("waitlist:mine")
    else:
        form = EntryForm(initial=_initial_choice(request))
    return render(request, "waitlist/join.html", {"form": form})


@patient_required
@require_POST
def withdraw(request, pk, patient):
    entry = get_object_or_404(WaitlistEntry, pk=pk, patient=patient)
    try:
        services.withdraw_entry(entry=entry, by=request.user)
    except services.WaitlistError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, gettext("You have left that waitlist."))
    return redirect("waitlist:mine")


def _not_working(request):
    response = render(request, "waitlist/offer_not_working.html", status=404)
    add_never_cache_headers(response)
    return response


def _viewing_patient(request):
    return Patient.objects.filter(user=request.user).first()


@require_http_methods(["GET", "POST"])
def offer(request, token):
    if not request.user.is_authenticated:
        # Before anything is looked up: a visitor learns nothing about the link by opening it.
        return redirect_to_login(request.get_full_path())
    now = timezone.now()
    found = links.find(token, now=now)
    patient = _viewing_patient(request)
    if found is None or patient is None or found.entry.patient_id != patient.pk:
        return _not_working(request)
    return _offer_page(request, found, patient, now)


@patient_required
@require_http_methods(["GET", "POST"])
def my_offer(request, pk, patient):
    now = timezone.now()
    found = (
        WaitlistOffer.objects.select_related("entry__patient", "doctor__department", "clinic")
        .filter(pk=pk, entry__patient=patient)
        .first()
    )
    if found is None or not found.is_open(now):
        return _not_working(request)
    return _offer_page(request, found, patient, now)


def _offer_page(request, offer, patient, now):
    form = OfferBookingForm()
    if request.method == "POST" and request.POST.get("action") == "decline":
        try:
            services.decline_offer(offer=offer, patient=patient, now=now)
        except services.OfferGone:
            return _not_working(request)
        messages.success(
            request,
            gettext("Thank you. The time goes to the next patient; you stay on the waitlist."),
        )
        return redirect("waitlist:mine")
    if request.method == "POST":
        form = OfferBookingForm(request.POST)
        if form.is_valid():
            try:
                appointment = services.book_offer(
                    offer=offer, patient=patient, by=request.user, now=now, **form.cleaned_data
                )
            except services.OfferGone:
                return _not_working(request)
            except SlotUnavailable as error:
                messages.error(request, str(error))
                return redirect("waitlist:mine")
            except BookingError as error:
                form.add_error(None, str(error))
            else:
                return redirect("bookings:booked", pk=appointment.pk)
    response = render(
        request,
        "waitlist/offer.html",
        {
            "offer": offer,
            "form": form,
            "price": pricing.quote(doctor=offer.doctor),
            "action": request.path,
        },
    )
    add_never_cache_headers(response)
    return response


# The front desk's and the doctors' pages --------------------------------------------------------


def desk_required(view):
    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.has_perm("waitlist.change_waitlistentry"):
            raise Http404("The waitlist's desk pages are for the clinic's staff.")
        return view(request, *args, **kwargs)

    return wrapper


@desk_required
def desk_list(request):
    now = timezone.now()
    filters = DeskFilterForm(request.GET or None)
    entries = _entries().select_related("patient").prefetch_related(_open_offers(now))
    state = ""
    if filters.is_valid():
        data = filters.cleaned_data
        if data["department"]:
            entries = entries.filter(
                Q(department=data["department"]) | Q(doctor__department=data["department"])
            )
        if data["doctor"]:
            entries = entries.filter(doctor=data["doctor"])
        state = data["state"]
    if state and state != "all":
        entries = entries.filter(state=state)
    elif not state:
        entries = entries.active()
    page = Paginator(entries.order_by("created_at", "pk"), DESK_PER_PAGE).get_page(
        request.GET.get("page")
    )
    offers = (
        WaitlistOffer.objects.filter(state=OfferState.OPEN, expires_at__gt=now)
        .select_related("entry__patient", "doctor", "clinic")
        .order_by("expires_at")
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "waitlist/desk_list.html",
        {
            "filters": filters,
            "page": page,
            "entries": page.object_list,
            "offers": offers,
            "querystring": query.urlencode(),
        },
    )


@desk_required
@require_http_methods(["GET", "POST"])
def desk_add(request):
    if request.method == "POST":
        form = DeskEntryForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.join_waitlist(by=request.user, **data)
            except services.WaitlistError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, gettext("The patient is on the waitlist."))
                return redirect("waitlist:desk")
    else:
        initial = _initial_choice(request)
        patient = request.GET.get("patient", "")
        if patient.isdigit():
            initial["patient"] = patient
        form = DeskEntryForm(initial=initial)
    return render(request, "waitlist/desk_add.html", {"form": form})


@desk_required
@require_POST
def desk_withdraw(request, pk):
    entry = get_object_or_404(WaitlistEntry, pk=pk)
    try:
        services.withdraw_entry(entry=entry, by=request.user)
    except services.WaitlistError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request, gettext("Waitlist entry %(number)s withdrawn.") % {"number": entry.pk}
        )
    return redirect("waitlist:desk")


@login_required
def doctor_list(request):
    doctor = Doctor.objects.active().filter(user=request.user).first()
    if doctor is None:
        raise Http404("No doctor's waitlist belongs to this login.")
    now = timezone.now()
    entries = (
        _entries()
        .select_related("patient")
        .prefetch_related(_open_offers(now))
        .active()
        .filter(Q(doctor=doctor) | Q(doctor__isnull=True, department_id=doctor.department_id))
        .order_by("created_at", "pk")
    )
    return render(request, "waitlist/doctor_list.html", {"doctor": doctor, "entries": entries})
