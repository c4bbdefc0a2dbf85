from django.urls import path

from waitlist import views

app_name = "waitlist"

urlpatterns = [
    path("", views.mine, name="mine"),
    path("join/", views.join, name="join"),
    path("<int:pk>/withdraw/", views.withdraw, name="withdraw"),
    path("offers/<str:token>/", views.offer, name="offer"),
    path("my-offers/<int:pk>/", views.my_offer, name="my_offer"),
    path("desk/", views.desk_list, name="desk"),
    path("desk/add/", views.desk_add, name="desk_add"),
    path("desk/<int:pk>/withdraw/", views.desk_withdraw, name="desk_withdraw"),
    path("doctor/", views.doctor_list, name="doctor"),
]
