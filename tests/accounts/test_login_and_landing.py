import pytest
from django.urls import reverse

from tests.factories import TEST_PASSWORD


@pytest.mark.parametrize(
    ("role_fixture", "landing"),
    [
        ("dispatcher", "/dispatch/"),
        ("paramedic", "/dispatch/tablet/"),
        ("ed_nurse", "/ed/"),
        ("admin", "/admin/"),
    ],
)
def test_each_role_lands_on_its_own_screen(client, request, role_fixture, landing):
    user = request.getfixturevalue(role_fixture)
    response = client.post(
        reverse("login"), {"username": user.username, "password": TEST_PASSWORD}, follow=True
    )
    assert response.redirect_chain[-1][0] == landing
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("role_fixture", "forbidden"),
    [
        ("dispatcher", ["/dispatch/tablet/", "/ed/"]),
        ("paramedic", ["/dispatch/", "/ed/"]),
        ("ed_nurse", ["/dispatch/", "/dispatch/tablet/"]),
        ("admin", ["/dispatch/", "/dispatch/tablet/", "/ed/"]),
    ],
)
def test_screens_of_other_roles_are_refused(client, request, role_fixture, forbidden):
    client.force_login(request.getfixturevalue(role_fixture))
    for path in forbidden:
        assert client.get(path).status_code == 403, path


@pytest.mark.parametrize("path", ["/", "/dispatch/", "/dispatch/tablet/", "/ed/", "/admin/"])
def test_every_screen_needs_login(client, db, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].split("?")[0] in {"/login/", "/admin/login/"}


@pytest.mark.parametrize("path", ["/api/v1/me/", "/api/schema/", "/api/docs/"])
def test_api_needs_login(client, db, path):
    assert client.get(path).status_code in {401, 403}


def test_login_failures_do_not_say_which_part_was_wrong(client, dispatcher):
    wrong_password = client.post(
        reverse("login"), {"username": dispatcher.username, "password": "nope"}
    )
    unknown_user = client.post(reverse("login"), {"username": "nobody", "password": TEST_PASSWORD})
    dispatcher.is_active = False
    dispatcher.save()
    inactive = client.post(
        reverse("login"), {"username": dispatcher.username, "password": TEST_PASSWORD}
    )
    messages = {
        r.context["form"].non_field_errors()[0] for r in (wrong_password, unknown_user, inactive)
    }
    assert messages == {"Those credentials were not accepted."}
    for response in (wrong_password, unknown_user, inactive):
        assert response.status_code == 200
        assert b"Those credentials were not accepted." in response.content


def test_unknown_url_gets_the_normal_404_page(client, dispatcher):
    client.force_login(dispatcher)
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert b"There is no page at this address." in response.content
    assert b"Traceback" not in response.content
    assert b"URLconf" not in response.content


def test_api_me_describes_the_caller_by_session_and_by_token(client, paramedic):
    from tests.factories import device_token

    client.force_login(paramedic)
    body = client.get("/api/v1/me/").json()
    assert body == {
        "username": paramedic.username,
        "role": "crew",
        "dispatch_centre": None,
        "unit": paramedic.unit_id,
        "hospital": None,
        "is_charge": False,
    }
    client.logout()
    key = device_token(paramedic)
    assert client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {key}").json()["role"] == "crew"


def test_logged_in_user_can_read_the_api_schema_and_docs(client, dispatcher):
    client.force_login(dispatcher)
    assert client.get("/api/schema/").status_code == 200
    assert client.get("/api/docs/").status_code == 200
