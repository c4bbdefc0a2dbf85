from django.urls import path

from intake import views

app_name = "intake"

urlpatterns = [
    path("appointments/<int:pk>/", views.answer, name="answer"),
    path("desk/appointments/<int:pk>/", views.desk_answer, name="desk_answer"),
]
