"""Admin base for operational records that carry patient data: view-only and audited.

Patient records are read-only in the admin: every write goes through an app's services
(state checks, history, the event log, broadcasts), which a form edit would bypass. Every
admin page that shows such records, the list and each record's page, writes an audit row,
as every other read of patient data does.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest, HttpResponse

from audit.services import audit_record


class AuditedReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """View-only admin whose list and record pages are audited.

    Subclasses set `audit_object_type` ("incident" or "encounter": the patient-data object
    the audit trail is kept by) and `audit_object_id(obj)` (that object's id).
    """

    audit_object_type: str = ""

    def audit_object_id(self, obj: Any) -> Any:
        raise NotImplementedError

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        # No bulk delete (or any other bulk write) on patient records.
        return {}

    def _record(self) -> str:
        return str(self.model._meta.model_name)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        changelist = (getattr(response, "context_data", None) or {}).get("cl")
        if changelist is not None:
            ids = sorted({str(self.audit_object_id(obj)) for obj in changelist.result_list})
            audit_record(
                actor=request.user,
                action="list",
                object_type=self.audit_object_type,
                object_id=f"admin:{self._record()}",
                detail={"via": "admin", "record": self._record(), "ids": ids},
            )
        return response

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        response = super().change_view(request, object_id, form_url, extra_context)
        # Only a page that showed the record is a read (not a 302 for a missing one).
        original = (getattr(response, "context_data", None) or {}).get("original")
        if response.status_code == 200 and isinstance(original, Model):
            audit_record(
                actor=request.user,
                action="read",
                object_type=self.audit_object_type,
                object_id=self.audit_object_id(original),
                detail={"via": "admin", "record": self._record(), "id": original.pk},
            )
        return response


class ReadOnlyInline(admin.TabularInline):  # type: ignore[type-arg]
    """Child records shown on their parent's (audited) page, never edited there."""

    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
