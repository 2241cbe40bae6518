from django.urls import path

from handoff.api import inbound_views, views

E = "encounters/<uuid:public_id>/"

urlpatterns = [
    path(
        "assignments/<int:assignment_id>/encounters/",
        views.AssignmentEncountersView.as_view(),
        name="assignment-encounters",
    ),
    path(E, views.EncounterDetailView.as_view(), name="encounter-detail"),
    path(E + "break-glass/", views.BreakGlassView.as_view(), name="encounter-break-glass"),
    path("break-glass/", views.BreakGlassLookupView.as_view(), name="break-glass"),
    path(E + "close/", views.EncounterCloseView.as_view(), name="encounter-close"),
    path(E + "vitals/", views.VitalsView.as_view(), name="encounter-vitals"),
    path(E + "interventions/", views.InterventionsView.as_view(), name="encounter-interventions"),
    path(E + "medications/", views.MedicationsView.as_view(), name="encounter-medications"),
    path(
        E + "destinations/",
        views.DestinationRecommendationsView.as_view(),
        name="encounter-destinations",
    ),
    path(E + "destination/", views.DestinationSetView.as_view(), name="encounter-destination"),
    path(E + "acknowledge/", views.EDAcknowledgeView.as_view(), name="encounter-acknowledge"),
    path(E + "bay/", views.BayView.as_view(), name="encounter-bay"),
    path(E + "arrival/", views.ArrivalView.as_view(), name="encounter-arrival"),
    path(E + "transfer/", views.TransferView.as_view(), name="encounter-transfer"),
    path(E + "ed-close/", views.EDCloseView.as_view(), name="encounter-ed-close"),
    path(E + "reconcile/", views.ReconcileView.as_view(), name="encounter-reconcile"),
    path(E + "messages/", views.MessagesView.as_view(), name="encounter-messages"),
    path(E + "fhir/", views.EncounterFhirView.as_view(), name="encounter-fhir"),
    path(E + "hl7/", views.EncounterHl7View.as_view(), name="encounter-hl7"),
    path(E + "nemsis/", views.EncounterNemsisView.as_view(), name="encounter-nemsis"),
    path(
        "activations/<int:activation_id>/acknowledge/",
        views.ActivationAcknowledgeView.as_view(),
        name="activation-acknowledge",
    ),
    path(E + "outcome/", views.EncounterOutcomeView.as_view(), name="encounter-outcome"),
    path("crew/outcomes/", views.CrewOutcomesView.as_view(), name="crew-outcomes"),
    # The hospital system's outcome messages (its inbound token, not a session).
    path("inbound/hl7/", inbound_views.InboundHl7View.as_view(), name="inbound-hl7"),
    path(
        "inbound/fhir/Encounter",
        inbound_views.InboundFhirEncounterView.as_view(),
        name="inbound-fhir-encounter",
    ),
    path("ed/incoming/", views.EDIncomingView.as_view(), name="ed-incoming"),
    path("ed/recent/", views.EDRecentView.as_view(), name="ed-recent"),
    path(
        "hospitals/<int:hospital_id>/ed-status/",
        views.HospitalEDStatusView.as_view(),
        name="hospital-ed-status",
    ),
]
