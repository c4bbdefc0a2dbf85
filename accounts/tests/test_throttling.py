import pytest
from axes.models import AccessAttempt
from django.urls import reverse

from accounts.throttling import MAX_LENGTH, login_name


def test_the_login_name_is_compared_without_case_or_spaces():
    assert login_name(None, {"username": "  Asha@Example.COM "}) == "asha@example.com"


def test_an_over_long_login_name_is_cut_to_what_the_attempt_log_holds():
    assert len(login_name(None, {"username": "a" * 5000})) == MAX_LENGTH


@pytest.mark.django_db
@pytest.mark.parametrize("url_name", ["accounts:login", "admin:login"])
def test_a_junk_login_of_any_length_is_a_failed_login_not_an_error(client, url_name):
    response = client.post(reverse(url_name), {"username": "x" * 3000, "password": "nope"})
    assert response.status_code == 200
    assert AccessAttempt.objects.count() <= 1
