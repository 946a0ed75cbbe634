"""Customer tokens (usecases/customers.py): the host site's signed word for who its customer is, checked here."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from usecases.customers import (
    DEMO_CUSTOMER,
    DEMO_ISSUER,
    MAX_ATTRIBUTES,
    Customers,
    CustomerTokenKeys,
    CustomerTokenRefused,
    KnownCustomer,
    sign,
    verify,
)
from usecases.errors import Invalid

SECRET = "shop-secret-" + "0123456789abcdef" * 4
OTHER = "help-secret-" + "fedcba9876543210" * 4
NOW = datetime(2025, 1, 10, 7, 0, tzinfo=UTC)
KEYS = CustomerTokenKeys(default=SECRET)


def claims(**changes) -> dict:
    base = {
        "sub": "cust-42",
        "name": "Mia Tanaka",
        "email": "mia@example.com",
        "plan": "enterprise",
        "lifetime_value": 1250.5,
        "attributes": {"country": "JP", "orders": 12, "beta": True},
        "iat": int(NOW.timestamp()),
        "exp": int((NOW + timedelta(minutes=30)).timestamp()),
    }
    return {k: v for k, v in {**base, **changes}.items() if v is not None}


def token(key: str = SECRET, algorithm: str = "HS256", **changes) -> str:
    return jwt.encode(claims(**changes), key, algorithm=algorithm)


def _segment(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def forged(header: dict, body: dict, signature: str = "") -> str:
    return f"{_segment(header)}.{_segment(body)}.{signature}"


def test_a_good_token_gives_the_customer_and_what_the_rules_read():
    customer = verify(token(), KEYS, NOW)
    assert (customer.sub, customer.name, customer.email, customer.iss) == (
        "cust-42",
        "Mia Tanaka",
        "mia@example.com",
        None,
    )
    assert customer.routing_attributes() == {
        "country": "JP",
        "orders": 12,
        "beta": True,
        "plan": "enterprise",
        "lifetime_value": 1250.5,
    }


def test_only_sub_and_exp_are_needed():
    customer = verify(jwt.encode({"sub": "c1", "exp": int(NOW.timestamp()) + 60}, SECRET), KEYS, NOW)
    assert (customer.name, customer.email, customer.routing_attributes()) == (None, None, {})


def test_an_expired_token_is_refused_saying_when_it_expired():
    expired = token(exp=int((NOW - timedelta(minutes=5)).timestamp()))
    with pytest.raises(CustomerTokenRefused, match="expired at 2025-01-10T06:55:00"):
        verify(expired, KEYS, NOW)


def test_clocks_may_differ_by_the_leeway():
    just_expired = token(exp=int((NOW - timedelta(seconds=20)).timestamp()))
    assert verify(just_expired, KEYS, NOW).sub == "cust-42"
    with pytest.raises(CustomerTokenRefused, match="not valid before"):
        verify(token(nbf=int((NOW + timedelta(minutes=5)).timestamp())), KEYS, NOW)
    with pytest.raises(CustomerTokenRefused, match="issued in the future"):
        verify(token(iat=int((NOW + timedelta(minutes=5)).timestamp())), KEYS, NOW)


def test_a_token_signed_with_another_secret_is_refused():
    with pytest.raises(CustomerTokenRefused, match="wrong signature"):
        verify(token(OTHER), KEYS, NOW)


def test_a_tampered_token_is_refused():
    header, _, signature = token().split(".")
    richer = _segment(claims(lifetime_value=10**6))
    with pytest.raises(CustomerTokenRefused, match="wrong signature"):
        verify(f"{header}.{richer}.{signature}", KEYS, NOW)


def test_alg_none_is_refused():
    unsigned = forged({"alg": "none", "typ": "JWT"}, claims())
    with pytest.raises(CustomerTokenRefused, match="signed with 'none': only HS256"):
        verify(unsigned, KEYS, NOW)


@pytest.mark.parametrize("algorithm", ["HS512", "HS384"])
def test_other_hmac_algorithms_are_refused(algorithm):
    with pytest.raises(CustomerTokenRefused, match=f"signed with '{algorithm}': only HS256"):
        verify(token(algorithm=algorithm), KEYS, NOW)


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
def test_public_key_algorithms_are_refused(algorithm):
    # the classic confusion: an RS256 token "verified" with the HMAC secret as if it were a public key
    looks_signed = forged({"alg": algorithm, "typ": "JWT"}, claims(), signature="c2lnbmF0dXJl")
    with pytest.raises(CustomerTokenRefused, match=f"signed with '{algorithm}': only HS256"):
        verify(looks_signed, KEYS, NOW)


@pytest.mark.parametrize("garbage", ["not a token", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.c2ln"])
def test_a_malformed_token_is_refused(garbage):
    with pytest.raises(CustomerTokenRefused, match="malformed"):
        verify(garbage, KEYS, NOW)


@pytest.mark.parametrize("claim", ["sub", "exp"])
def test_a_token_without_sub_or_exp_is_refused(claim):
    without = jwt.encode({k: v for k, v in claims().items() if k != claim}, SECRET)
    with pytest.raises(CustomerTokenRefused, match=f"no `{claim}` claim"):
        verify(without, KEYS, NOW)


def test_a_time_that_is_not_a_number_is_refused():
    with pytest.raises(CustomerTokenRefused, match="`exp` must be a time"):
        verify(token(exp="tomorrow"), KEYS, NOW)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"sub": 42}, "customer_token.sub"),
        ({"name": "x" * 121}, "customer_token.name"),
        ({"email": "not an address"}, "customer_token.email"),
        ({"plan": ["enterprise"]}, "customer_token.plan"),
        ({"lifetime_value": "1000"}, "customer_token.lifetime_value"),
        ({"lifetime_value": True}, "customer_token.lifetime_value"),
        ({"lifetime_value": -5}, "customer_token.lifetime_value"),
        ({"attributes": ["JP"]}, "customer_token.attributes"),
        ({"attributes": {"country": {"code": "JP"}}}, "customer_token.attributes: country"),
        ({"attributes": {"note": "x" * 201}}, "customer_token.attributes: note: longer than 200"),
        ({"attributes": {f"a{i}": i for i in range(MAX_ATTRIBUTES + 1)}}, "customer_token.attributes: at most 20"),
        ({"attributes": {"plan": "free"}}, "customer_token.attributes: 'plan' is a claim of its own"),
        ({"attributes": {"bad name": 1}}, "customer_token.attributes: 'bad name' is not an attribute name"),
        ({"country": "JP"}, "customer_token.country: unknown claim"),
    ],
)
def test_claims_of_the_wrong_type_or_size_are_invalid_naming_the_claim(changes, field):
    with pytest.raises(Invalid) as refused:
        verify(token(**changes), KEYS, NOW)
    assert not isinstance(refused.value, CustomerTokenRefused)
    assert refused.value.message.startswith(field), refused.value.message


def test_a_token_too_long_is_invalid():
    with pytest.raises(Invalid, match="customer_token: longer than 4096"):
        verify(token(attributes={f"a{i}": "x" * 200 for i in range(20)}), KEYS, NOW)


def test_the_tokens_issuer_picks_the_sites_secret():
    keys = CustomerTokenKeys(sites={"shop": SECRET, "help": OTHER})
    assert verify(token(OTHER, iss="help"), keys, NOW).iss == "help"
    with pytest.raises(CustomerTokenRefused, match="wrong signature"):
        verify(token(SECRET, iss="help"), keys, NOW)  # one site's secret does not sign for another
    with pytest.raises(CustomerTokenRefused, match="unknown site"):
        verify(token(SECRET, iss="blog"), keys, NOW)
    with pytest.raises(CustomerTokenRefused, match="unknown site"):
        verify(token(SECRET), keys, NOW)
    # with a default secret too, a token of no listed site is checked with it
    assert verify(token(SECRET, iss="blog"), CustomerTokenKeys(SECRET, {"help": OTHER}), NOW).iss == "blog"


def test_without_any_secret_every_token_is_refused_saying_what_to_configure():
    with pytest.raises(CustomerTokenRefused, match="TIERZERO_CUSTOMER_TOKEN_SECRET"):
        verify(token(), CustomerTokenKeys(), NOW)


def test_the_keys_never_show_in_their_repr():
    shown = repr(CustomerTokenKeys(SECRET, {"help": OTHER}, "demo-key"))
    assert SECRET not in shown and OTHER not in shown and "demo-key" not in shown


def test_the_demo_token_is_the_demo_customers_only_and_signed_with_a_key_of_its_own():
    customers = Customers(KEYS, lambda: NOW, demo=True)
    demo = customers.demo_token()
    customer = customers.verify(demo)
    assert (customer.sub, customer.iss, customer.plan) == (DEMO_CUSTOMER["sub"], DEMO_ISSUER, "enterprise")
    with pytest.raises(CustomerTokenRefused, match="wrong signature"):
        verify(demo, KEYS, NOW)  # not the site's secret: the demo page is no signing oracle for the site
    assert Customers(KEYS, lambda: NOW).demo_token() is None
    # a token claiming to be the demo's is checked with the site's secret when the demo is off
    with pytest.raises(CustomerTokenRefused, match="wrong signature"):
        Customers(KEYS, lambda: NOW).verify(sign({**claims(), "iss": DEMO_ISSUER}, "x" * 32))


def test_the_model_keeps_only_verified_claims():
    assert set(KnownCustomer.model_fields) >= {"sub", "name", "email", "plan", "lifetime_value", "attributes"}
