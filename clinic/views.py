from django.views.generic import TemplateView

from doctors.selectors import departments_with_doctor_counts


class HomeView(TemplateView):
    template_name = "home.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["departments"] = departments_with_doctor_counts()
        return context
