from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from accounts import services
from accounts.models import DeviceToken, User


@admin.register(User)
class GoldenHourUserAdmin(UserAdmin):
    list_display = (
        "username",
        "get_full_name",
        "role",
        "dispatch_centre",
        "unit",
        "hospital",
        "is_active",
    )
    list_filter = ("role", "is_active", "dispatch_centre", "hospital")
    fieldsets = (
        *UserAdmin.fieldsets,  # type: ignore[misc]
        ("Role", {"fields": ("role", "dispatch_centre", "unit", "hospital", "is_charge")}),
    )
    add_fieldsets = (
        *UserAdmin.add_fieldsets,
        ("Role", {"fields": ("role", "dispatch_centre", "unit", "hospital", "is_charge")}),
    )


class DeviceTokenIssueForm(forms.ModelForm):  # type: ignore[type-arg]
    days = forms.IntegerField(
        min_value=1,
        max_value=services.MAX_DAYS,
        required=False,
        help_text="Lifetime in days; empty for the default (DEVICE_TOKEN_DAYS).",
    )

    class Meta:
        model = DeviceToken
        fields = ["user", "unit", "label"]

    def clean_user(self) -> User:
        user: User = self.cleaned_data["user"]
        if not user.is_active:
            raise forms.ValidationError("This user is not active; a token would be refused.")
        return user

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        user, unit = cleaned.get("user"), cleaned.get("unit")
        if user is not None and unit is not None and user.unit_id != unit.pk:
            self.add_error("unit", "This user is not crew of that unit.")
        return cleaned


READ_ONLY_FIELDS = (
    "prefix",
    "user",
    "unit",
    "label",
    "state",
    "created_by",
    "created_at",
    "expires_at",
    "revoked_at",
    "revoked_by",
    "last_used_at",
)


@admin.register(DeviceToken)
class DeviceTokenAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Tokens are issued here (the key shown once, on the answer page) and revoked; a key or
    its hash is never shown, and a token is never edited or deleted (revoke it instead)."""

    list_display = ("prefix", "user", "unit", "label", "state", "expires_at", "last_used_at")
    list_filter = ("revoked_at",)
    search_fields = ("prefix", "user__username", "unit__call_sign", "label")
    list_select_related = ("user", "unit")
    actions = ["revoke"]
    # Never key_hash, on any page.
    exclude = ("key_hash",)

    @admin.display(description="state")
    def state(self, obj: DeviceToken) -> str:
        return obj.state_at(timezone.now())

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return () if obj is None else READ_ONLY_FIELDS

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ["user", "unit", "label", "days"] if obj is None else list(READ_ONLY_FIELDS)

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any):  # type: ignore[no-untyped-def]
        if obj is None:
            kwargs["form"] = DeviceTokenIssueForm
            kwargs["fields"] = ["user", "unit", "label"]
        return super().get_form(request, obj, change, **kwargs)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        if not request.user.has_perm("accounts.add_devicetoken"):  # type: ignore[union-attr]
            actions.pop("revoke", None)
        return actions

    def save_model(self, request: HttpRequest, obj: DeviceToken, form: Any, change: bool) -> None:
        issued = services.device_token_issue(
            user=form.cleaned_data["user"],
            created_by=request.user,  # type: ignore[arg-type]
            label=form.cleaned_data.get("label") or "",
            days=form.cleaned_data.get("days"),
            unit=form.cleaned_data.get("unit"),
        )
        obj.pk = issued.token.pk
        obj.prefix = issued.token.prefix
        # The key goes into this one answer, never into a message (messages live in a cookie
        # or the session until shown).
        request._issued_device_token = issued  # type: ignore[attr-defined]

    def response_add(
        self, request: HttpRequest, obj: DeviceToken, post_url_continue: str | None = None
    ) -> HttpResponse:
        issued = request._issued_device_token  # type: ignore[attr-defined]
        response = TemplateResponse(
            request,
            "admin/accounts/devicetoken/issued.html",
            {
                **self.admin_site.each_context(request),
                "title": "Device token issued",
                "token": issued.token,
                "key": issued.key,
                "opts": self.model._meta,
                "changelist_url": reverse("admin:accounts_devicetoken_changelist"),
            },
        )
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description="Revoke the selected tokens (closes their open sockets)")
    def revoke(self, request: HttpRequest, queryset: QuerySet[DeviceToken]) -> None:
        count = 0
        for token_id in queryset.filter(revoked_at__isnull=True).values_list("pk", flat=True):
            services.device_token_revoke(token_id=token_id, revoked_by=request.user)  # type: ignore[arg-type]
            count += 1
        self.message_user(request, f"{count} token(s) revoked.", messages.SUCCESS)
