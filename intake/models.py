"""Intake questions: what a clinic asks before a visit of a given type, and the answers given.

An answer keeps the question's text (and kind) as it was when answered, so that editing or
retiring a question later changes no earlier answer. Answers are health data: they are shown
to the patient, the front desk and the appointment's doctor, exported with the patient's data
and recorded in the audit trail; never put in messages or URLs.
"""

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.formats import date_format
from django.utils.translation import gettext, gettext_lazy, pgettext_lazy

from bookings.models import Appointment
from doctors.models import VisitType


class QuestionKind(models.TextChoices):
    TEXT = "text", pgettext_lazy("kind of intake question", "Text")
    CHOICE = "choice", pgettext_lazy("kind of intake question", "Choice")
    YES_NO = "yes_no", gettext_lazy("Yes or no")
    DATE = "date", gettext_lazy("Date")


YES_NO_CHOICES = [("yes", gettext_lazy("Yes")), ("no", gettext_lazy("No"))]
MAX_CHOICES = 20


def _lines(text):
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


class Question(models.Model):
    visit_type = models.ForeignKey(
        VisitType,
        on_delete=models.CASCADE,
        related_name="intake_questions",
        verbose_name=gettext_lazy("visit type"),
    )
    text = models.CharField(gettext_lazy("question"), max_length=300)
    kind = models.CharField(
        max_length=10,
        choices=QuestionKind.choices,
        default=QuestionKind.TEXT,
        verbose_name=gettext_lazy("kind"),
    )
    choices = models.TextField(
        blank=True,
        help_text=gettext_lazy("For a choice question only: one choice per line (at least two)."),
        verbose_name=gettext_lazy("choices"),
    )
    required = models.BooleanField(
        default=False,
        help_text=gettext_lazy("The patient must answer it."),
        verbose_name=gettext_lazy("required"),
    )
    position = models.PositiveSmallIntegerField(
        default=0,
        help_text=gettext_lazy("Lower numbers are asked first."),
        verbose_name=gettext_lazy("position"),
    )
    active = models.BooleanField(
        default=True,
        help_text=gettext_lazy("Inactive questions are no longer asked; earlier answers stay."),
        verbose_name=gettext_lazy("active"),
    )

    class Meta:
        verbose_name = gettext_lazy("question")
        verbose_name_plural = gettext_lazy("questions")
        ordering = ["position", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=QuestionKind.values), name="intake_question_kind_known"
            ),
        ]

    def __str__(self):
        return self.text

    def choice_list(self):
        return _lines(self.choices) if self.kind == QuestionKind.CHOICE else []

    def clean(self):
        choices = _lines(self.choices)
        if self.kind == QuestionKind.CHOICE:
            if len(choices) < 2:
                raise ValidationError(
                    {"choices": gettext("Give at least two choices, one per line.")}
                )
            if len(choices) > MAX_CHOICES:
                raise ValidationError(
                    {"choices": gettext("Give at most %(count)s choices.") % {"count": MAX_CHOICES}}
                )
            if len({choice.casefold() for choice in choices}) != len(choices):
                raise ValidationError({"choices": gettext("Each choice must be different.")})
            if any(len(choice) > 200 for choice in choices):
                raise ValidationError(
                    {"choices": gettext("Keep each choice under 200 characters.")}
                )
            self.choices = "\n".join(choices)
        elif choices:
            raise ValidationError({"choices": gettext("Only a choice question has choices.")})


class Answer(models.Model):
    appointment = models.ForeignKey(
        Appointment, on_delete=models.CASCADE, related_name="intake_answers"
    )
    # Kept when the question is deleted: the answer stands with the text it was given to.
    question = models.ForeignKey(
        Question, on_delete=models.SET_NULL, null=True, blank=True, related_name="answers"
    )
    question_text = models.CharField(max_length=300)
    kind = models.CharField(max_length=10, choices=QuestionKind.choices)
    position = models.PositiveSmallIntegerField(default=0)
    # Text as typed; a choice as offered; "yes"/"no"; a date as YYYY-MM-DD.
    value = models.TextField()
    answered_at = models.DateTimeField()
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=gettext_lazy("The patient, or the front desk for them."),
    )

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["appointment", "question"], name="intake_answer_once_per_question"
            ),
        ]

    def __str__(self):
        # No answer and no question text here: this is what the audit trail's lists show.
        return f"Intake answer {self.pk} (appointment {self.appointment_id})"

    @property
    def display_value(self):
        if self.kind == QuestionKind.YES_NO:
            # A plain str (in the active language): exports serialise it.
            return str(dict(YES_NO_CHOICES).get(self.value, self.value))
        if self.kind == QuestionKind.DATE:
            try:
                day = dt.date.fromisoformat(self.value)
                return date_format(day, "j F Y")
            except ValueError:
                return self.value
        return self.value
