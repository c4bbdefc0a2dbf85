from django.urls import path

from billing import views

app_name = "billing"

urlpatterns = [
    path("", views.my_payments, name="mine"),
    path("receipts/<int:pk>/", views.receipt, name="receipt"),
    path("appointments/<int:appointment_pk>/pay/", views.record_payment, name="record"),
    path("appointments/<int:appointment_pk>/pay-online/", views.pay_online, name="pay_online"),
    path("online/return/", views.online_return, name="online_return"),
    path("<int:pk>/refund/", views.refund, name="refund"),
]
