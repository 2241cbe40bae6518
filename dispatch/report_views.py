"""The response-time report page of a dispatch centre."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from accounts.access import role_required
from accounts.models import Role
from dispatch import access
from dispatch.reports import response_report

DEFAULT_DAYS = 30
# One year at most: the statistics are computed in memory over every incident of the range.
MAX_DAYS = 366


class ReportRangeForm(forms.Form):
    """Calendar dates in the server's time zone; both ends are included."""

    since = forms.DateField(label="Since", required=False)
    until = forms.DateField(label="Until", required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        today = timezone.localdate()
        until: date | None = data.get("until") or (None if "until" in self.errors else today)
        since: date | None = data.get("since") or (
            None if "since" in self.errors else (until or today) - timedelta(days=DEFAULT_DAYS - 1)
        )
        if since is not None and until is not None:
            if since > until:
                self.add_error("until", "Until must be on or after since.")
            elif (until - since).days + 1 > MAX_DAYS:
                self.add_error("since", f"The range can cover at most {MAX_DAYS} days.")
        data["since"], data["until"] = since, until
        return data


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


@role_required(Role.DISPATCHER)
def report(request: HttpRequest) -> HttpResponse:
    centre = access.access_dispatcher_centre(request.user)
    form = ReportRangeForm(request.GET)
    result = None
    if form.is_valid():
        since, until = form.cleaned_data["since"], form.cleaned_data["until"]
        result = response_report(
            centre_id=centre.pk, since=_start_of(since), until=_start_of(until + timedelta(days=1))
        )
    # The inputs show what the report covers, defaults included, or what was typed when wrong.
    values = form.cleaned_data if result is not None else form.data
    context = {
        "centre": centre,
        "form": form,
        "report": result,
        "since_value": str(values.get("since") or ""),
        "until_value": str(values.get("until") or ""),
    }
    return render(request, "dispatch/report.html", context)
