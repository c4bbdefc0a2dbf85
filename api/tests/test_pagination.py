"""The paginator refuses what it cannot read instead of guessing (found by schemathesis)."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from api.pagination import MAX_PAGE_SIZE
from doctors.tests.factories import DepartmentFactory

pytestmark = pytest.mark.django_db


def departments(query):
    return APIClient().get(reverse("api:departments") + "?" + query)


@pytest.mark.parametrize(
    "query",
    [
        "page_size=abc",
        "page_size=0",
        "page_size=-1",
        "page_size=1e2",
        "page_size=" + "9" * 5000,
        "page_size=",
        "page_size=٣",
    ],
)
def test_a_page_size_that_is_no_whole_number_from_1_is_a_field_error(query):
    response = departments(query)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and list(error["fields"]) == ["page_size"]


@pytest.mark.parametrize("name", ["page", "page_size"])
def test_a_paging_parameter_given_twice_is_a_field_error(name):
    response = departments(f"{name}=1&{name}=2")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {name: ["Give this parameter once."]}


def test_a_whole_page_size_is_honoured_and_a_big_one_capped():
    DepartmentFactory.create_batch(3)
    assert len(departments("page_size=2").json()["results"]) == 2
    assert len(departments(f"page_size={MAX_PAGE_SIZE * 10}").json()["results"]) == 3


def test_the_schema_says_paging_starts_at_1(client):
    schema = client.get(reverse("api:schema")).json()
    parameters = schema["paths"]["/api/v1/departments/"]["get"]["parameters"]
    by_name = {parameter["name"]: parameter for parameter in parameters}
    assert by_name["page"]["schema"]["minimum"] == 1
    assert by_name["page_size"]["schema"]["minimum"] == 1
    assert str(MAX_PAGE_SIZE) in by_name["page_size"]["description"]
