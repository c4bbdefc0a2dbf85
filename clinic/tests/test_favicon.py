"""The portal's own icon: linked from every page (the portal's and the admin's), and answered at
/favicon.ico, which browsers ask for by themselves (a 404 there was logged on every visit)."""

import logging
import re
import xml.etree.ElementTree as ET

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

ICON_LINK = re.compile(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">')


def icon_url(response):
    match = ICON_LINK.search(response.content.decode())
    assert match, "no icon link on the page"
    return match.group(1)


def fetched(client, url):
    response = client.get(url)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response, body


@pytest.mark.parametrize(
    ("who", "url_name"),
    [
        (None, "home"),
        (None, "accounts:login"),
        ("patient_user", "accounts:profile"),
        (None, "admin:login"),
        ("clinic_admin_user", "admin:index"),
    ],
)
def test_every_page_links_the_icon_and_it_is_served(client, request, who, url_name):
    if who:
        client.force_login(request.getfixturevalue(who))
    page = client.get(reverse(url_name))
    assert page.status_code == 200

    icon, body = fetched(client, icon_url(page))

    assert icon.status_code == 200
    assert icon["Content-Type"].startswith("image/svg+xml")
    svg = ET.fromstring(body)
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    assert svg.get("viewBox")


def test_favicon_ico_leads_to_the_icon_without_a_404_in_the_log(client, caplog):
    caplog.set_level(logging.INFO)

    response = client.get("/favicon.ico")

    assert response.status_code in (301, 302)
    icon, _ = fetched(client, response["Location"])
    assert icon.status_code == 200
    assert icon["Content-Type"].startswith("image/svg+xml")
    assert response["Location"] == icon_url(client.get(reverse("home")))
    assert not [record for record in caplog.records if "Not Found" in record.getMessage()]
