"""Standard Webhooks signature verification for receivers of Wink Webhooks.

Every delivery is an HTTPS POST carrying three headers
(https://www.standardwebhooks.com, symmetric "v1" scheme):

  webhook-id:        the event id, the same on every retry (dedupe on it)
  webhook-timestamp: Unix seconds when this attempt was signed
  webhook-signature: space-separated "v1,<base64 HMAC-SHA256>" entries (more
                     than one while a rotated-out secret still signs)

The HMAC key is the webhook's secret, "whsec_" + base64(key bytes); the
signed content is "{webhook-id}.{webhook-timestamp}.{raw body}". This module
needs nothing but the standard library; the C++ equivalent is
client/verify/wink/webhooks/verify.h, whose rules it follows.
"""

import base64
import binascii
import hashlib
import hmac
import time

SECRET_PREFIX = "whsec_"
# How far webhook-timestamp may be from the receiver's clock, either way (the
# spec's recommendation). Bounds how long a captured request can be replayed.
DEFAULT_TOLERANCE_SECONDS = 5 * 60


class InvalidSignature(Exception):
    """The request is not signed by any of the secrets. str() says why,
    starting with the header at fault; it never contains a secret or a
    signature, so it may be logged and sent back to the sender."""


def parse_secret(secret):
    """Returns the raw key bytes of a "whsec_..." secret.

    Raises ValueError (without echoing the secret) unless it is "whsec_"
    followed by padded standard base64 of 24-64 bytes.
    """
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError('secret must start with "whsec_"')
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX):], validate=True)
    except (binascii.Error, ValueError):
        raise ValueError('secret: not base64 after "whsec_"') from None
    if not 24 <= len(key) <= 64:
        raise ValueError("secret: the key must be 24-64 bytes, not %d" % len(key))
    return key


def sign(secret, msg_id, timestamp, body):
    """The "v1,<base64>" signature of `body` (bytes) for one message, as the
    service sends it. `timestamp` is Unix seconds (int or the header's str)."""
    signed = b"%s.%s.%s" % (msg_id.encode(), str(timestamp).encode(), body)
    mac = hmac.new(parse_secret(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def _single_header(headers, name):
    # Header names are case-insensitive. A repeated header is refused rather
    # than guessing which copy the signature covers.
    values = [value for key, value in _items(headers) if key.lower() == name]
    if len(values) > 1:
        raise InvalidSignature(name + ": header repeated")
    if not values or not values[0]:
        raise InvalidSignature(name + ": header missing")
    return values[0]


def _items(headers):
    # A dict, http.server's / email's Message (whose items() keeps repeated
    # headers), or a list of (name, value) pairs.
    return headers.items() if hasattr(headers, "items") else headers


def verify_signature(secret, headers, body, now=None,
                     tolerance=DEFAULT_TOLERANCE_SECONDS):
    """Checks one received request; returns its webhook-id when it is
    authentic, raises InvalidSignature otherwise.

    secret:  the webhook's "whsec_..." secret, or a list of them (during a
             rotation on the receiver's side any one may match). A malformed
             secret raises ValueError: that is a configuration error.
    headers: the request headers, names in any case (see _items).
    body:    the raw body bytes as received. Verify before parsing: JSON
             re-encoded by a parser is not what was signed.
    now:     Unix seconds, default the current time (for tests).

    Reasons (str of the exception): "webhook-id: header missing" (likewise
    for the other headers; also when empty), "...: header repeated",
    "webhook-timestamp: must be Unix seconds", "webhook-timestamp: timestamp
    too old" / "too new" (more than `tolerance` seconds away from `now`;
    exactly `tolerance` passes), "webhook-signature: no matching signature".
    """
    secrets = [secret] if isinstance(secret, str) else list(secret)
    keys = [parse_secret(s) for s in secrets]  # first: a bad secret is our fault

    msg_id = _single_header(headers, "webhook-id")
    timestamp = _single_header(headers, "webhook-timestamp")
    signature_header = _single_header(headers, "webhook-signature")

    # Digits only (int() would also take "+1", " 1" or "1_000"); signed as
    # written, so it is not normalised either.
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 19):
        raise InvalidSignature("webhook-timestamp: must be Unix seconds")
    now = int(time.time()) if now is None else now
    if now - int(timestamp) > tolerance:
        raise InvalidSignature("webhook-timestamp: timestamp too old")
    if int(timestamp) - now > tolerance:
        raise InvalidSignature("webhook-timestamp: timestamp too new")

    signed = b"%s.%s.%s" % (msg_id.encode(), timestamp.encode(), body)
    expected = [base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest())
                for key in keys]
    for entry in signature_header.split(" "):
        version, _, value = entry.partition(",")
        if version != "v1":
            continue  # another scheme (e.g. "v1a," asymmetric): not ours to check
        # Comparing with the canonical base64 text in constant time: a timing
        # difference must not tell an attacker how much of a guess was right.
        for mac in expected:
            if hmac.compare_digest(mac, value.encode()):
                return msg_id
    raise InvalidSignature("webhook-signature: no matching signature")
