"""The intake form: one field per question of the appointment's visit type."""

import datetime as dt

from django import forms
from django.utils.translation import gettext_lazy

from intake.models import YES_NO_CHOICES, QuestionKind

# Dates outside these years are typing mistakes (and overflow date arithmetic at the ends).
SANE_YEARS = (1900, 2999)
MAX_TEXT_LENGTH = 2000

REQUIRED_MESSAGE = gettext_lazy("Please answer this question.")
CHOOSE_OFFERED_MESSAGE = gettext_lazy("Choose one of the answers offered.")


class IntakeDateField(forms.DateField):
    input_formats = ["%Y-%m-%d"]
    default_error_messages = {"invalid": gettext_lazy("Enter a real date, such as 2030-01-31.")}

    def to_python(self, value):
        day = super().to_python(value)
        if day is not None and not SANE_YEARS[0] <= day.year <= SANE_YEARS[1]:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return day


def field_name(question):
    return f"question_{question.pk}"


def _field_for(question):
    common = {"label": question.text, "required": question.required}
    if question.kind == QuestionKind.CHOICE:
        choices = [(choice, choice) for choice in question.choice_list()]
        return forms.ChoiceField(choices=choices, widget=forms.RadioSelect, **common)
    if question.kind == QuestionKind.YES_NO:
        return forms.ChoiceField(choices=YES_NO_CHOICES, widget=forms.RadioSelect, **common)
    if question.kind == QuestionKind.DATE:
        return IntakeDateField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    return forms.CharField(
        max_length=MAX_TEXT_LENGTH, widget=forms.Textarea(attrs={"rows": 3}), **common
    )


class IntakeForm(forms.Form):
    """Built from `questions`; `answers` (the saved ones) fill it in to start with."""

    def __init__(self, *args, questions, answers=(), **kwargs):
        self.questions = list(questions)
        saved = {answer.question_id: answer.value for answer in answers}
        super().__init__(*args, **kwargs)
        for question in self.questions:
            field = _field_for(question)
            field.error_messages["required"] = REQUIRED_MESSAGE
            if isinstance(field, forms.ChoiceField):
                field.error_messages["invalid_choice"] = CHOOSE_OFFERED_MESSAGE
            name = field_name(question)
            self.fields[name] = field
            if question.pk in saved:
                self.initial[name] = saved[question.pk]

    def answers(self):
        """{question: value as text} of the cleaned form; "" for a question left unanswered."""
        result = {}
        for question in self.questions:
            value = self.cleaned_data.get(field_name(question))
            if isinstance(value, dt.date):
                value = value.isoformat()
            result[question] = value or ""
        return result
