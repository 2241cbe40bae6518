from django.urls import path

from handoff import views

app_name = "handoff"

urlpatterns = [
    path("", views.board, name="board"),
]
