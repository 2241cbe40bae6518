from django.urls import path

from routing.api import views

urlpatterns = [
    path("routing/snap/", views.SnapView.as_view(), name="routing-snap"),
    path("routing/rank/", views.RankView.as_view(), name="routing-rank"),
    path("routing/route/", views.RouteView.as_view(), name="routing-route"),
    path("routing/isochrone/", views.IsochroneView.as_view(), name="routing-isochrone"),
    path("routing/coverage/", views.CoverageView.as_view(), name="routing-coverage"),
    path("geocode/", views.GeocodeView.as_view(), name="geocode"),
    path("geocode/reverse/", views.ReverseGeocodeView.as_view(), name="geocode-reverse"),
]
