"""A full handoff with every logger at DEBUG: the patient's name and record number appear in
no log line, on no output stream, and in no audit row."""

import json
import logging

import pytest
from django.core.management import call_command

from audit.models import AuditEvent

pytestmark = pytest.mark.django_db

NAME = ("Zebulon", "Quixotehurst")
MRN = "MRN-7731-QX"


def post(client, url, body=None):
    answer = client.post(url, body or {}, content_type="application/json")
    assert answer.status_code in {200, 201}, answer.content
    return answer.json()


def test_full_handoff_never_logs_the_patients_name(
    caplog,
    capfd,
    client,
    paramedic,
    ed_nurse,
    outsider,
    assignment,
    hospital,
    django_capture_on_commit_callbacks,
):
    for name in ["", *logging.root.manager.loggerDict]:
        caplog.set_level(logging.DEBUG, logger=name)
    with django_capture_on_commit_callbacks(execute=True):
        client.force_login(paramedic)
        record = post(
            client,
            f"/api/v1/assignments/{assignment.pk}/encounters/",
            {"given_name": NAME[0], "family_name": NAME[1], "sex": "male"},
        )
        base = f"/api/v1/encounters/{record['encounter_id']}/"
        post(client, base + "vitals/", {"client_id": "v1", "vitals": {"heart_rate": 128}})
        post(client, base + "destination/", {"hospital": hospital.pk, "reason": "closest"})
        client.force_login(ed_nurse)
        assert client.get(base).json()["family_name"] == NAME[1]
        post(client, base + "acknowledge/")
        post(client, base + "arrival/")
        post(client, base + "transfer/")
        assert client.get(base + "fhir/").status_code == 200
        assert client.get(base + "hl7/").status_code == 200
        client.force_login(paramedic)
        assert post(client, base + "transfer/")["status"] == "closed"
        client.force_login(ed_nurse)
        assert post(client, base + "reconcile/", {"mrn": MRN})["mrn"] == MRN
        client.force_login(outsider)
        assert client.get(base).status_code == 403
    call_command("audit_verify")
    call_command("audit_head")

    trail = json.dumps(list(AuditEvent.objects.values()), default=str)
    assert {"create", "vitals_record", "reconcile", "read"} <= set(
        AuditEvent.objects.values_list("action", flat=True)
    )
    captured = capfd.readouterr()
    assert caplog.records, "the flow logged nothing: the test would prove nothing"
    for output in (caplog.text, captured.out, captured.err, trail):
        for secret in (*NAME, MRN):
            assert secret not in output
