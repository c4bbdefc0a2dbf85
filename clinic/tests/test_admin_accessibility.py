"""WCAG 2.2 AA checks with axe-core on the Django admin, as the clinic admin and the front desk see
it, in headless Chromium against a live server.

The pages come from the admin site's registry: every changelist (plain, then searched and
filtered), add form and change form a role may open, so a model admin registered tomorrow is
checked without a line added here. Around them: the index, the report pages with their charts,
one form sent back with errors per app, and a few pages at a phone's width (390 px). Each role's
test walks all its pages in one browser session and reports every page's violations together.
The keyboard test does a clinic admin's errands with keys only, checking the focus at each stop.
"""

import datetime as dt
import importlib
import inspect

import factory
import pytest
from axes.models import AccessAttempt, AccessLog
from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.test import RequestFactory
from django.urls import clear_url_caches, reverse
from django.utils import timezone
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from accounts.tests.factories import PatientFactory, UserFactory
from bookings.models import Appointment, Status
from bookings.tests.factories import AppointmentFactory
from clinic.reporting import REPORTS
from clinic.tests.browser import (
    _axe_source,
    click_and_wait_for_new_page,
    open_page,
    press,
    press_and_wait_for_new_page,
    press_shift_tab,
    wait_until,
)
from clinic.tests.test_accessibility import PageAudit, booked_and_paid, clinic_data  # noqa: F401
from clinic.tests.test_admin import sample_objects  # noqa: F401
from doctors.models import Doctor
from doctors.tests.factories import HolidayFactory, TimeOffFactory

pytestmark = [
    pytest.mark.browser,
    # live_server needs a transactional database; the serialized rollback keeps the data
    # migrations' rows (role groups, the receipt sequence) for later tests.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PHONE_WIDTH = 390  # a common phone's width in CSS pixels, as the issue asks


class AdminAudit(PageAudit):
    """PageAudit for the admin, whose pages have no <main> heading the portal's helpers look for:
    a page that answered with an error instead of the admin page is a failure, not a pass."""

    def open(self, page_name, path, heading=None):
        open_page(self.browser, self.live_server.url + path)
        title = self.browser.title
        if "Server Error" in title or "Page not found" in title or "Not available" in title:
            self.checked.append(page_name)
            self.failures.append(f"{page_name} ({path}): answered {title!r}, not the page")
            return
        self.check(page_name)

    def save_empty(self, page_name, path):
        """Opens an add form, saves it as it is, and checks the page the errors come back on."""
        open_page(self.browser, self.live_server.url + path)
        save = self.browser.find_element(By.CSS_SELECTOR, "#content-main input[name='_save']")
        click_and_wait_for_new_page(self.browser, save)
        if not self.browser.find_elements(By.CSS_SELECTOR, ".errornote"):
            self.checked.append(page_name)
            self.failures.append(f"{page_name} ({path}): saved empty without an error")
            return
        self.check(page_name)

    def first_filter_link(self):
        """The address of the changelist's first filter choice not already chosen, or None."""
        links = self.browser.find_elements(
            By.CSS_SELECTOR, "#changelist-filter li:not(.selected) a[href^='?']"
        )
        return links[0].get_attribute("href") if links else None


@pytest.fixture
def admin_audit(live_server, fresh_browser):
    """An AdminAudit whose browser has axe-core in every page it opens, installed once through
    DevTools rather than sent again with each of the hundred-odd pages' checks."""
    installed = fresh_browser.execute_cdp_cmd(
        "Page.addScriptToEvaluateOnNewDocument", {"source": _axe_source()}
    )
    yield AdminAudit(fresh_browser, live_server)
    fresh_browser.execute_cdp_cmd(
        "Page.removeScriptToEvaluateOnNewDocument", {"identifier": installed["identifier"]}
    )


def model_admins():
    """The admin site's registry, in a stable order (app, then model)."""
    return sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


def as_request(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def admin_pages(user):
    """What `user` may open of each registered model, as (model, model_admin, urls) in order:
    urls has the changelist, the add form (if they may add) and the first row's change form (if
    there is a row they may see)."""
    request = as_request(user)
    pages = []
    for model, model_admin in model_admins():
        if not model_admin.has_view_or_change_permission(request):
            continue
        info = (model._meta.app_label, model._meta.model_name)
        urls = {"changelist": reverse("admin:{}_{}_changelist".format(*info))}
        if model_admin.has_add_permission(request):
            urls["add"] = reverse("admin:{}_{}_add".format(*info))
        row = model_admin.get_queryset(request).order_by("pk").first()
        if row is None:
            urls["change"] = None
        elif model_admin.has_view_or_change_permission(request, row):
            urls["change"] = reverse("admin:{}_{}_change".format(*info), args=[quote(row.pk)])
        pages.append((model, model_admin, urls))
    return pages


def factory_for(model):
    """The factory-boy factory its app's tests define for `model`, if any."""
    app = apps.get_app_config(model._meta.app_label)
    try:
        module = importlib.import_module(f"{app.name}.tests.factories")
    except ModuleNotFoundError:
        return None
    for _, candidate in inspect.getmembers(module, inspect.isclass):
        if issubclass(candidate, factory.django.DjangoModelFactory) and (
            candidate._meta.model is model
        ):
            return candidate
    return None


@pytest.fixture
def admin_data(sample_objects, clinic_data, front_desk_user):
    """A row of every registered model, so that each change form can be opened (test_admin's
    sample_objects, which its own test keeps complete), and a clinic's realistic records: a paid
    booking (its charge, payment, notices and audit entries), a past visit, time off, a holiday.
    A model without a sample gets a row from its app's factory if it has one."""
    doctor, clinic = clinic_data["doctor"], clinic_data["clinic"]
    patient = PatientFactory(with_account=True, full_name="Meera Iyer")
    booked_and_paid(patient=patient, doctor=doctor, clinic=clinic, desk_user=front_desk_user)
    AppointmentFactory(
        doctor=doctor,
        clinic=clinic,
        start=timezone.now() - dt.timedelta(days=20),
        status=Status.COMPLETED,
    )
    TimeOffFactory(doctor=doctor, reason="Conference")
    HolidayFactory(clinic=clinic, name="Harvest festival")
    # A model registered since sample_objects was last brought up to date: its app's factory.
    for model, _ in model_admins():
        model_factory = factory_for(model)
        if model_factory is not None and not model._default_manager.exists():
            model_factory()
    # django-axes records the address a login was tried at; the samples leave it empty.
    for model in (AccessAttempt, AccessLog):
        model.objects.update(path_info="/accounts/login/", user_agent="Firefox")
    return clinic_data


def walk_admin(audit, user):
    """Every admin page `user` can reach, checked with axe; returns the apps whose empty add form
    was sent back with errors."""
    audit.log_in(user)
    audit.open("admin index", reverse("admin:index"))
    apps_with_error_form = set()
    for model, model_admin, urls in admin_pages(user):
        label = model._meta.label
        audit.open(f"{label}: list", urls["changelist"])
        filtered = audit.first_filter_link()
        if filtered or model_admin.search_fields:
            # Searched and filtered at once: the search box, the filter sidebar with a choice
            # made, and the "0 results (n total)" line all show.
            query = filtered.split("?", 1)[1] + "&" if filtered else ""
            if model_admin.search_fields:
                query += "q=1"
            audit.open(f"{label}: list, searched and filtered", f"{urls['changelist']}?{query}")
        if "add" in urls:
            audit.open(f"{label}: add", urls["add"])
            app = model._meta.app_label
            if app not in apps_with_error_form:
                apps_with_error_form.add(app)
                audit.save_empty(f"{label}: add, sent back with errors", urls["add"])
        if urls.get("change"):
            audit.open(f"{label}: change", urls["change"])
        elif "change" in urls:
            audit.failures.append(
                f"{label}: change form not checked: no row to open. Add a sample to "
                "sample_objects in clinic/tests/test_admin.py (or a factory to the app's "
                "tests/factories.py)"
            )
    return apps_with_error_form


def test_admin_pages_meet_wcag_22_aa_for_the_clinic_admin(
    admin_audit, admin_data, clinic_admin_user, monkeypatch
):
    audit = admin_audit
    browser = audit.browser
    with_errors = walk_admin(audit, clinic_admin_user)
    # The clinic admin adds in every app that has add forms at all.
    assert {"accounts", "doctors", "notifications", "knox"} <= with_errors

    audit.open("reports", reverse("admin:reports"))
    for slug in REPORTS:
        audit.open(f"report {slug}", reverse("admin:report", kwargs={"slug": slug}))
    audit.open(
        "report with errors",
        reverse("admin:report", kwargs={"slug": "attendance"}) + "?start=2026-05-01&end=2026-04-01",
    )
    assert browser.find_elements(By.CSS_SELECTOR, ".errornote")
    # Page links: one appointment a page.
    monkeypatch.setattr(admin.site._registry[Appointment], "list_per_page", 1)
    audit.open(
        "appointments, page 2 of the list",
        reverse("admin:bookings_appointment_changelist") + "?p=2",
    )
    assert browser.find_elements(By.CSS_SELECTOR, "#changelist .paginator a")
    monkeypatch.undo()

    size = browser.get_window_size()
    browser.set_window_size(PHONE_WIDTH, 900)
    try:
        audit.open("admin index (390 px)", reverse("admin:index"))
        audit.open("appointments (390 px)", reverse("admin:bookings_appointment_changelist"))
        audit.open("add a doctor (390 px)", reverse("admin:doctors_doctor_add"))
        audit.open(
            "report attendance (390 px)", reverse("admin:report", kwargs={"slug": "attendance"})
        )
        audit.open("audit trail (390 px)", reverse("admin:auditlog_logentry_changelist"))
    finally:
        browser.set_window_size(size["width"], size["height"])
    assert len(audit.checked) > 60, audit.checked
    audit.assert_no_violations()


def test_admin_pages_meet_wcag_22_aa_for_the_front_desk(admin_audit, admin_data, front_desk_user):
    audit = admin_audit
    browser = audit.browser
    walk_admin(audit, front_desk_user)
    size = browser.get_window_size()
    browser.set_window_size(PHONE_WIDTH, 900)
    try:
        audit.open("admin index (390 px)", reverse("admin:index"))
        audit.open("appointments (390 px)", reverse("admin:bookings_appointment_changelist"))
    finally:
        browser.set_window_size(size["width"], size["height"])
    assert len(audit.checked) > 20, audit.checked
    audit.assert_no_violations()


# --- The keyboard alone ---

# One round trip per stop: what has the focus, and whether its outline shows inside the window
# (the checks of browser.assert_focus_is_visible, for the hundreds of stops on the way).
FOCUS_STOP = """
const element = document.activeElement, style = getComputedStyle(element);
const box = element.getBoundingClientRect();
const shown = element.querySelector('.select2-selection__rendered');
return {
  element, id: element.id, name: element.getAttribute('name') || '',
  text: element.innerText.trim(), href: element.getAttribute('href') || '',
  role: element.getAttribute('role') || '', className: String(element.className),
  shownChoice: shown ? shown.id : '', html: element.outerHTML.slice(0, 160),
  outlined: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0,
  inWindow: style.visibility !== 'hidden' && box.width > 0 && box.height > 0 && box.top >= 0
    && box.left >= 0 && box.bottom <= window.innerHeight && box.right <= window.innerWidth,
};
"""


def focus_stop(browser):
    """The focused element's description, failing unless its focus is outlined and in view
    (WCAG 2.4.7 focus visible, 2.4.11 focus not obscured)."""
    stop = browser.execute_script(FOCUS_STOP)
    where = f"{stop['html']} at {browser.current_url}"
    assert stop["inWindow"], f"focused but not in view: {where}"
    assert stop["outlined"], f"no visible focus outline: {where}"
    return stop


def tab_to(browser, matches, description, limit=150):
    """Presses Tab until the focused element `matches` (a focus_stop), checking the focus at
    every stop on the way; returns the stop."""
    for _ in range(limit):
        press(browser, Keys.TAB)
        stop = focus_stop(browser)
        if matches(stop):
            return stop
    raise AssertionError(f"{limit} presses of Tab never reached {description}: {stop['html']}")


def shift_tab_to(browser, matches, description, limit=150):
    for _ in range(limit):
        press_shift_tab(browser)
        stop = focus_stop(browser)
        if matches(stop):
            return stop
    raise AssertionError(f"Shift+Tab never reached {description}: {stop['html']}")


def with_id(element_id):
    return lambda stop: stop["id"] == element_id


def with_text(text):
    return lambda stop: stop["text"] == text


def type_into(browser, element_id, text):
    """Types into the field, which has the focus already (the admin's add form puts it on the
    first field) or is reached with Tab."""
    stop = focus_stop(browser)
    if stop["id"] != element_id:
        tab_to(browser, with_id(element_id), f"the field #{element_id}")
    press(browser, text)


def choose_in_autocomplete(browser, select_id, typed, option_text):
    """Tabs to an autocomplete box, opens it with Enter, types, and picks with Enter."""
    shown_choice = f"select2-{select_id}-container"
    tab_to(
        browser,
        lambda stop: stop["role"] == "combobox" and stop["shownChoice"] == shown_choice,
        f"the autocomplete box for #{select_id}",
    )
    press(browser, Keys.ENTER)
    search = wait_until(
        browser,
        lambda d: d.find_element(
            By.CSS_SELECTOR, ".select2-container--open .select2-search__field"
        ),
        "the autocomplete's search box",
    )
    assert focus_stop(browser)["element"] == search
    press(browser, typed)
    wait_until(
        browser,
        lambda d: d.find_elements(
            By.XPATH,
            "//li[contains(@class, 'select2-results__option--highlighted')]"
            f"[normalize-space()='{option_text}']",
        ),
        f"{option_text!r} to be offered",
    )
    press(browser, Keys.ENTER)
    wait_until(
        browser,
        lambda d: d.find_element(By.ID, f"select2-{select_id}-container").text == option_text,
        f"{option_text!r} to be chosen",
    )


def test_clinic_admin_filters_a_report_exports_csv_and_adds_a_doctor_with_keys_only(
    live_server, fresh_browser, admin_data, clinic_admin_user, tmp_path
):
    browser = fresh_browser
    lakeside, cardiology = admin_data["clinic"], admin_data["department"]
    browser.execute_cdp_cmd(
        "Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path)}
    )
    AdminAudit(browser, live_server).log_in(clinic_admin_user)
    open_page(browser, live_server.url + reverse("admin:report", kwargs={"slug": "attendance"}))

    # Filter the report by clinic: type the clinic's name on the closed list, then "Show".
    tab_to(browser, with_id("id_clinic"), "the clinic filter")
    press(browser, "Lakeside")
    tab_to(browser, with_text("Show"), "the Show button")
    press_and_wait_for_new_page(browser, Keys.ENTER)
    assert f"clinic={lakeside.pk}" in browser.current_url
    assert browser.find_element(By.ID, "id_clinic").get_attribute("value") == str(lakeside.pk)

    # The CSV of what the page shows.
    tab_to(browser, with_text("Download as CSV"), "the CSV link")
    press(browser, Keys.ENTER)
    csv_files = wait_until(
        browser, lambda d: list(tmp_path.glob("attendance-*.csv")), "the CSV to download"
    )
    header = csv_files[0].read_text(encoding="utf-8").splitlines()[0]
    columns = browser.find_elements(By.CSS_SELECTOR, ".report-table:first-of-type thead th")
    assert [column.get_attribute("textContent") for column in columns] == header.split(",")[1:]

    # The report table scrolls in a region of its own that takes the focus.
    table = tab_to(browser, lambda stop: "report-table" in stop["className"], "the table")
    assert table["role"] == "region"

    # Home, by the breadcrumbs (Shift+Tab back up the page), then Doctors' "Add".
    shift_tab_to(browser, with_text("Home"), "the breadcrumbs' Home link")
    press_and_wait_for_new_page(browser, Keys.ENTER)
    add_doctor = reverse("admin:doctors_doctor_add")
    tab_to(
        browser,
        lambda stop: stop["href"] == add_doctor,
        "the Add link of Doctors",
    )
    press_and_wait_for_new_page(browser, Keys.ENTER)

    type_into(browser, "id_full_name", "Kavya Raman")
    choose_in_autocomplete(browser, "id_department", "Cardio", cardiology.name)
    type_into(browser, "id_registration_number", "KMC-448812")
    type_into(browser, "id_registration_expires_on", "2031-03-31")
    type_into(browser, "id_consultation_fee", "650")
    # Monday 09:00-13:00 at Lakeside, in the first working-hours row.
    choose_in_autocomplete(browser, "id_working_hours-0-clinic", "Lakeside", lakeside.name)
    tab_to(browser, with_id("id_working_hours-0-weekday"), "the row's weekday")
    press(browser, "Monday")
    type_into(browser, "id_working_hours-0-starts_at", "09:00")
    type_into(browser, "id_working_hours-0-ends_at", "13:00")
    tab_to(browser, lambda stop: stop["name"] == "_save", "Save")
    press_and_wait_for_new_page(browser, Keys.ENTER)

    doctor = Doctor.objects.get(full_name="Kavya Raman")
    assert doctor.department == cardiology
    assert list(doctor.working_hours.values_list("clinic", "weekday", "starts_at", "ends_at")) == [
        (lakeside.pk, 0, dt.time(9), dt.time(13))
    ]


def test_a_newly_registered_model_admin_is_walked_without_a_line_added(db):
    """The walk reads the admin site's registry: a model admin registered tomorrow is checked."""
    from django.contrib.sessions.models import Session

    superuser = UserFactory(is_staff=True, is_superuser=True)
    assert Session not in [model for model, _, _ in admin_pages(superuser)]
    urlconf = importlib.import_module(settings.ROOT_URLCONF)
    admin.site.register(Session)
    try:
        # The admin's URLs are made when the URLconf is imported: made again with the newcomer.
        importlib.reload(urlconf)
        clear_url_caches()
        walked = {model: urls for model, _, urls in admin_pages(superuser)}
        expected = {
            "changelist": reverse("admin:sessions_session_changelist"),
            "add": reverse("admin:sessions_session_add"),
            "change": None,  # no row yet: the walk reports it rather than passing over it
        }
    finally:
        admin.site.unregister(Session)
        importlib.reload(urlconf)
        clear_url_caches()
    assert walked[Session] == expected
