"""manage.py exchange_peer: a peer and its key (the secret printed once, stored encrypted),
rotation to two active keys, the other side's copy from stdin, retirement."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from exchange import signing
from exchange.models import Peer, PeerKey

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _allowed(settings):
    settings.EXCHANGE_PEER_ALLOWED_HOSTS = ["peer-b.example"]


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("exchange_peer", *args, stdout=out)
    return out.getvalue()


def test_add_prints_the_secret_once_and_stores_it_encrypted():
    out = _run("add", "peer-b", "https://peer-b.example")
    secret = out.split("secret ")[1].strip()
    key = PeerKey.objects.get()
    assert secret not in key.secret_encrypted
    assert signing.decrypt_secret(key.secret_encrypted) == secret
    assert Peer.objects.get().base_url == "https://peer-b.example"


def test_the_other_side_adds_the_same_key_from_stdin(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("t" * 40 + "\n"))
    out = _run("add", "peer-b", "https://peer-b.example", "--key-id", "k_shared", "--secret-stdin")
    assert "secret" not in out
    key = PeerKey.objects.get(key_id="k_shared")
    assert signing.decrypt_secret(key.secret_encrypted) == "t" * 40


def test_a_short_secret_leaves_no_peer_behind(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    with pytest.raises(CommandError, match="at least 32"):
        _run("add", "peer-b", "https://peer-b.example", "--key-id", "k_x", "--secret-stdin")
    assert Peer.objects.count() == 0


def test_rotation_keeps_two_keys_and_retire_ends_one():
    _run("add", "peer-b", "https://peer-b.example")
    _run("key", "peer-b")
    _run("key", "peer-b")
    assert PeerKey.objects.filter(retired_at__isnull=True).count() == 2
    newest = PeerKey.objects.first()
    assert newest is not None
    _run("retire", newest.key_id)
    assert PeerKey.objects.filter(retired_at__isnull=True).count() == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("add", "peer-b", "http://peer-b.example"), "must use https"),
        (("add", "peer-b", "https://elsewhere.example"), "EXCHANGE_PEER_ALLOWED_HOSTS"),
        (("add", "peer-b", "https://peer-b.example", "--station", "nowhere"), "--station"),
        (("key", "nobody"), "no peer"),
        (("retire", "k_nothing"), "not an active key"),
        (("add", "peer-b", "https://peer-b.example", "--secret-stdin"), "needs --key-id"),
    ],
)
def test_bad_arguments_are_refused_naming_them(args, message):
    with pytest.raises(CommandError, match=message):
        _run(*args)
    assert PeerKey.objects.count() == 0
    assert Peer.objects.count() == 0
