"""Known customers: who the host site says the customer is, in a token it signs for the widget.

The host site signs a JWT (HS256, with a secret it shares with Tier Zero: one for every site, or one per site picked
by the token's `iss`) that says who its signed-in customer is: their id on the site (`sub`), `name`, `email`,
`plan`, `lifetime_value`, free `attributes`, and when the token expires (`exp`). `verify` checks it here, on the
server; a conversation opened with it holds the verified claims (never the token, never a secret), so the contact
form does not ask for the name and email, and the routing and priority rules read `plan`, `lifetime_value` and the
attributes (config/policies.yml, `customer:`).

A customer token describes who the customer is; it opens nothing. The conversation's own token stays the only key
to a conversation, so a customer token never reaches another customer's conversation (nor their own earlier ones:
those are the agents' to see, `usecases.tickets.CustomerHistory`).

Refusals: a token that is malformed, expired, not yet valid, signed with another secret or with another algorithm
than HS256 (`alg: none`, HS512, RS256 …), or without `sub` or `exp`, is `CustomerTokenRefused` (401); claims of the
wrong type or over the size limits are `Invalid` (422), naming the claim (`customer_token.plan: …`)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from handoff import EMAIL_ADDRESS
from usecases.errors import Invalid, Unauthorized

ALGORITHM = "HS256"
# Clocks of the host site and of this server may differ this much.
LEEWAY = timedelta(seconds=30)
MAX_TOKEN_CHARS = 4096
MAX_ATTRIBUTES = 20
MAX_ATTRIBUTE_CHARS = 200
ATTRIBUTE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,39}")
# The claims with a meaning of their own: an attribute may not take one of their names.
NAMED_CLAIMS = frozenset({"sub", "name", "email", "plan", "lifetime_value"})
# The demo page's tokens: signed for one fixed demo customer with a key of this process's own (never a site's).
DEMO_ISSUER = "tierzero-demo"
DEMO_CUSTOMER: dict[str, Any] = {
    "sub": "demo-customer-1",
    "name": "Yuki Tanaka",
    "email": "yuki.tanaka@example.com",
    "plan": "enterprise",
    "lifetime_value": 2400,
    "attributes": {"country": "JP", "orders": 37},
}
DEMO_TOKEN_LIFETIME = timedelta(hours=2)


class CustomerTokenRefused(Unauthorized):
    """The customer token cannot be trusted: malformed, expired, or not signed by a configured site with HS256."""


def _scalar_problem(value: Any) -> str | None:
    if isinstance(value, bool | int) or (isinstance(value, float) and value == value and abs(value) != float("inf")):
        return None
    if isinstance(value, str):
        return None if len(value) <= MAX_ATTRIBUTE_CHARS else f"longer than {MAX_ATTRIBUTE_CHARS} characters"
    return "must be a string, a number or true/false"


class KnownCustomer(BaseModel):
    """What a verified customer token says of the customer: its claims, each checked for type and size."""

    model_config = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False, frozen=True)

    sub: str = Field(min_length=1, max_length=120, description="The customer's id on the host site.")
    iss: str | None = Field(default=None, max_length=80, description="The site that signed the token.")
    name: str | None = Field(default=None, min_length=1, max_length=120)
    email: str | None = Field(default=None, max_length=254, pattern=EMAIL_ADDRESS.pattern)
    plan: str | None = Field(default=None, min_length=1, max_length=40)
    lifetime_value: float | None = Field(default=None, ge=0)
    attributes: dict[str, Any] = Field(default_factory=dict)
    # registered claims, checked by `verify` (times) or not used (aud, jti)
    exp: int | float
    iat: int | float | None = None
    nbf: int | float | None = None
    aud: str | list[str] | None = None
    jti: str | None = Field(default=None, max_length=200)

    @field_validator("attributes")
    @classmethod
    def _attributes(cls, value: dict[str, Any]) -> dict[str, Any]:
        if len(value) > MAX_ATTRIBUTES:
            raise ValueError(f"at most {MAX_ATTRIBUTES} attributes, not {len(value)}")
        for name, item in value.items():
            if not ATTRIBUTE_NAME.fullmatch(name):
                raise ValueError(f"{name[:50]!r} is not an attribute name (letters, digits and _, up to 40)")
            if name in NAMED_CLAIMS:
                raise ValueError(f"{name!r} is a claim of its own: put it beside `attributes`, not in them")
            if problem := _scalar_problem(item):
                raise ValueError(f"{name}: {problem}")
        return value

    def routing_attributes(self) -> dict[str, Any]:
        """What the routing and priority rules read as `customer:`: the attributes, `plan` and `lifetime_value`."""
        named = {"plan": self.plan, "lifetime_value": self.lifetime_value}
        return {**self.attributes, **{k: v for k, v in named.items() if v is not None}}


@dataclass(frozen=True)
class CustomerTokenKeys:
    """The secrets customer tokens are checked with: `sites` by the token's `iss`, else `default`; and the demo
    page's own key (tokens with `iss: tierzero-demo` only). Never printed: repr hides them."""

    default: str | None = field(default=None, repr=False)
    sites: Mapping[str, str] = field(default_factory=dict, repr=False)
    demo: str | None = field(default=None, repr=False)

    @property
    def configured(self) -> bool:
        return bool(self.default or self.sites or self.demo)

    def key_for(self, issuer: str | None) -> str | None:
        if issuer == DEMO_ISSUER and self.demo:
            return self.demo
        if issuer is not None and issuer in self.sites:
            return self.sites[issuer]
        return self.default


def _refused(why: str) -> CustomerTokenRefused:
    return CustomerTokenRefused(f"customer_token {why}")


def _invalid(error: ValidationError) -> Invalid:
    parts = []
    for problem in error.errors():
        where = ".".join(str(p) for p in ("customer_token", *problem["loc"]))
        message = problem["msg"].removeprefix("Value error, ")
        if problem["type"] == "extra_forbidden":
            message = "unknown claim: free attributes go in `attributes`"
        parts.append(f"{where}: {message}")
    return Invalid("; ".join(parts))


def _time_claim(claims: Mapping[str, Any], name: str) -> datetime | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value or abs(value) > 1e11:
        raise _refused(f"is malformed: `{name}` must be a time in seconds since 1970 (a number)")
    return datetime.fromtimestamp(value, UTC)


def verify(token: str, keys: CustomerTokenKeys, now: datetime) -> KnownCustomer:
    """The customer the token describes, once its signature, algorithm and times are checked (a leeway of
    `LEEWAY` each way); `CustomerTokenRefused` or `Invalid` saying why not. `now` is tz-aware."""
    if not keys.configured:
        raise _refused(
            "cannot be checked: this server has no secret for customer tokens (TIERZERO_CUSTOMER_TOKEN_SECRET)"
        )
    if len(token) > MAX_TOKEN_CHARS:
        raise Invalid(f"customer_token: longer than {MAX_TOKEN_CHARS} characters")
    try:
        header = jwt.get_unverified_header(token)
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as error:
        raise _refused(f"is malformed ({error}): it must be a JWT, header.claims.signature") from error
    algorithm = header.get("alg")
    if algorithm != ALGORITHM:
        raise _refused(f"is signed with {algorithm!r}: only {ALGORITHM} is accepted")
    issuer = unverified.get("iss")
    key = keys.key_for(issuer if isinstance(issuer, str) else None)
    if key is None:
        raise _refused(f"comes from an unknown site (iss {issuer!r}): no secret is configured for it")
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            options={
                "verify_exp": False,  # the times are checked below, against `now`
                "verify_nbf": False,
                "verify_iat": False,
                "verify_aud": False,
                "verify_iss": False,
                "verify_sub": False,  # its type is checked with the other claims (422)
                "verify_jti": False,
            },
        )
    except jwt.InvalidSignatureError as error:
        raise _refused("has a wrong signature: sign it with the site's secret (HS256)") from error
    except jwt.PyJWTError as error:
        raise _refused(f"is malformed ({error})") from error
    for required in ("sub", "exp"):
        if claims.get(required) in (None, ""):
            raise _refused(f"has no `{required}` claim: every token names the customer (sub) and expires (exp)")
    expires, not_before = _time_claim(claims, "exp"), _time_claim(claims, "nbf")
    issued = _time_claim(claims, "iat")
    if expires is not None and now > expires + LEEWAY:
        raise _refused(f"expired at {expires.isoformat()}: sign a new one for each page")
    if not_before is not None and now < not_before - LEEWAY:
        raise _refused(f"is not valid before {not_before.isoformat()}")
    if issued is not None and now < issued - LEEWAY:
        raise _refused(f"was issued in the future ({issued.isoformat()}): check the host site's clock")
    try:
        return KnownCustomer.model_validate(claims)
    except ValidationError as error:
        raise _invalid(error) from error


def sign(claims: Mapping[str, Any], key: str) -> str:
    """A customer token (HS256) for `claims`, as a host site makes one."""
    return jwt.encode(dict(claims), key, algorithm=ALGORITHM)


class Customers:
    """Customer tokens: checked with the configured keys; the demo page's one, signed for the demo customer only
    (`demo` on: a key of this process's own, so no site's secret ever signs what a visitor can fetch)."""

    def __init__(self, keys: CustomerTokenKeys, now: Callable[[], datetime], *, demo: bool = False) -> None:
        self.now = now  # tz-aware
        self.demo_enabled = demo
        if demo and not keys.demo:
            keys = CustomerTokenKeys(keys.default, keys.sites, secrets.token_urlsafe(32))
        self.keys = keys

    def verify(self, token: str) -> KnownCustomer:
        return verify(token, self.keys, self.now())

    def demo_token(self) -> str | None:
        """A token for the fixed demo customer, valid for `DEMO_TOKEN_LIFETIME`; None unless the demo is on."""
        if not self.demo_enabled or not self.keys.demo:
            return None
        now = self.now()
        expires = int((now + DEMO_TOKEN_LIFETIME).timestamp())
        return sign({**DEMO_CUSTOMER, "iss": DEMO_ISSUER, "iat": int(now.timestamp()), "exp": expires}, self.keys.demo)
