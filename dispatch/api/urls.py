from django.urls import path

from dispatch.api import call_queue_views, views

urlpatterns = [
    path("incidents/", views.IncidentListView.as_view(), name="incident-list"),
    path("incidents/duplicates/", views.DuplicatesView.as_view(), name="incident-duplicates"),
    path(
        "incidents/<int:incident_id>/", views.IncidentDetailView.as_view(), name="incident-detail"
    ),
    path(
        "incidents/<int:incident_id>/recommendations/",
        views.RecommendationsView.as_view(),
        name="incident-recommendations",
    ),
    path(
        "incidents/<int:incident_id>/assignments/",
        views.AssignmentsView.as_view(),
        name="incident-assignments",
    ),
    path(
        "incidents/<int:incident_id>/upgrade/",
        views.IncidentUpgradeView.as_view(),
        name="incident-upgrade",
    ),
    path(
        "incidents/<int:incident_id>/close/",
        views.IncidentCloseView.as_view(),
        name="incident-close",
    ),
    path(
        "incidents/<int:incident_id>/transfer/",
        views.IncidentTransferView.as_view(),
        name="incident-transfer",
    ),
    path("transfers/", views.TransferListView.as_view(), name="transfer-list"),
    *[
        path(
            f"transfers/<int:transfer_id>/{decision}/",
            views.TransferDecisionView.as_view(decision=decision),
            name=f"transfer-{decision}",
        )
        for decision in ("accept", "refuse", "withdraw")
    ],
    path(
        "incidents/<int:incident_id>/mutual-aid/",
        views.IncidentMutualAidView.as_view(),
        name="incident-mutual-aid",
    ),
    path(
        "mutual-aid/<int:aid_request_id>/accept/",
        views.MutualAidAcceptView.as_view(),
        name="mutual-aid-accept",
    ),
    path(
        "mutual-aid/<int:aid_request_id>/refuse/",
        views.MutualAidRefuseView.as_view(),
        name="mutual-aid-refuse",
    ),
    path(
        "mutual-aid/<int:aid_request_id>/withdraw/",
        views.MutualAidWithdrawView.as_view(),
        name="mutual-aid-withdraw",
    ),
    path(
        "assignments/<int:assignment_id>/replace/",
        views.AssignmentReplaceView.as_view(),
        name="assignment-replace",
    ),
    path(
        "assignments/<int:assignment_id>/transition/",
        views.AssignmentTransitionView.as_view(),
        name="assignment-transition",
    ),
    path(
        "assignments/<int:assignment_id>/acknowledge/",
        views.AssignmentAcknowledgeView.as_view(),
        name="assignment-acknowledge",
    ),
    path(
        "assignments/<int:assignment_id>/divert/",
        views.AssignmentDivertView.as_view(),
        name="assignment-divert",
    ),
    path("call-queue/", call_queue_views.CallQueueView.as_view(), name="call-queue"),
    path(
        "call-queue/<int:call_id>/end/",
        call_queue_views.CallQueueEndView.as_view(),
        name="call-queue-end",
    ),
    path(
        "call-queue/<int:call_id>/answer/",
        call_queue_views.CallQueueAnswerView.as_view(),
        name="call-queue-answer",
    ),
    path("units/", views.UnitListView.as_view(), name="unit-list"),
    path("units/<int:unit_id>/status/", views.UnitStatusView.as_view(), name="unit-status"),
    path("units/<int:unit_id>/position/", views.UnitPositionView.as_view(), name="unit-position"),
    path(
        "units/<int:unit_id>/positions/", views.UnitPositionsView.as_view(), name="unit-positions"
    ),
]
