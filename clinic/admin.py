from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, QueryDict
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from accounts.spreadsheets import SafeWriter

REPORTS_PERMISSION = "bookings.view_reports"


class ClinicAdminSite(admin.AdminSite):
    """The staff back office, titled for the clinic that runs the portal, with its reports."""

    @property
    def site_header(self):
        return gettext("%(clinic)s administration") % {"clinic": settings.CLINIC_NAME}

    @property
    def site_title(self):
        return gettext("%(clinic)s admin") % {"clinic": settings.CLINIC_NAME}

    index_title = gettext_lazy("Clinic management")

    def get_urls(self):
        return [
            path("reports/", self.admin_view(self.reports_index), name="reports"),
            path("reports/<slug:slug>/", self.admin_view(self.report), name="report"),
            *super().get_urls(),
        ]

    def autocomplete_view(self, request):
        # Django's autocomplete answers for any relation whose target has a search, whatever the
        # form shows; only the fields an admin offers it on may use it, so that a person, chosen
        # by number elsewhere, is never searched by what is typed (which would be in the address).
        if (
            request.GET.get("app_label"),
            request.GET.get("model_name"),
            request.GET.get("field_name"),
        ) not in self._autocompleted_fields():
            raise PermissionDenied(gettext("No autocomplete is offered for this field."))
        return super().autocomplete_view(request)

    def _autocompleted_fields(self):
        offered = set()
        for model_admin in self._registry.values():
            for owner in [model_admin, *model_admin.inlines]:
                opts = owner.model._meta
                offered |= {
                    (opts.app_label, opts.model_name, name) for name in owner.autocomplete_fields
                }
        return offered

    def each_context(self, request):
        context = super().each_context(request)
        context["can_view_reports"] = request.user.has_perm(REPORTS_PERMISSION)
        return context

    def _check_reports_permission(self, request):
        if not request.user.has_perm(REPORTS_PERMISSION):
            raise PermissionDenied(gettext("Reports are for clinic admins."))

    def reports_index(self, request):
        from clinic.reporting import REPORTS

        self._check_reports_permission(request)
        return TemplateResponse(
            request,
            "admin/reports/index.html",
            {
                **self.each_context(request),
                "title": gettext("Reports"),
                "reports": REPORTS.values(),
            },
        )

    def report(self, request, slug):
        from clinic.reporting import REPORTS, ReportFilterForm

        self._check_reports_permission(request)
        report = REPORTS.get(slug)
        if report is None:
            raise Http404("No such report.")
        form = ReportFilterForm(_filters(request, report, ReportFilterForm))
        page = None
        if form.is_valid():
            page = report.build(form.scope(), form.cleaned_data["grain"])
            if request.GET.get("export") == "csv":
                return _csv_response(report, page)
        return TemplateResponse(
            request,
            "admin/reports/report.html",
            {
                **self.each_context(request),
                "title": report.title,
                "report": report,
                "form": form,
                "page": page,
                "csv_query": _with_export(form),
            },
        )


def _filters(request, report, form_class):
    """The filters asked for, with the defaults for those not asked about (a bare ?export=csv
    is the default page's CSV); a field sent empty stays empty, and is refused."""
    data = request.GET.copy()
    data.pop("export", None)
    if not report.uses_grain:
        # Not shown on the page, so a bad value could not be shown either.
        data.pop("grain", None)
    for name, value in form_class.defaults().items():
        data.setdefault(name, value)
    return data


def _with_export(form):
    """The query string of the CSV of exactly what the page shows."""
    query = QueryDict(mutable=True)
    for name in form.fields:
        value = form.data.get(name)
        if value not in (None, ""):
            query[name] = str(value)
    query["export"] = "csv"
    return query.urlencode()


def _csv_response(report, page):
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="{report.slug}-{stamp}.csv"'
    writer = SafeWriter(response)
    several = len(page.tables) > 1
    for table in page.tables:
        # With several tables the first column says which one a row comes from.
        writer.writerow([gettext("Table"), *table.columns] if several else table.columns)
        for row in table.rows:
            writer.writerow([table.caption, *row] if several else row)
    return response
