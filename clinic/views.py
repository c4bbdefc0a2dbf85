from django.http import HttpResponseRedirect
from django.templatetags.static import static
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_safe
from django.views.generic import TemplateView

from doctors.selectors import departments_with_doctor_counts


class HomeView(TemplateView):
    template_name = "home.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["departments"] = departments_with_doctor_counts()
        return context


@require_safe
def favicon(request):
    """Browsers ask for /favicon.ico on their own; the icon itself is a static file (its address
    changes with its content), so this points there, and only for a day, not for ever."""
    response = HttpResponseRedirect(static("img/favicon.svg"))
    patch_cache_control(response, public=True, max_age=60 * 60 * 24)
    return response
