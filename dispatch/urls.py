from django.urls import path

from dispatch import views

app_name = "dispatch"

urlpatterns = [
    path("", views.console, name="console"),
    path("tablet/", views.tablet, name="tablet"),
]
