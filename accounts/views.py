from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views.decorators.http import require_POST
from django.views.generic import FormView

from accounts import services
from accounts.forms import (
    DUPLICATE_EMAIL,
    AccountDetailsForm,
    EmailLoginForm,
    PatientProfileForm,
    PatientSignupForm,
)
from accounts.models import Patient
from accounts.roles import landing_url


class SignupView(FormView):
    template_name = "accounts/signup.html"
    form_class = PatientSignupForm

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            return redirect("home")
        return super().dispatch(request, *args, **kwargs)

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            user = services.register_patient(
                email=data["email"],
                password=data["password1"],
                full_name=data["full_name"],
                date_of_birth=data["date_of_birth"],
                sex=data["sex"],
                phone=data["phone"],
            )
        except services.EmailAlreadyRegistered:
            form.add_error("email", DUPLICATE_EMAIL)
            return self.form_invalid(form)
        login(self.request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(self.request, "Welcome! Your account is ready.")
        return redirect("accounts:profile")


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
        messages.info(request, "You have been logged out.")
        return response


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:profile")

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, "Your password has been changed.")
        return response


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "accounts/password_reset_form.html"
    email_template_name = "accounts/email/password_reset.txt"
    subject_template_name = "accounts/email/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")

    @property
    def extra_email_context(self):
        return {"clinic_name": settings.CLINIC_NAME}


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")


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
            messages.success(request, "Your details have been saved.")
            return redirect("accounts:profile")
    else:
        form = PatientProfileForm(request.POST or None, instance=patient)
        if request.method == "POST" and form.is_valid():
            services.update_patient_profile(patient=patient, **form.cleaned_data)
            messages.success(request, "Your details have been saved.")
            return redirect("accounts:profile")
    return render(request, "accounts/profile.html", {"form": form, "patient": patient})


@require_POST
@login_required
def logout_everywhere(request):
    """Ends every session of this login, on every device, this one included."""
    services.end_all_sessions(user=request.user)
    logout(request)
    messages.info(request, "You have been logged out on every device.")
    return redirect("accounts:login")
