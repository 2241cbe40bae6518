from django.urls import include, path

from accounts.api import MeView

urlpatterns = [
    path("me/", MeView.as_view(), name="api-me"),
    path("", include("routing.api.urls")),
    path("", include("dispatch.api.urls")),
    path("", include("handoff.api.urls")),
    path("", include("exchange.urls")),
]
