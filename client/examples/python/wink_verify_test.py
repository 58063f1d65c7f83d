"""Tests of wink_verify with the Standard Webhooks reference vector, the same
one the C++ library is tested with (tests/verify/standard_webhooks_vectors.h).

Run: python3 client/examples/python/wink_verify_test.py
"""

import unittest

from wink_verify import (InvalidSignature, parse_public_key, parse_secret, sign,
                         verify_signature)

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
TIMESTAMP = 1614265330
PAYLOAD = b'{"test": 2432232314}'
SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
# Well-formed v1 signatures that match nothing.
FOREIGN_SIGNATURE = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="
LAST_BYTE_FLIPPED = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA="
OTHER_SECRET = "whsec_" + "A" * 44  # 32 zero bytes


def headers(signature=SIGNATURE, msg_id=MSG_ID, timestamp=str(TIMESTAMP)):
    return {"webhook-id": msg_id, "webhook-timestamp": timestamp,
            "webhook-signature": signature}


class VerifySignatureTest(unittest.TestCase):
    def assert_rejected(self, reason, secret, request_headers, body=PAYLOAD,
                        now=TIMESTAMP):
        with self.assertRaises(InvalidSignature) as caught:
            verify_signature(secret, request_headers, body, now=now)
        self.assertEqual(str(caught.exception), reason)

    def test_sign_matches_the_reference_vector(self):
        self.assertEqual(sign(SECRET, MSG_ID, TIMESTAMP, PAYLOAD), SIGNATURE)

    def test_reference_vector_verifies_and_returns_the_id(self):
        self.assertEqual(verify_signature(SECRET, headers(), PAYLOAD, now=TIMESTAMP), MSG_ID)

    def test_header_names_in_any_case_and_as_pairs(self):
        mixed = {"Webhook-Id": MSG_ID, "WEBHOOK-TIMESTAMP": str(TIMESTAMP),
                 "Webhook-Signature": SIGNATURE}
        self.assertEqual(verify_signature(SECRET, mixed, PAYLOAD, now=TIMESTAMP), MSG_ID)
        self.assertEqual(verify_signature(SECRET, list(mixed.items()), PAYLOAD,
                                          now=TIMESTAMP), MSG_ID)

    def test_any_entry_of_several_may_match(self):
        several = FOREIGN_SIGNATURE + " " + SIGNATURE
        self.assertEqual(verify_signature(SECRET, headers(several), PAYLOAD,
                                          now=TIMESTAMP), MSG_ID)

    def test_any_of_several_secrets_may_match(self):
        self.assertEqual(verify_signature([OTHER_SECRET, SECRET], headers(), PAYLOAD,
                                          now=TIMESTAMP), MSG_ID)

    def test_other_versions_are_skipped(self):
        self.assert_rejected("webhook-signature: no matching signature", SECRET,
                             headers("v1a," + SIGNATURE[3:]))
        self.assertEqual(verify_signature(SECRET, headers("v2,xyz " + SIGNATURE), PAYLOAD,
                                          now=TIMESTAMP), MSG_ID)

    def test_wrong_signatures_are_rejected(self):
        for wrong in (FOREIGN_SIGNATURE, LAST_BYTE_FLIPPED, SIGNATURE[:-1], "v1,", ""):
            with self.subTest(signature=wrong):
                reason = ("webhook-signature: header missing" if not wrong
                          else "webhook-signature: no matching signature")
                self.assert_rejected(reason, SECRET, headers(wrong))

    def test_changed_body_id_or_secret_is_rejected(self):
        no_match = "webhook-signature: no matching signature"
        self.assert_rejected(no_match, SECRET, headers(), body=PAYLOAD + b" ")
        self.assert_rejected(no_match, SECRET, headers(msg_id=MSG_ID + "x"))
        self.assert_rejected(no_match, OTHER_SECRET, headers())

    def test_timestamp_tolerance_is_five_minutes_inclusive(self):
        for now in (TIMESTAMP - 300, TIMESTAMP + 300):
            self.assertEqual(verify_signature(SECRET, headers(), PAYLOAD, now=now), MSG_ID)
        self.assert_rejected("webhook-timestamp: timestamp too old", SECRET, headers(),
                             now=TIMESTAMP + 301)
        self.assert_rejected("webhook-timestamp: timestamp too new", SECRET, headers(),
                             now=TIMESTAMP - 301)

    def test_timestamp_must_be_plain_digits(self):
        for bad in ("+1614265330", " 1614265330", "1614265330.0", "1_614_265_330",
                    "-1", "1" * 20, "\u0661\u0662"):  # the last: Arabic-Indic digits
            with self.subTest(timestamp=bad):
                self.assert_rejected("webhook-timestamp: must be Unix seconds", SECRET,
                                     headers(timestamp=bad))

    def test_missing_and_repeated_headers(self):
        for name in ("webhook-id", "webhook-timestamp", "webhook-signature"):
            with self.subTest(header=name):
                without = {k: v for k, v in headers().items() if k != name}
                self.assert_rejected(name + ": header missing", SECRET, without)
                repeated = list(headers().items()) + [(name.upper(), headers()[name])]
                self.assert_rejected(name + ": header repeated", SECRET, repeated)

    def test_malformed_secrets_are_a_value_error(self):
        for bad in ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_not base64!",
                    "whsec_" + "A" * 28, "whsec_" + "A" * 92):  # 21 and 69 bytes
            with self.subTest(secret=bad):
                with self.assertRaises(ValueError):
                    verify_signature(bad, headers(), PAYLOAD, now=TIMESTAMP)
        self.assertEqual(len(parse_secret(SECRET)), 24)


# The asymmetric ("v1a", Ed25519) vector of the Standard Webhooks reference
# libraries (tests/verify/standard_webhooks_vectors.h: its whsk_ signing key
# signs MSG_ID, TIMESTAMP and PAYLOAD); this is that key's public half.
PUBLIC_KEY = "whpk_ZlN4eg7dSSqi0moX9hQUk3orrOouK3QVQSlJa248c/g="
ASYMMETRIC_SIGNATURE = ("v1a,tQ9V2XOqn7jL/DQenEFpqIugdBVtiMmER5mhSkXBNwM0mkATuDe6KYYUuxqtaiHe"
                        "YGb7KaaBRdM5WqyeFiL8Ag==")
OTHER_PUBLIC_KEY = "whpk_" + "A" * 43 + "="  # 32 zero bytes


class VerifyAsymmetricSignatureTest(unittest.TestCase):
    def assert_rejected(self, key, signature, body=PAYLOAD, msg_id=MSG_ID):
        with self.assertRaises(InvalidSignature) as caught:
            verify_signature(key, headers(signature, msg_id=msg_id), body, now=TIMESTAMP)
        self.assertEqual(str(caught.exception), "webhook-signature: no matching signature")

    def test_reference_vector_verifies_with_the_public_key(self):
        self.assertEqual(verify_signature(PUBLIC_KEY, headers(ASYMMETRIC_SIGNATURE), PAYLOAD,
                                          now=TIMESTAMP), MSG_ID)

    def test_during_a_scheme_switch_either_key_may_match_either_entry(self):
        both = SIGNATURE + " " + ASYMMETRIC_SIGNATURE
        for key in (PUBLIC_KEY, SECRET, [OTHER_PUBLIC_KEY, PUBLIC_KEY], [SECRET, PUBLIC_KEY]):
            with self.subTest(key=key):
                self.assertEqual(verify_signature(key, headers(both), PAYLOAD, now=TIMESTAMP),
                                 MSG_ID)

    def test_wrong_signatures_keys_and_content_are_rejected(self):
        for wrong in ("v1a,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=", "v1a,",
                      "v1a,not base64!", ASYMMETRIC_SIGNATURE[:-4] + "AA==",
                      "v1," + ASYMMETRIC_SIGNATURE[4:], SIGNATURE):
            with self.subTest(signature=wrong):
                self.assert_rejected(PUBLIC_KEY, wrong)
        self.assert_rejected(OTHER_PUBLIC_KEY, ASYMMETRIC_SIGNATURE)
        self.assert_rejected(PUBLIC_KEY, ASYMMETRIC_SIGNATURE, body=PAYLOAD + b" ")
        self.assert_rejected(PUBLIC_KEY, ASYMMETRIC_SIGNATURE, msg_id=MSG_ID + "x")

    def test_malformed_public_keys_are_a_value_error(self):
        for bad in ("whpk_not base64!", "whpk_" + "A" * 44, "whpk_" + "A" * 40):  # 33, 30 bytes
            with self.subTest(key=bad):
                with self.assertRaises(ValueError):
                    verify_signature(bad, headers(ASYMMETRIC_SIGNATURE), PAYLOAD,
                                     now=TIMESTAMP)
        self.assertEqual(len(parse_public_key(PUBLIC_KEY)), 32)


if __name__ == "__main__":
    unittest.main()
