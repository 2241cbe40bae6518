"""The handoff REST API: translate, call one service or selector, translate back.

Every encounter is fetched through handoff.access; dispatchers and administrators get 403
on every clinical path.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.conf import settings
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import validated
from dispatch.selectors import hospital_summary
from handoff import access, selectors
from handoff.api import serializers as s
from handoff.interop import fhir, hl7
from handoff.interop.nemsis.export import encounter_xml
from handoff.interop.nemsis.record import NemsisExportError
from handoff.models import Encounter
from handoff.services import HandoffError
from handoff.services.activations import activation_acknowledge
from handoff.services.board import (
    crew_message_send,
    ed_acknowledge,
    ed_assign_bay,
    ed_message_send,
    ed_status_set,
)
from handoff.services.break_glass import break_glass_open, break_glass_open_by_temp_identifier
from handoff.services.destination import destination_set
from handoff.services.encounters import encounter_close, encounter_open, encounter_update
from handoff.services.handover import (
    admission_reconcile,
    ed_encounter_close,
    patient_arrived,
    transfer_of_care_confirm,
)
from handoff.services.outcome import encounter_outcome_row, outcome_record
from handoff.services.treatment import intervention_record, medication_record
from handoff.services.vitals import vitals_record


def _detail(encounter: Encounter, *, code: int = status.HTTP_200_OK) -> Response:
    encounter = Encounter.objects.select_related("assignment__unit", "destination").get(
        pk=encounter.pk
    )
    return Response(
        s.EncounterDetailSerializer(selectors.encounter_detail(encounter)).data, status=code
    )


def _fields(data: dict[str, Any]) -> dict[str, Any]:
    # Nested serializers hand back OrderedDicts; the service wants plain JSON-like values.
    if "medications" in data:
        data["medications"] = [dict(m) for m in data["medications"]]
    return data


class AssignmentEncountersView(APIView):
    @extend_schema(responses=s.BoardRowSerializer(many=True))
    def get(self, request: Request, assignment_id: int) -> Response:
        """The open encounters of an active assignment of the crew's unit."""
        assignment = access.access_crew_assignment(request.user, assignment_id)
        # Each listed patient is an audited read.
        encounters = access.access_crew_open_encounters(request.user, assignment)
        rows = [selectors.board_row(e) for e in encounters]
        return Response(s.BoardRowSerializer(rows, many=True).data)

    @extend_schema(
        request=s.EncounterCreateSerializer, responses={201: s.EncounterDetailSerializer}
    )
    def post(self, request: Request, assignment_id: int) -> Response:
        """Open a patient record on the assignment (several patients per assignment)."""
        assignment = access.access_crew_assignment(request.user, assignment_id)
        data = _fields(validated(s.EncounterCreateSerializer, request.data))
        public_id = data.pop("public_id", None)
        encounter = encounter_open(
            user=request.user, assignment_id=assignment.pk, public_id=public_id, data=data
        )
        return _detail(encounter, code=status.HTTP_201_CREATED)


class EncounterDetailView(APIView):
    @extend_schema(responses=s.EncounterDetailSerializer)
    def get(self, request: Request, public_id: UUID) -> Response:
        """The full pre-hospital record, for its crew (while open) and the receiving ED."""
        return _detail(access.access_encounter_for_reading(request.user, public_id))

    @extend_schema(request=s.EncounterWriteSerializer, responses=s.EncounterDetailSerializer)
    def patch(self, request: Request, public_id: UUID) -> Response:
        """Change the patient, ATMIST, history or findings (crew only)."""
        encounter = access.access_encounter(request.user, public_id, open_only=False)
        data = _fields(validated(s.EncounterWriteSerializer, request.data, partial=True))
        updated = encounter_update(user=request.user, encounter_id=encounter.pk, data=data)
        return _detail(updated)


class BreakGlassView(APIView):
    @extend_schema(request=s.BreakGlassSerializer, responses={201: s.EncounterDetailSerializer})
    def post(self, request: Request, public_id: UUID) -> Response:
        """An ED clinician opens a patient outside their scope, giving a reason (reported)."""
        data = validated(s.BreakGlassSerializer, request.data)
        grant = break_glass_open(user=request.user, public_id=public_id, reason=data["reason"])
        access.audit_break_glass_read(request.user, grant.encounter, grant)
        return _detail(grant.encounter, code=status.HTTP_201_CREATED)


class BreakGlassLookupView(APIView):
    @extend_schema(
        request=s.BreakGlassLookupSerializer, responses={201: s.BreakGlassReadSerializer}
    )
    def post(self, request: Request) -> Response:
        """Break-glass by the patient's temporary id: nothing about the patient, not even
        whether the id exists, is answered before a valid reason; then the grant and the
        record under it (reported to the administrators)."""
        data = validated(s.BreakGlassLookupSerializer, request.data)
        grant = break_glass_open_by_temp_identifier(
            user=request.user, temp_identifier=data["temp_identifier"], reason=data["reason"]
        )
        access.audit_break_glass_read(request.user, grant.encounter, grant)
        encounter = Encounter.objects.select_related("assignment__unit", "destination").get(
            pk=grant.encounter_id
        )
        body = {
            "grant": grant.pk,
            "expires_at": grant.expires_at,
            "minutes": settings.BREAK_GLASS_MINUTES,
            "encounter": selectors.encounter_detail(encounter),
        }
        return Response(s.BreakGlassReadSerializer(body).data, status=status.HTTP_201_CREATED)


class EncounterCloseView(APIView):
    @extend_schema(request=None, responses=s.BoardRowSerializer)
    def post(self, request: Request, public_id: UUID) -> Response:
        """Close the record without a handoff (treated on scene, no transport)."""
        encounter = access.access_encounter(request.user, public_id, open_only=False)
        closed = encounter_close(user=request.user, encounter_id=encounter.pk)
        return Response(s.BoardRowSerializer(selectors.board_row(closed)).data)


class VitalsView(APIView):
    @extend_schema(responses=s.VitalsSetSerializer(many=True))
    def get(self, request: Request, public_id: UUID) -> Response:
        """The vitals sets of the encounter, oldest first, with their scores."""
        encounter = access.access_encounter(request.user, public_id)
        rows = [selectors.vitals_summary(v) for v in encounter.vitals.order_by("taken_at", "pk")]
        return Response(s.VitalsSetSerializer(rows, many=True).data)

    @extend_schema(request=s.VitalsCreateSerializer, responses={201: s.VitalsSetSerializer})
    def post(self, request: Request, public_id: UUID) -> Response:
        """Record a vitals set; out-of-range values are refused naming the field and range."""
        encounter = access.access_encounter(request.user, public_id, open_only=False)
        data = validated(s.VitalsCreateSerializer, request.data)
        if not isinstance(data["vitals"], dict):
            raise HandoffError("vitals must be an object.", field="vitals")
        stored = vitals_record(
            user=request.user,
            encounter_id=encounter.pk,
            data=data["vitals"],
            client_id=data["client_id"],
            device_id=data["device_id"],
            taken_at=data.get("taken_at"),
        )
        return Response(
            s.VitalsSetSerializer(selectors.vitals_summary(stored)).data,
            status=status.HTTP_201_CREATED,
        )


class InterventionsView(APIView):
    @extend_schema(request=s.InterventionCreateSerializer, responses={201: s.BoardRowSerializer})
    def post(self, request: Request, public_id: UUID) -> Response:
        """Record a procedure done by the crew."""
        encounter = access.access_encounter(request.user, public_id, open_only=False)
        data = validated(s.InterventionCreateSerializer, request.data)
        intervention_record(user=request.user, encounter_id=encounter.pk, **data)
        encounter.refresh_from_db()
        return Response(
            s.BoardRowSerializer(selectors.board_row(encounter)).data,
            status=status.HTTP_201_CREATED,
        )


class MedicationsView(APIView):
    @extend_schema(request=s.MedicationCreateSerializer, responses={201: s.BoardRowSerializer})
    def post(self, request: Request, public_id: UUID) -> Response:
        """Record a medication the crew gave."""
        encounter = access.access_encounter(request.user, public_id, open_only=False)
        data = validated(s.MedicationCreateSerializer, request.data)
        medication_record(user=request.user, encounter_id=encounter.pk, **data)
        encounter.refresh_from_db()
        return Response(
            s.BoardRowSerializer(selectors.board_row(encounter)).data,
            status=status.HTTP_201_CREATED,
        )


class DestinationRecommendationsView(APIView):
    @extend_schema(responses=s.DestinationSerializer(many=True))
    def get(self, request: Request, public_id: UUID) -> Response:
        """Hospitals for this patient: capable open EDs by drive time, then the rest with why."""
        encounter = access.access_crew_encounter(request.user, public_id)
        rows = selectors.destination_recommendations(encounter)
        return Response(s.DestinationSerializer(rows, many=True).data)


class DestinationSetView(APIView):
    @extend_schema(request=s.DestinationSetSerializer, responses=s.EncounterDetailSerializer)
    def post(self, request: Request, public_id: UUID) -> Response:
        """Choose the receiving hospital; the patient is pre-registered in its queue."""
        encounter = access.access_encounter(request.user, public_id, open_only=False)
        data = validated(s.DestinationSetSerializer, request.data)
        updated = destination_set(
            user=request.user,
            encounter_id=encounter.pk,
            hospital_id=data["hospital"],
            reason=data["reason"],
        )
        return _detail(updated)


class EDAcknowledgeView(APIView):
    @extend_schema(request=None, responses=s.EncounterDetailSerializer)
    def post(self, request: Request, public_id: UUID) -> Response:
        """The receiving ED has seen the incoming patient."""
        encounter = access.access_ed_encounter(request.user, public_id)
        return _detail(ed_acknowledge(user=request.user, encounter_id=encounter.pk))


class BayView(APIView):
    @extend_schema(request=s.BaySerializer, responses=s.EncounterDetailSerializer)
    def post(self, request: Request, public_id: UUID) -> Response:
        """The ED names the bay the crew should bring the patient to."""
        encounter = access.access_ed_encounter(request.user, public_id)
        data = validated(s.BaySerializer, request.data)
        return _detail(ed_assign_bay(user=request.user, encounter_id=encounter.pk, bay=data["bay"]))


class ArrivalView(APIView):
    @extend_schema(request=None, responses=s.EncounterDetailSerializer)
    def post(self, request: Request, public_id: UUID) -> Response:
        """The patient has arrived at the ED (eTimes.11); crew or ED."""
        encounter = access.access_encounter(request.user, public_id, open_only=False)
        return _detail(patient_arrived(user=request.user, encounter_id=encounter.pk))


class TransferView(APIView):
    @extend_schema(request=None, responses=s.BoardRowSerializer)
    def post(self, request: Request, public_id: UUID) -> Response:
        """Confirm the transfer of care; done (eTimes.12) when crew and ED both have.

        The transporting crew may still confirm for CREW_HANDOVER_MINUTES_AFTER_CLEAR after
        clearing the call, and only this.
        """
        encounter = access.access_handover_encounter(request.user, public_id)
        updated = transfer_of_care_confirm(user=request.user, encounter_id=encounter.pk)
        # The crew's access ends with the handoff: answer with the row, not the record.
        return Response(s.BoardRowSerializer(selectors.board_row(updated)).data)


class EDCloseView(APIView):
    @extend_schema(request=s.EDCloseSerializer, responses=s.BoardRowSerializer)
    def post(self, request: Request, public_id: UUID) -> Response:
        """The receiving ED closes a card that will never be confirmed, with a reason."""
        encounter = access.access_ed_encounter(request.user, public_id)
        data = validated(s.EDCloseSerializer, request.data)
        closed = ed_encounter_close(
            user=request.user, encounter_id=encounter.pk, reason=data["reason"]
        )
        return Response(s.BoardRowSerializer(selectors.board_row(closed)).data)


class ReconcileView(APIView):
    @extend_schema(request=s.ReconcileSerializer, responses=s.EncounterDetailSerializer)
    def post(self, request: Request, public_id: UUID) -> Response:
        """Link the pre-registration to the hospital's medical record number."""
        encounter = access.access_ed_encounter(request.user, public_id)
        data = validated(s.ReconcileSerializer, request.data)
        return _detail(
            admission_reconcile(user=request.user, encounter_id=encounter.pk, mrn=data["mrn"])
        )


class MessagesView(APIView):
    @extend_schema(responses=s.MessageSerializer(many=True))
    def get(self, request: Request, public_id: UUID) -> Response:
        """The messages between the crew and the ED about this patient."""
        encounter = access.access_encounter(request.user, public_id)
        rows = [selectors.message_summary(m) for m in encounter.messages.all()]
        return Response(s.MessageSerializer(rows, many=True).data)

    @extend_schema(request=s.MessageCreateSerializer, responses={201: s.MessageSerializer})
    def post(self, request: Request, public_id: UUID) -> Response:
        """Send a message to the other side (crew to ED, or ED to crew)."""
        encounter = access.access_encounter(request.user, public_id, open_only=False)
        side = access.check_crew_or_ed(request.user, encounter, open_only=False)
        data = validated(s.MessageCreateSerializer, request.data)
        send = crew_message_send if side == "crew" else ed_message_send
        message = send(user=request.user, encounter_id=encounter.pk, **data)
        return Response(
            s.MessageSerializer(selectors.message_summary(message)).data,
            status=status.HTTP_201_CREATED,
        )


class ActivationAcknowledgeView(APIView):
    @extend_schema(request=None, responses=s.ActivationSerializer)
    def post(self, request: Request, activation_id: int) -> Response:
        """An ED clinician confirms a proposed team activation."""
        activation = access.access_activation(request.user, activation_id)
        updated = activation_acknowledge(user=request.user, activation_id=activation.pk)
        return Response(s.ActivationSerializer(selectors.activation_summary(updated)).data)


class EDIncomingView(APIView):
    @extend_schema(responses=s.BoardRowSerializer(many=True))
    def get(self, request: Request) -> Response:
        """The ED's incoming patients: highest NEWS2 risk first, then soonest ETA."""
        hospital = access.access_staff_hospital(request.user)
        rows = selectors.ed_incoming_list(hospital_id=hospital.pk)
        return Response(s.BoardRowSerializer(rows, many=True).data)


class EDRecentView(APIView):
    @extend_schema(responses=s.BoardRowSerializer(many=True))
    def get(self, request: Request) -> Response:
        """Patients handed over (or closed by the ED) in the last 15 minutes, newest first."""
        hospital = access.access_staff_hospital(request.user)
        rows = selectors.ed_recent_list(hospital_id=hospital.pk)
        return Response(s.BoardRowSerializer(rows, many=True).data)


class HospitalEDStatusView(APIView):
    @extend_schema(request=s.EDStatusSerializer, responses=s.HospitalSerializer)
    def post(self, request: Request, hospital_id: int) -> Response:
        """Open the ED or put it on diversion (with a reason); dispatch maps update at once."""
        hospital = access.access_ed_hospital(request.user, hospital_id)
        data = validated(s.EDStatusSerializer, request.data)
        updated = ed_status_set(
            user=request.user, hospital_id=hospital.pk, status=data["status"], reason=data["reason"]
        )
        return Response(s.HospitalSerializer(hospital_summary(updated)).data)


class EncounterFhirView(APIView):
    @extend_schema(responses={(200, "application/fhir+json"): OpenApiTypes.OBJECT})
    def get(self, request: Request, public_id: UUID) -> Response:
        """The encounter as a FHIR R4 document Bundle (application/fhir+json)."""
        encounter = access.access_encounter(request.user, public_id)
        bundle = fhir.encounter_bundle(selectors.encounter_document(encounter))
        return Response(bundle, content_type="application/fhir+json")


HL7_TRIGGERS = ("A05", "A04", "A08")


class EncounterHl7View(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("trigger", str, enum=list(HL7_TRIGGERS), default="A05")],
        responses={(200, "text/plain"): OpenApiTypes.STR},
    )
    def get(self, request: Request, public_id: UUID) -> HttpResponse:
        """The encounter as an HL7 v2.5 ADT message: A05 pre-admit, A04 arrival, A08 update."""
        encounter = access.access_encounter(request.user, public_id)
        trigger = request.query_params.get("trigger", "A05")
        if trigger not in HL7_TRIGGERS:
            return Response(
                {"trigger": [f"Use one of {', '.join(HL7_TRIGGERS)}."]},
                status=status.HTTP_400_BAD_REQUEST,
            )
        now = timezone.now()
        message = hl7.adt_message(
            selectors.encounter_document(encounter),
            trigger,  # type: ignore[arg-type]
            sending_facility="GOLDENHOUR",
            receiving_facility=encounter.destination.code if encounter.destination else "",
            control_id=f"GH{encounter.pk}{now:%Y%m%d%H%M%S}",
            now=now,
        )
        # MLLP and files use CR between segments; browsers and curl show it as one line.
        return HttpResponse(message, content_type="text/plain; charset=utf-8")


class EncounterNemsisView(APIView):
    @extend_schema(responses={(200, "application/xml"): OpenApiTypes.STR})
    def get(self, request: Request, public_id: UUID) -> HttpResponse:
        """The encounter as a NEMSIS 3.5.1 EMSDataSet (application/xml), for its crew and
        receiving ED as the FHIR and HL7 documents; 400 names what the record still lacks."""
        encounter = access.access_encounter(request.user, public_id)
        try:
            document = encounter_xml(encounter)
        except NemsisExportError as error:
            return Response(
                {error.field: [error.message], "code": "incomplete"},
                status=status.HTTP_400_BAD_REQUEST,
            )
        return HttpResponse(document, content_type="application/xml; charset=utf-8")


class EncounterOutcomeView(APIView):
    @extend_schema(responses=s.EncounterOutcomeSerializer)
    def get(self, request: Request, public_id: UUID) -> Response:
        """The hospital's outcome of the patient (outcome null until recorded): the receiving
        ED, or the crew that brought the patient for CREW_OUTCOME_FEEDBACK_DAYS."""
        encounter = access.access_encounter_outcome(request.user, public_id)
        return Response(s.EncounterOutcomeSerializer(encounter_outcome_row(encounter)).data)

    @extend_schema(request=s.OutcomeInputSerializer, responses=s.EncounterOutcomeSerializer)
    def put(self, request: Request, public_id: UUID) -> Response:
        """The receiving ED records (or corrects) diagnosis, disposition and the STEMI /
        stroke treatment time of a patient who has arrived."""
        encounter = access.access_ed_encounter(request.user, public_id)
        data = validated(s.OutcomeInputSerializer, request.data)
        outcome_record(user=request.user, encounter_id=encounter.pk, data=data)
        updated = Encounter.objects.select_related("assignment__unit", "destination").get(
            pk=encounter.pk
        )
        return Response(s.EncounterOutcomeSerializer(encounter_outcome_row(updated)).data)


class CrewOutcomesView(APIView):
    @extend_schema(responses=s.EncounterOutcomeSerializer(many=True))
    def get(self, request: Request) -> Response:
        """The patients the crew's unit brought in the feedback window, with their outcome
        when the hospital has recorded one (outcome fields only; each an audited read)."""
        rows = access.access_crew_outcome_feedback(request.user)
        return Response(
            s.EncounterOutcomeSerializer([encounter_outcome_row(e) for e in rows], many=True).data
        )
