"""Standard Webhooks signature verification for receivers of Wink Webhooks.

Every delivery is an HTTPS POST carrying three headers
(https://www.standardwebhooks.com):

  webhook-id:        the event id, the same on every retry (dedupe on it)
  webhook-timestamp: Unix seconds when this attempt was signed
  webhook-signature: space-separated "v1,<base64 HMAC-SHA256>" entries, or
                     "v1a,<base64 Ed25519 signature>" for a webhook with
                     signature_scheme ED25519 (more than one while a
                     rotated-out key still signs)

The signed content is "{webhook-id}.{webhook-timestamp}.{raw body}". A "v1"
entry is checked with the webhook's secret, "whsec_" + base64(key bytes); a
"v1a" entry with its public key, "whpk_" + base64(32 bytes), which GetWebhook
shows. Checking "v1" needs nothing but the standard library; checking "v1a"
needs Debian's python3-cryptography, imported only when a "whpk_" key is
given. The C++ equivalent is client/verify/wink/webhooks/verify.h, whose
rules this follows.
"""

import base64
import binascii
import hashlib
import hmac
import time

SECRET_PREFIX = "whsec_"
PUBLIC_KEY_PREFIX = "whpk_"
# How far webhook-timestamp may be from the receiver's clock, either way (the
# spec's recommendation). Bounds how long a captured request can be replayed.
DEFAULT_TOLERANCE_SECONDS = 5 * 60


class InvalidSignature(Exception):
    """The request is not signed by any of the secrets. str() says why,
    starting with the header at fault; it never contains a secret or a
    signature, so it may be logged and sent back to the sender."""


def _decode_key(value, prefix, what):
    # The bytes after `prefix`, which must be padded standard base64; the
    # errors never echo the key.
    if not value.startswith(prefix):
        raise ValueError('%s must start with "%s"' % (what, prefix))
    try:
        return base64.b64decode(value[len(prefix):], validate=True)
    except (binascii.Error, ValueError):
        raise ValueError('%s: not base64 after "%s"' % (what, prefix)) from None


def parse_secret(secret):
    """Returns the raw key bytes of a "whsec_..." secret.

    Raises ValueError (without echoing the secret) unless it is "whsec_"
    followed by padded standard base64 of 24-64 bytes.
    """
    key = _decode_key(secret, SECRET_PREFIX, "secret")
    if not 24 <= len(key) <= 64:
        raise ValueError("secret: the key must be 24-64 bytes, not %d" % len(key))
    return key


def parse_public_key(public_key):
    """Returns the 32 raw bytes of a "whpk_..." Ed25519 public key.

    Raises ValueError unless it is "whpk_" followed by padded standard base64
    of 32 bytes.
    """
    key = _decode_key(public_key, PUBLIC_KEY_PREFIX, "public key")
    if len(key) != 32:
        raise ValueError("public key: an Ed25519 key is 32 bytes, not %d" % len(key))
    return key


def _ed25519_verifier(public_key):
    """A function(signature bytes, content bytes) -> bool for one "whpk_"
    key. Imports python3-cryptography here, so that "v1" receivers do not
    need it."""
    try:
        from cryptography.exceptions import InvalidSignature as _BadSignature
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    except ImportError:
        raise ImportError('checking "v1a" (Ed25519) signatures needs python3-cryptography '
                          "(apt install python3-cryptography)") from None
    key = Ed25519PublicKey.from_public_bytes(parse_public_key(public_key))

    def verify(signature, content):
        try:
            key.verify(signature, content)
            return True
        except _BadSignature:
            return False
    return verify


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

    secret:  the webhook's "whsec_..." secret (checks "v1" entries) or
             "whpk_..." public key (checks "v1a" entries), or a list of them
             (during a rotation on the receiver's side any one may match). A
             malformed secret or key raises ValueError: that is a
             configuration error.
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
    # First: a bad secret or key is our fault, whatever the request holds.
    keys = [parse_secret(s) for s in secrets if not s.startswith(PUBLIC_KEY_PREFIX)]
    ed25519_verifiers = [_ed25519_verifier(s) for s in secrets
                         if s.startswith(PUBLIC_KEY_PREFIX)]

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
        if version == "v1":
            # Comparing with the canonical base64 text in constant time: a
            # timing difference must not tell an attacker how much of a guess
            # was right.
            for mac in expected:
                if hmac.compare_digest(mac, value.encode()):
                    return msg_id
        elif version == "v1a" and ed25519_verifiers:
            try:
                signature = base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                continue  # not base64: matches nothing
            if len(signature) != 64:
                continue
            for verify in ed25519_verifiers:
                if verify(signature, signed):
                    return msg_id
        # Any other scheme (e.g. "v2,"): not ours to check.
    raise InvalidSignature("webhook-signature: no matching signature")
