from django import forms
from django.contrib.auth.forms import AuthenticationForm, BaseUserCreationForm
from django.db.models import Q
from django.utils.translation import gettext, gettext_lazy

from accounts.languages import language_choices
from accounts.models import Patient, User, validate_date_of_birth
from accounts.phone import E164_HELP, normalize_phone


class TelInput(forms.TextInput):
    # A type of its own rather than a "type" attribute, which would print a second type="".
    input_type = "tel"


class PhoneField(forms.CharField):
    """Accepts the separators people type and hands the model an E.164 string to validate."""

    widget = TelInput

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 24)
        kwargs.setdefault("help_text", E164_HELP)
        super().__init__(**kwargs)

    def to_python(self, value):
        return normalize_phone(super().to_python(value))

    def widget_attrs(self, widget):
        attrs = super().widget_attrs(widget)
        attrs["autocomplete"] = "tel"
        return attrs


class DateOfBirthInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs={"autocomplete": "bday", **(attrs or {})}, format="%Y-%m-%d")


class PatientSignupForm(BaseUserCreationForm):
    """Sign-up for patients: a login plus the details the clinic needs to see them."""

    # Not fields of User, so the model's validators must be named here.
    date_of_birth = forms.DateField(
        label=gettext_lazy("Date of birth"),
        widget=DateOfBirthInput,
        validators=[validate_date_of_birth],
    )
    sex = Patient._meta.get_field("sex").formfield(label=gettext_lazy("Sex"))
    phone = PhoneField(required=False, label=gettext_lazy("Phone"))

    class Meta:
        model = User
        fields = ("full_name", "email", "phone")
        widgets = {
            "full_name": forms.TextInput(attrs={"autocomplete": "name"}),
            "email": forms.EmailInput(attrs={"autocomplete": "email"}),
        }
        labels = {"full_name": gettext_lazy("Full name")}

    field_order = ["full_name", "email", "date_of_birth", "sex", "phone", "password1", "password2"]

    def clean_email(self):
        return User.objects.normalize_email(self.cleaned_data["email"])

    def _get_validation_exclusions(self):
        # Whether the address is taken must not show on the page (that would tell anyone who is
        # registered): the model's unique check and constraint on it are left to the database,
        # and the sign-up view answers a taken address by email to its owner.
        return super()._get_validation_exclusions() | {"email"}


class SignupConfirmForm(forms.Form):
    """The confirm page's one question: a link alone (forwarded, or fetched by a mail scanner)
    must not finish a sign-up, only whoever chose the password may."""

    password = forms.CharField(
        label=gettext_lazy("The password you chose when you signed up"),
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class EmailLoginForm(AuthenticationForm):
    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.fields["username"].widget.input_type = "email"


class LanguageField(forms.TypedChoiceField):
    """A language the portal offers (accounts.languages), or blank: the default."""

    def __init__(self, *, blank_label, **kwargs):
        kwargs.setdefault("label", gettext_lazy("Language"))
        super().__init__(
            choices=lambda: language_choices(blank_label=str(blank_label)),
            required=False,
            empty_value="",
            **kwargs,
        )


class PatientProfileForm(forms.ModelForm):
    phone = PhoneField(required=False, label=gettext_lazy("Phone"))
    language = LanguageField(
        blank_label=gettext_lazy("As my browser asks"),
        help_text=gettext_lazy("The language of these pages and of the messages we send you."),
    )

    class Meta:
        model = Patient
        fields = (
            "full_name",
            "date_of_birth",
            "sex",
            "phone",
            "email_reminders",
            "sms_reminders",
            "language",
        )
        widgets = {
            "full_name": forms.TextInput(attrs={"autocomplete": "name"}),
            "date_of_birth": DateOfBirthInput,
        }
        # The model's own names for these are not marked for translation (that would need a
        # migration); the labels here are the same words, marked.
        labels = {
            "full_name": gettext_lazy("Full name"),
            "date_of_birth": gettext_lazy("Date of birth"),
            "sex": gettext_lazy("Sex"),
        }


class AccountDetailsForm(forms.ModelForm):
    """For staff and doctors, who have a login but no patient record."""

    phone = PhoneField(required=False, label=gettext_lazy("Phone"))
    language = LanguageField(
        blank_label=gettext_lazy("As my browser asks"),
        help_text=gettext_lazy("The language of these pages."),
    )

    class Meta:
        model = User
        fields = ("full_name", "phone", "language")
        widgets = {"full_name": forms.TextInput(attrs={"autocomplete": "name"})}
        labels = {"full_name": gettext_lazy("Full name")}


class DirectoryPatientForm(forms.ModelForm):
    """A patient added or corrected by the front desk (walk-in and phone patients need no login).

    Adding someone whose name and date of birth or phone match a patient already in the
    directory is held back once with a warning (`possible_duplicates`, linked on the page): a
    second record splits a patient's history. Ticking "add anyway" adds a true namesake.
    """

    phone = PhoneField(required=False, label=gettext_lazy("Phone"))
    # A tick box only once the warning shows (see clean); until then nothing to confirm.
    add_anyway = forms.BooleanField(
        required=False,
        widget=forms.HiddenInput,
        label=gettext_lazy("This is a different person: add them anyway"),
    )

    language = LanguageField(
        blank_label=gettext_lazy("The clinic's default"),
        help_text=gettext_lazy("The language of the emails and text messages sent to the patient."),
    )

    class Meta:
        model = Patient
        fields = ("full_name", "date_of_birth", "sex", "phone", "email", "language")
        widgets = {"date_of_birth": DateOfBirthInput}
        labels = {
            "full_name": gettext_lazy("Full name"),
            "date_of_birth": gettext_lazy("Date of birth"),
            "sex": gettext_lazy("Sex"),
            "email": gettext_lazy("Email"),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.possible_duplicates = []
        if self.instance.pk is not None:
            del self.fields["add_anyway"]  # correcting a record adds no one

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("phone") and not cleaned.get("email"):
            raise forms.ValidationError(
                gettext(
                    "Give a phone number or an email address, so the clinic can reach the patient."
                ),
                code="no_contact",
            )
        if "add_anyway" in self.fields and not cleaned.get("add_anyway"):
            self.possible_duplicates = self._same_name_and_birthday_or_phone(cleaned)
            if self.possible_duplicates:
                self.fields["add_anyway"].widget = forms.CheckboxInput()
                raise forms.ValidationError(
                    gettext(
                        "This patient may be in the directory already: the same name with the "
                        'same date of birth or phone. Open their record below, or tick "This is '
                        'a different person" to add them anyway.'
                    ),
                    code="possible_duplicate",
                )
        return cleaned

    @staticmethod
    def _same_name_and_birthday_or_phone(cleaned):
        name = " ".join((cleaned.get("full_name") or "").split())
        same = Q()
        if cleaned.get("date_of_birth"):
            same |= Q(date_of_birth=cleaned["date_of_birth"])
        if cleaned.get("phone"):
            same |= Q(phone=cleaned["phone"])
        if not name or not same:
            return []
        return list(Patient.objects.filter(same, full_name__iexact=name).order_by("pk")[:5])

    def patient_details(self):
        """The patient's own fields from the cleaned data (without the confirmation)."""
        return {name: self.cleaned_data[name] for name in self._meta.fields}


class PatientSearchForm(forms.Form):
    query = forms.CharField(
        label=gettext_lazy("Name, phone or email"),
        min_length=2,
        max_length=100,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
