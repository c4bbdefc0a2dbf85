from django.urls import path

from doctors import views

app_name = "doctors"

urlpatterns = [
    path("departments/", views.department_list, name="departments"),
    path("doctors/", views.doctor_list, name="list"),
    path("doctors/<int:pk>/", views.doctor_detail, name="detail"),
]
