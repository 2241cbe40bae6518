"""The dispatch REST API: translate, call one service or selector, translate back."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from drf_spectacular.utils import OpenApiResponse, PolymorphicProxySerializer, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.access import user_has_role
from accounts.models import Role
from audit.services import audit_record
from config.api import IsDispatcher, IsDispatcherOrCrew, validated
from dispatch import access, selectors, selectors_aid, services
from dispatch.api import serializers as s
from dispatch.models import OPEN_INCIDENT_STATUSES, Call, Determinant, Incident, Unit


def _call(call: Call) -> dict[str, Any]:
    return {
        **selectors.call_summary(call),
        "caller_name": call.caller_name,
        "caller_phone": call.caller_phone,
        "notes": call.notes,
    }


def _detail(incident: Incident) -> dict[str, Any]:
    data = selectors.incident_summary(incident)
    data["notes"] = incident.notes
    data["call_list"] = [_call(c) for c in incident.calls.order_by("received_at", "pk")]
    return data


def _attached_message(attached: services.AttachedCall) -> str:
    incident = attached.incident
    call = attached.call
    text = f"Call attached to #{incident.pk}"
    if call.chief_complaint:
        text += f"; caller reports {call.chief_complaint}"
        if call.determinant:
            text += f" ({call.get_determinant_display()})"
    if attached.proposed_determinant:
        text += (
            f"; upgrade from {incident.get_determinant_display()} to "
            f"{Determinant(attached.proposed_determinant).label} proposed"
        )
    return text + "."


class IncidentListView(APIView):
    permission_classes = [IsDispatcher]

    @extend_schema(responses=s.IncidentSerializer(many=True))
    def get(self, request: Request) -> Response:
        """The open incidents of the dispatcher's centre."""
        centre = access.access_dispatcher_centre(request.user)
        incidents = Incident.objects.filter(
            centre=centre, status__in=OPEN_INCIDENT_STATUSES
        ).order_by("pk")
        return Response(
            s.IncidentSerializer([selectors.incident_summary(i) for i in incidents], many=True).data
        )

    @extend_schema(
        request=s.IncidentCreateSerializer,
        responses={
            201: PolymorphicProxySerializer(
                component_name="IncidentCreatedOrCallAttached",
                serializers=[s.IncidentDetailSerializer, s.CallAttachedSerializer],
                resource_type_field_name=None,
            ),
            409: OpenApiResponse(description="Open incidents nearby: attach the call or confirm"),
        },
    )
    def post(self, request: Request) -> Response:
        """Record a call: a new located incident, or a further call attached to an open one."""
        centre = access.access_dispatcher_centre(request.user)
        data = validated(s.IncidentCreateSerializer, request.data)
        caller = {"caller_name": data["caller_name"], "caller_phone": data["caller_phone"]}
        # A call answered from the queue: it was received when it rang, and is linked.
        queued = (
            services.queued_call_for_intake(user=request.user, call_id=data["queued_call"])
            if "queued_call" in data
            else None
        )
        received_at = data.get("call_received_at") or (queued.received_at if queued else None)
        if "attach_to" in data:
            try:
                incident = access.access_incident(request.user, data["attach_to"])
            except Incident.DoesNotExist:
                raise services.DispatchError(
                    f"No open incident {data['attach_to']} in your centre.", field="attach_to"
                ) from None
            attached = services.incident_attach_call(
                user=request.user,
                incident=incident,
                chief_complaint=data["chief_complaint"],
                determinant=data["determinant"],
                notes=data["notes"],
                access_notes=data["access_notes"],
                call_received_at=received_at,
                **caller,
            )
            if queued is not None:
                services.queued_call_link(
                    user=request.user, queued_call_id=queued.pk, call=attached.call
                )
            incident.refresh_from_db()
            body = {
                "attached": True,
                "message": _attached_message(attached),
                "call": _call(attached.call),
                "proposed_determinant": attached.proposed_determinant or None,
                "incident": _detail(incident),
            }
            return Response(s.CallAttachedSerializer(body).data, status=status.HTTP_201_CREATED)
        location = services.LocationInput(**data["location"])
        try:
            incident = services.incident_create(
                user=request.user,
                chief_complaint=data["chief_complaint"],
                determinant=data["determinant"],
                location=location,
                notes=data["notes"],
                access_notes=data["access_notes"],
                call_received_at=received_at,
                allow_duplicate=data["allow_duplicate"],
                **caller,
            )
        except services.DispatchError as exc:
            if exc.code != "duplicate":
                raise
            resolved = services.location_resolve(location)
            duplicates = selectors.incident_duplicates(
                centre_id=centre.pk, lat=resolved.lat, lon=resolved.lon
            )
            return Response(
                {
                    "code": "duplicate",
                    "detail": exc.message,
                    "duplicates": [selectors.incident_summary(i) for i in duplicates],
                },
                status=status.HTTP_409_CONFLICT,
            )
        if queued is not None:
            first = incident.calls.order_by("received_at", "pk").first()
            if first is not None:
                services.queued_call_link(user=request.user, queued_call_id=queued.pk, call=first)
        return Response(
            s.IncidentDetailSerializer(_detail(incident)).data, status=status.HTTP_201_CREATED
        )


class IncidentDetailView(APIView):
    permission_classes = [IsDispatcher]

    @extend_schema(responses=s.IncidentDetailSerializer)
    def get(self, request: Request, incident_id: int) -> Response:
        """One incident of the centre, with its calls and assignments."""
        incident = access.access_incident(request.user, incident_id)
        # The detail shows the callers' names and phone numbers: personal data.
        audit_record(
            actor=request.user, action="read", object_type="incident", object_id=incident.pk
        )
        return Response(s.IncidentDetailSerializer(_detail(incident)).data)


class IncidentUpgradeView(APIView):
    permission_classes = [IsDispatcher]

    @extend_schema(request=s.UpgradeSerializer, responses=s.IncidentSerializer)
    def post(self, request: Request, incident_id: int) -> Response:
        """Accept (or decline) the more urgent determinant a later caller reported."""
        incident = access.access_incident(request.user, incident_id)
        data = validated(s.UpgradeSerializer, request.data)
        updated = services.incident_upgrade_decide(
            user=request.user,
            incident_id=incident.pk,
            accept=data["accept"],
            determinant=data.get("determinant", ""),
        )
        return Response(s.IncidentSerializer(selectors.incident_summary(updated)).data)


class IncidentCloseView(APIView):
    permission_classes = [IsDispatcher]

    @extend_schema(request=s.CloseSerializer, responses=s.IncidentSerializer)
    def post(self, request: Request, incident_id: int) -> Response:
        """Close an incident with a disposition: units not on scene yet are cancelled, units
        on scene cleared; refused while a unit transports the patient."""
        incident = access.access_incident(request.user, incident_id)
        data = validated(s.CloseSerializer, request.data)
        closed = services.incident_close(
            user=request.user,
            incident_id=incident.pk,
            disposition=data["disposition"],
            note=data["note"],
            device_id=data["device_id"],
        )
        return Response(s.IncidentSerializer(selectors.incident_summary(closed)).data)


class IncidentTransferView(APIView):
    permission_classes = [IsDispatcher]

    @extend_schema(request=s.TransferProposeSerializer, responses={201: s.TransferSerializer})
    def post(self, request: Request, incident_id: int) -> Response:
        """Propose to hand the incident to another centre (the one whose area holds it); it
        stays here, callers and all, until a dispatcher there accepts."""
        incident = access.access_incident(request.user, incident_id)
        data = validated(s.TransferProposeSerializer, request.data)
        transfer = services.incident_transfer_propose(
            user=request.user,
            incident_id=incident.pk,
            to_centre=data["to_centre"],
            reason=data["reason"],
        )
        return Response(
            s.TransferSerializer(selectors.transfer_summary(transfer)).data,
            status=status.HTTP_201_CREATED,
        )


class TransferListView(APIView):
    permission_classes = [IsDispatcher]

    @extend_schema(responses=s.TransferSerializer(many=True))
    def get(self, request: Request) -> Response:
        """Open transfers proposed to or by the dispatcher's centre."""
        centre = access.access_dispatcher_centre(request.user)
        return Response(
            s.TransferSerializer(selectors.centre_transfers(centre_id=centre.pk), many=True).data
        )


class TransferDecisionView(APIView):
    permission_classes = [IsDispatcher]
    decision = ""

    @extend_schema(request=s.TransferDecisionSerializer, responses=s.TransferSerializer)
    def post(self, request: Request, transfer_id: int) -> Response:
        """accept / refuse (with a reason): a transfer proposed to your centre; withdraw: one
        your centre proposed."""
        data = validated(s.TransferDecisionSerializer, request.data)
        if self.decision == "withdraw":
            transfer = services.incident_transfer_withdraw(
                user=request.user, transfer_id=transfer_id
            )
        else:
            transfer = services.incident_transfer_decide(
                user=request.user,
                transfer_id=transfer_id,
                accept=self.decision == "accept",
                note=data["note"],
            )
        return Response(s.TransferSerializer(selectors.transfer_summary(transfer)).data)


class DuplicatesView(APIView):
    permission_classes = [IsDispatcher]

    @extend_schema(
        parameters=[s.DuplicateQuerySerializer], responses=s.IncidentSerializer(many=True)
    )
    def get(self, request: Request) -> Response:
        """Open incidents near a point created recently: show them before saving a new call."""
        query = validated(s.DuplicateQuerySerializer, request.query_params, body=False)
        centre = access.access_dispatcher_centre(request.user)
        found = selectors.incident_duplicates(
            centre_id=centre.pk, lat=query["lat"], lon=query["lon"]
        )
        return Response(
            s.IncidentSerializer([selectors.incident_summary(i) for i in found], many=True).data
        )


class RecommendationsView(APIView):
    permission_classes = [IsDispatcher]

    @extend_schema(responses=s.RecommendationSerializer(many=True))
    def get(self, request: Request, incident_id: int) -> Response:
        """Every unit of the centre: eligible ones by drive time, then the excluded with why.
        Available units of partner centres (mutual aid) are ranked with them, marked
        mutual_aid with their lending_centre: those are requested, not dispatched."""
        incident = access.access_incident(request.user, incident_id)
        rows = [
            {
                "unit_id": r.unit.pk,
                "call_sign": r.unit.call_sign,
                "unit_type": r.unit.unit_type,
                "capabilities": r.unit.capabilities,
                "status": r.unit.status,
                "position_source": r.position_source,
                "position_stale": r.position_stale,
                "position_age_s": r.position_age_s,
                "position_note": r.position_note,
                "eta_s": r.eta_s,
                "distance_m": r.distance_m,
                "excluded": r.excluded,
                "excluded_code": r.excluded_code,
                "overridable": r.overridable,
                "mutual_aid": r.mutual_aid,
                "lending_centre": (
                    selectors_aid.centre_brief(r.lending_centre) if r.lending_centre else None
                ),
            }
            for r in selectors.incident_recommendations(incident)
        ]
        return Response(s.RecommendationSerializer(rows, many=True).data)


class AssignmentsView(APIView):
    permission_classes = [IsDispatcher]

    @extend_schema(responses=s.AssignmentSerializer(many=True))
    def get(self, request: Request, incident_id: int) -> Response:
        """The incident's assignments, oldest first."""
        incident = access.access_incident(request.user, incident_id)
        rows = [
            selectors.assignment_summary(a)
            for a in incident.assignments.select_related("unit").order_by("pk")
        ]
        return Response(s.AssignmentSerializer(rows, many=True).data)

    @extend_schema(
        request=s.DispatchRequestSerializer,
        responses={
            201: s.AssignmentSerializer(many=True),
            409: OpenApiResponse(
                description="A unit is not available (code unit_unavailable), or the ranking "
                "excludes it and override was not sent (code override_required, field override)"
            ),
        },
    )
    def post(self, request: Request, incident_id: int) -> Response:
        """Dispatch available units of the centre to the incident (an excluded one with
        override: true)."""
        incident = access.access_incident(request.user, incident_id)
        data = validated(s.DispatchRequestSerializer, request.data)
        created = services.assignments_create(
            user=request.user,
            incident_id=incident.pk,
            unit_ids=data["unit_ids"],
            device_id=data["device_id"],
            override=data["override"],
            override_note=data["override_note"],
        )
        rows = [selectors.assignment_summary(a) for a in created]
        return Response(
            s.AssignmentSerializer(rows, many=True).data, status=status.HTTP_201_CREATED
        )


class AssignmentTransitionView(APIView):
    permission_classes = [IsDispatcherOrCrew]

    @extend_schema(request=s.TransitionSerializer, responses=s.AssignmentSerializer)
    def post(self, request: Request, assignment_id: int) -> Response:
        """Move an assignment on: en route, on scene, transporting, at destination, cleared."""
        assignment = access.access_assignment(request.user, assignment_id)
        data = validated(s.TransitionSerializer, request.data)
        updated = services.assignment_transition(
            user=request.user,
            assignment_id=assignment.pk,
            to_status=data["status"],
            destination_id=data.get("destination"),
            note=data["note"],
            device_id=data["device_id"],
        )
        return Response(s.AssignmentSerializer(selectors.assignment_summary(updated)).data)


class AssignmentReplaceView(APIView):
    permission_classes = [IsDispatcher]

    @extend_schema(request=s.ReplaceSerializer, responses={201: s.AssignmentSerializer})
    def post(self, request: Request, assignment_id: int) -> Response:
        """Cancel this unit's assignment and dispatch another unit instead, in one step."""
        assignment = access.access_assignment(request.user, assignment_id)
        data = validated(s.ReplaceSerializer, request.data)
        created = services.assignment_replace(
            user=request.user,
            assignment_id=assignment.pk,
            unit_id=data["unit_id"],
            reason=data["reason"],
            device_id=data["device_id"],
        )
        return Response(
            s.AssignmentSerializer(selectors.assignment_summary(created)).data,
            status=status.HTTP_201_CREATED,
        )


class AssignmentAcknowledgeView(APIView):
    permission_classes = [IsDispatcherOrCrew]

    @extend_schema(request=s.DeviceSerializer, responses=s.AssignmentSerializer)
    def post(self, request: Request, assignment_id: int) -> Response:
        """The crew has seen the assignment."""
        assignment = access.access_assignment(request.user, assignment_id)
        if not user_has_role(request.user, Role.CREW):
            raise PermissionDenied("Only the unit's crew acknowledges its assignment.")
        data = validated(s.DeviceSerializer, request.data)
        updated = services.assignment_acknowledge(
            user=request.user, assignment_id=assignment.pk, device_id=data["device_id"]
        )
        return Response(s.AssignmentSerializer(selectors.assignment_summary(updated)).data)


class AssignmentDivertView(APIView):
    permission_classes = [IsDispatcherOrCrew]

    @extend_schema(request=s.DivertSerializer, responses=s.AssignmentSerializer)
    def post(self, request: Request, assignment_id: int) -> Response:
        """Send a transporting unit to another hospital."""
        assignment = access.access_assignment(request.user, assignment_id)
        data = validated(s.DivertSerializer, request.data)
        updated = services.assignment_divert(
            user=request.user,
            assignment_id=assignment.pk,
            destination_id=data["destination"],
            reason=data["reason"],
            device_id=data["device_id"],
        )
        return Response(s.AssignmentSerializer(selectors.assignment_summary(updated)).data)


class UnitListView(APIView):
    permission_classes = [IsDispatcher]

    @extend_schema(responses=s.UnitSerializer(many=True))
    def get(self, request: Request) -> Response:
        """The units of the dispatcher's centre."""
        centre = access.access_dispatcher_centre(request.user)
        units = Unit.objects.filter(centre=centre).select_related("home_station")
        return Response(
            s.UnitSerializer([selectors.unit_summary(u) for u in units], many=True).data
        )


class UnitStatusView(APIView):
    permission_classes = [IsDispatcherOrCrew]

    @extend_schema(request=s.UnitStatusSerializer, responses=s.UnitSerializer)
    def post(self, request: Request, unit_id: int) -> Response:
        """The crew puts its unit in or out of service; a dispatcher sets a unit's status by
        hand (marked manual and audited): with an assignment, its next state."""
        unit = access.access_unit(request.user, unit_id)
        data = validated(s.UnitStatusSerializer, request.data)
        if user_has_role(request.user, Role.DISPATCHER):
            updated = services.unit_set_status(
                user=request.user, unit_id=unit.pk, status=data["status"], reason=data["reason"]
            )
        else:
            if data["status"] not in {"available", "out_of_service"}:
                raise services.DispatchError(
                    "The crew sets available or out of service here; the assignment's states "
                    "go through its transition.",
                    field="status",
                )
            updated = services.unit_set_service(
                user=request.user,
                unit_id=unit.pk,
                in_service=data["status"] == "available",
                reason=data["reason"],
            )
        return Response(s.UnitSerializer(selectors.unit_summary(updated)).data)


class UnitPositionView(APIView):
    permission_classes = [IsDispatcher]

    @extend_schema(request=s.UnitPositionSetSerializer, responses=s.UnitSerializer)
    def post(self, request: Request, unit_id: int) -> Response:
        """A dispatcher places a unit by hand (radio report): marked manual until a newer
        device fix, and audited."""
        unit = access.access_unit(request.user, unit_id)
        data = validated(s.UnitPositionSetSerializer, request.data)
        updated = services.unit_set_position(
            user=request.user,
            unit_id=unit.pk,
            lat=data.get("lat"),
            lon=data.get("lon"),
            text=data["text"],
        )
        return Response(s.UnitSerializer(selectors.unit_summary(updated)).data)


class UnitPositionsView(APIView):
    permission_classes = [IsDispatcherOrCrew]

    @extend_schema(request=s.PositionBatchSerializer, responses=s.PositionBatchResultSerializer)
    def post(self, request: Request, unit_id: int) -> Response:
        """A batch of GPS fixes from a tablet or an AVL box; each stored once by its id."""
        unit = access.access_unit(request.user, unit_id)
        if not user_has_role(request.user, Role.CREW):
            raise PermissionDenied("Positions come from the unit's own devices.")
        data = validated(s.PositionBatchSerializer, request.data)
        fixes = [
            services.Fix(
                client_id=p["id"],
                lat=p["lat"],
                lon=p["lon"],
                recorded_at=p["recorded_at"],
                heading=p.get("heading"),
                speed_mps=p.get("speed_mps"),
                accuracy_m=p.get("accuracy_m"),
            )
            for p in data["positions"]
        ]
        results = services.unit_positions_record(
            unit_id=unit.pk, device_id=data["device_id"], fixes=fixes
        )
        rows = [
            {"id": r.client_id, "status": r.status, "field": r.field, "message": r.message}
            for r in results
        ]
        return Response(s.PositionBatchResultSerializer({"results": rows}).data)


class IncidentMutualAidView(APIView):
    permission_classes = [IsDispatcher]

    @extend_schema(
        request=s.MutualAidCreateSerializer,
        responses={
            201: s.MutualAidRequestSerializer,
            409: OpenApiResponse(
                description="The unit is not available or already requested (unit_unavailable)"
            ),
        },
    )
    def post(self, request: Request, incident_id: int) -> Response:
        """Ask the partner centre that has the unit to lend it to this incident; the unit is
        dispatched only when that centre accepts."""
        incident = access.access_incident(request.user, incident_id)
        data = validated(s.MutualAidCreateSerializer, request.data)
        created = services.mutual_aid_request(
            user=request.user, incident_id=incident.pk, unit_id=data["unit_id"]
        )
        body = selectors_aid.aid_request_summary(selectors_aid.aid_request_get(created.pk))
        return Response(s.MutualAidRequestSerializer(body).data, status=status.HTTP_201_CREATED)


def _aid_answer(aid_request_id: int) -> Response:
    body = selectors_aid.aid_request_summary(selectors_aid.aid_request_get(aid_request_id))
    return Response(s.MutualAidRequestSerializer(body).data)


class MutualAidAcceptView(APIView):
    permission_classes = [IsDispatcher]

    @extend_schema(
        request=s.MutualAidAcceptSerializer,
        responses={
            200: s.MutualAidRequestSerializer,
            409: OpenApiResponse(
                description="No longer open (invalid_transition) or the unit is no longer "
                "available (unit_unavailable)"
            ),
        },
    )
    def post(self, request: Request, aid_request_id: int) -> Response:
        """The lending centre lends its unit: it is dispatched to the other centre's incident
        and its crew gets the job on the tablet."""
        aid = access.access_aid_request(request.user, aid_request_id, side="lending")
        data = validated(s.MutualAidAcceptSerializer, request.data)
        services.mutual_aid_decide(
            user=request.user, request_id=aid.pk, accept=True, note=data["note"]
        )
        return _aid_answer(aid.pk)


class MutualAidRefuseView(APIView):
    permission_classes = [IsDispatcher]

    @extend_schema(request=s.MutualAidRefuseSerializer, responses=s.MutualAidRequestSerializer)
    def post(self, request: Request, aid_request_id: int) -> Response:
        """The lending centre refuses, with a reason the requesting centre is shown."""
        aid = access.access_aid_request(request.user, aid_request_id, side="lending")
        data = validated(s.MutualAidRefuseSerializer, request.data)
        services.mutual_aid_decide(
            user=request.user, request_id=aid.pk, accept=False, note=data["note"]
        )
        return _aid_answer(aid.pk)


class MutualAidWithdrawView(APIView):
    permission_classes = [IsDispatcher]

    @extend_schema(request=None, responses=s.MutualAidRequestSerializer)
    def post(self, request: Request, aid_request_id: int) -> Response:
        """The requesting centre takes back a request still waiting for the lender."""
        aid = access.access_aid_request(request.user, aid_request_id, side="requesting")
        services.mutual_aid_withdraw(user=request.user, request_id=aid.pk)
        return _aid_answer(aid.pk)
