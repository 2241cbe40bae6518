from django.urls import path

from dispatch import map_views, report_views, views

app_name = "dispatch"

urlpatterns = [
    path("", views.console, name="console"),
    path("tablet/", views.tablet, name="tablet"),
    path("map/roads.geojson", map_views.roads_geojson, name="map-roads"),
    path("map/places.json", map_views.places_json, name="map-places"),
    path("reports/", report_views.report, name="report"),
]
