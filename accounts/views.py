from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import urlsafe_base64_decode
from django.utils.translation import gettext
from django.views import i18n as i18n_views
from django.views.decorators.http import require_POST
from django.views.generic import FormView, TemplateView

from accounts import languages, services, signup
from accounts.forms import (
    AccountDetailsForm,
    EmailLoginForm,
    PatientProfileForm,
    PatientSignupForm,
    SignupConfirmForm,
)
from accounts.models import Patient, User
from accounts.ratelimits import refuse_if_too_many
from accounts.roles import landing_url


class SignupView(FormView):
    template_name = "accounts/signup.html"
    form_class = PatientSignupForm

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            return redirect("home")
        refused = refuse_if_too_many(
            request,
            form="signup",
            address=request.POST.get("email", ""),
            per_address=settings.THROTTLE_FORMS_PER_ADDRESS,
        )
        return refused or super().dispatch(request, *args, **kwargs)

    def next_url(self):
        """The page that sent the visitor here (a booking's confirm step, say), if on this site."""
        return signup.safe_next(
            self.request, self.request.POST.get("next") or self.request.GET.get("next")
        )

    def get_context_data(self, **kwargs):
        return super().get_context_data(next=self.next_url(), **kwargs)

    def form_valid(self, form):
        # The same page whether or not the address was taken; its owner reads the difference
        # in their inbox.
        signup.sign_up(self.request, form.cleaned_data, self.next_url())
        return redirect("accounts:signup_sent")


class SignupSentView(TemplateView):
    template_name = "accounts/signup_sent.html"


class SignupConfirmView(FormView):
    """The link from the confirmation email. Opening it only shows a form: mail scanners that
    fetch links must not confirm (or log in) on the owner's behalf, and the password chosen at
    sign-up must be typed, so that a link forwarded or sent to someone else confirms nothing."""

    template_name = "accounts/signup_confirm.html"
    form_class = SignupConfirmForm

    def dispatch(self, request, *args, uidb64, token, **kwargs):
        self.token = token
        self.user = self._pending_user(uidb64, token)
        refused = refuse_if_too_many(
            request,
            form="signup-confirm",
            address=self.user.email if self.user is not None else "",
            per_address=settings.THROTTLE_FORMS_PER_ADDRESS,
        )
        return refused or super().dispatch(request, *args, **kwargs)

    def _link_is_valid(self, user):
        return signup.signup_token.check_token(user, self.token)

    def _pending_user(self, uidb64, token):
        try:
            pk = urlsafe_base64_decode(uidb64).decode()
            user = User.objects.get(pk=pk)
        except (TypeError, ValueError, OverflowError, UnicodeDecodeError, User.DoesNotExist):
            return None
        if services.is_awaiting_confirmation(user) and self._link_is_valid(user):
            return user
        return None

    def next_url(self):
        return signup.safe_next(
            self.request, self.request.POST.get("next") or self.request.GET.get("next")
        )

    def get_context_data(self, **kwargs):
        next_url = self.next_url()
        # Whole addresses, so that the page's sentences hold their links without template logic
        # a translator would have to keep.
        query = f"?{urlencode({'next': next_url})}" if next_url else ""
        return super().get_context_data(
            validlink=self.user is not None,
            next=next_url,
            signup_again_url=reverse("accounts:signup") + query,
            login_url=reverse("accounts:login") + query,
            **kwargs,
        )

    def post(self, request, *args, **kwargs):
        if self.user is None:
            return self.get(request, *args, **kwargs)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        try:
            user = services.confirm_patient_login(
                user=self.user,
                password=form.cleaned_data["password"],
                link_is_valid=self._link_is_valid,
            )
        except services.WrongSignupPassword:
            form.add_error(
                "password",
                gettext(
                    "That is not the password chosen when this account was signed up. Nothing "
                    "was confirmed."
                ),
            )
            return self.form_invalid(form)
        except services.ConfirmationRefused:
            self.user = None
            return self.get(self.request)
        login(self.request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(self.request, gettext("Welcome! Your account is ready."))
        return redirect(self.next_url() or "accounts:profile")


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = EmailLoginForm
    redirect_authenticated_user = True

    def get_default_redirect_url(self):
        """Without a ?next=, each role lands where its work starts."""
        return landing_url(self.request.user)


class LogoutView(auth_views.LogoutView):
    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        messages.info(request, gettext("You have been logged out."))
        return response


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:profile")

    def form_valid(self, form):
        response = super().form_valid(form)
        services.password_changed(user=form.user)
        messages.success(self.request, gettext("Your password has been changed."))
        return response


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "accounts/password_reset_form.html"
    email_template_name = "accounts/email/password_reset.txt"
    subject_template_name = "accounts/email/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")

    def dispatch(self, request, *args, **kwargs):
        refused = refuse_if_too_many(
            request,
            form="password-reset",
            address=request.POST.get("email", ""),
            per_address=settings.THROTTLE_FORMS_PER_ADDRESS,
        )
        return refused or super().dispatch(request, *args, **kwargs)

    @property
    def extra_email_context(self):
        return {"clinic_name": settings.CLINIC_NAME}


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")

    def form_valid(self, form):
        response = super().form_valid(form)
        services.password_changed(user=form.user)
        return response


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"


@login_required
def profile(request):
    """A patient edits their directory entry; other users edit their account details."""
    patient = Patient.objects.filter(user=request.user).first()
    if patient is None:
        form = AccountDetailsForm(request.POST or None, instance=request.user)
        if request.method == "POST" and form.is_valid():
            form.save()
            messages.success(request, gettext("Your details have been saved."))
            return redirect("accounts:profile")
    else:
        form = PatientProfileForm(request.POST or None, instance=patient)
        if request.method == "POST" and form.is_valid():
            services.update_patient_profile(patient=patient, **form.cleaned_data)
            messages.success(request, gettext("Your details have been saved."))
            return redirect("accounts:profile")
    return render(request, "accounts/profile.html", {"form": form, "patient": patient})


@require_POST
@login_required
def logout_everywhere(request):
    """Ends every session of this login, on every device, this one included."""
    services.end_all_sessions(user=request.user)
    logout(request)
    messages.info(request, gettext("You have been logged out on every device."))
    return redirect("accounts:login")


@require_POST
def set_language(request):
    """The header's language switcher: Django's own (the language cookie, then back to the page),
    and for a logged-in user the choice saved on their login (and on their patient record), so
    the pages, and the messages sent to a patient, follow it everywhere."""
    code = languages.supported(request.POST.get("language"))
    if code is None:
        # Django's view would set the cookie for any language Django itself knows ("fr").
        request.POST = request.POST.copy()
        request.POST.pop("language", None)
    response = i18n_views.set_language(request)
    if code and request.user.is_authenticated:
        services.save_language(user=request.user, language=code)
    return response
