"""Login, logout, and the landing redirect that sends each role to its own screen."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.decorators import method_decorator

from accounts.forms import LoginForm


def home(request: HttpRequest) -> HttpResponse:
    """Send a logged-in user to the screen of their role."""
    return redirect(request.user.home_url_name)  # type: ignore[union-attr]


@method_decorator(login_not_required, name="dispatch")
class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    pass
