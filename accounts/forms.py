"""The login form."""

from __future__ import annotations

from django.contrib.auth.forms import AuthenticationForm


class LoginForm(AuthenticationForm):
    # One message for every failure, so a wrong guess reveals neither whether the user name
    # exists nor whether the account is disabled.
    error_messages = {
        "invalid_login": "Those credentials were not accepted.",
        "inactive": "Those credentials were not accepted.",
    }

    def confirm_login_allowed(self, user: object) -> None:
        if not getattr(user, "is_active", False):
            raise self.get_invalid_login_error()
