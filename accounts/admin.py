from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from accounts.models import User


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
