from django.urls import path

from exchange.api import messages_view

urlpatterns = [
    path("exchange/messages/", messages_view, name="exchange-messages"),
]
