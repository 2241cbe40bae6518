"""The admin site whose every add, change and delete is in the audit chain.

Django's admin writes a LogEntry for each, but that table is an ordinary one (editable, and
deletable with the user). Every ModelAdmin registered on this site, Django's and third-party
ones included, gets `AdminChangeAuditMixin`, which appends an audit row next to each
LogEntry: the model, the object's id, the names of the changed fields (never their values,
which may be a patient's) and the administrator. docs/security.md, "Audit trail".
"""

from __future__ import annotations

import types
from collections.abc import Iterable
from typing import Any

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from audit.services import audit_record, audit_token


def _changed_fields(form: Any, formsets: Iterable[Any] | None) -> list[str]:
    fields = [str(name) for name in getattr(form, "changed_data", [])]
    for formset in formsets or ():
        if formset.has_changed():
            fields.append(f"{formset.model._meta.model_name}_set")
    return fields


def admin_change_audit(
    request: HttpRequest, action: str, objects: Iterable[Model], fields: list[str]
) -> None:
    """One audit row per object of an admin add / change / delete."""
    for obj in objects:
        label = obj._meta.label_lower
        audit_record(
            actor=request.user,
            action=action,
            object_type="admin",
            object_id=f"{label}:{audit_token(obj.pk)}",
            detail={
                "via": "admin",
                "model": label,
                "id": audit_token(obj.pk),
                "fields": [audit_token(name) for name in fields],
            },
        )


class AdminChangeAuditMixin:
    """Audits what the admin logs; mixed into every ModelAdmin of AuditedAdminSite."""

    def construct_change_message(
        self, request: HttpRequest, form: Any, formsets: Any, add: bool = False
    ) -> Any:
        # The names of the changed fields, kept for log_addition / log_change, which Django
        # calls right after this with a message of labels (translated, with spaces).
        request._audit_changed_fields = _changed_fields(form, formsets)  # type: ignore[attr-defined]
        return super().construct_change_message(request, form, formsets, add)  # type: ignore[misc]

    def log_addition(self, request: HttpRequest, obj: Model, message: Any) -> Any:
        entry = super().log_addition(request, obj, message)  # type: ignore[misc]
        fields = getattr(request, "_audit_changed_fields", [])
        admin_change_audit(request, "admin_add", [obj], fields)
        return entry

    def log_change(self, request: HttpRequest, obj: Model, message: Any) -> Any:
        entry = super().log_change(request, obj, message)  # type: ignore[misc]
        fields = getattr(request, "_audit_changed_fields", [])
        admin_change_audit(request, "admin_change", [obj], fields)
        return entry

    def log_deletions(self, request: HttpRequest, queryset: Any) -> Any:
        # Called before the objects are deleted, inside the same transaction.
        objects = list(queryset)
        entries = super().log_deletions(request, objects)  # type: ignore[misc]
        admin_change_audit(request, "admin_delete", objects, [])
        return entries


class AuditedAdminSite(admin.AdminSite):
    """The default admin site (audit.admin_apps.AuditedAdminConfig): every registration audited."""

    def register(self, model_or_iterable: Any, admin_class: Any = None, **options: Any) -> None:
        base = admin_class or admin.ModelAdmin
        if not issubclass(base, AdminChangeAuditMixin):
            base = types.new_class(
                base.__name__,
                (AdminChangeAuditMixin, base),
                exec_body=lambda namespace: namespace.update({"__module__": base.__module__}),
            )
        super().register(model_or_iterable, base, **options)
