from django.urls import path

from dispatch import map_views, report_views, views

app_name = "dispatch"

urlpatterns = [
    path("", views.console, name="console"),
    path("tablet/", views.tablet, name="tablet"),
    path("tablet/sw.js", views.tablet_service_worker, name="tablet-sw"),
    path("tablet/manifest.webmanifest", views.tablet_manifest, name="tablet-manifest"),
    path("map/roads.geojson", map_views.roads_geojson, name="map-roads"),
    path("map/places.json", map_views.places_json, name="map-places"),
    path("reports/", report_views.report, name="report"),
]
