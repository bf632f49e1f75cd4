import pytest

from gateway.auth import ApiKeyAuth
from gateway.errors import Unauthorized
from gateway.headers import HeaderMap

KEY = "k3y-0123456789"


def check(*headers: tuple[str, str]) -> HeaderMap:
    h = HeaderMap(list(headers))
    ApiKeyAuth(KEY).authenticate(h)
    return h


@pytest.mark.parametrize("value", [f"Bearer {KEY}", f"bearer {KEY}", f"  Bearer   {KEY} "])
def test_bearer_key_is_accepted(value):
    check(("authorization", value))


def test_x_api_key_is_accepted():
    check(("x-api-key", KEY))


@pytest.mark.parametrize(
    "headers",
    [
        [],
        [("authorization", "Bearer wrong")],
        [("authorization", f"Basic {KEY}")],
        [("authorization", KEY)],
        [("x-api-key", "wrong")],
        [("x-api-key", "")],
        [("x-api-key", KEY[:-1])],
        [("x-api-key", KEY + "x")],
    ],
)
def test_missing_or_wrong_key_is_unauthorized(headers):
    with pytest.raises(Unauthorized) as err:
        check(*headers)
    assert err.value.status == 401
    assert dict(err.value.extra_headers)["www-authenticate"].startswith("Bearer")


def test_one_right_credential_among_wrong_ones_is_accepted():
    check(("authorization", "Bearer wrong"), ("x-api-key", KEY))


def test_credentials_are_removed_when_accepted():
    headers = check(("authorization", f"Bearer {KEY}"), ("x-api-key", KEY), ("x-other", "1"))
    assert list(headers.items()) == [("x-other", "1")]


def test_credentials_are_removed_when_rejected():
    headers = HeaderMap([("authorization", "Bearer wrong"), ("x-api-key", "wrong")])
    with pytest.raises(Unauthorized):
        ApiKeyAuth(KEY).authenticate(headers)
    assert list(headers.items()) == []


def test_non_ascii_candidate_is_rejected_not_crashing():
    with pytest.raises(Unauthorized):
        check(("x-api-key", "clé"))
