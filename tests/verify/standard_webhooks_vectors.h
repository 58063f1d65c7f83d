// The test vector of the Standard Webhooks reference libraries, shared by the
// tests of the verification library and of the service's signing names.
// Source: github.com/standard-webhooks/standard-webhooks,
//   libraries/python/tests/test_webhooks.py (test_sign_function, the
//   DEFAULT_* constants, test_invalid_signature_raises_error and
//   test_multi_sig_payload_is_valid) and libraries/go/webhook_test.go
//   (TestWebhookSign, defaultMsgID/defaultPayload/defaultSecret).
#ifndef WINK_WEBHOOKS_TESTS_VERIFY_STANDARD_WEBHOOKS_VECTORS_H_
#define WINK_WEBHOOKS_TESTS_VERIFY_STANDARD_WEBHOOKS_VECTORS_H_

#include <cstdint>

namespace wink::webhooks::testing {

inline constexpr char kSecret[] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
inline constexpr char kMsgId[] = "msg_p5jXN8AQM9LWM0D4loKWxJek";
inline constexpr int64_t kTimestamp = 1614265330;
inline constexpr char kTimestampHeader[] = "1614265330";
inline constexpr char kPayload[] = R"({"test": 2432232314})";
inline constexpr char kSignature[] = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
// Well-formed v1 signatures that match nothing, from the same test files.
inline constexpr char kForeignSignature[] = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=";
inline constexpr char kLastByteFlipped[] = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA=";

// The asymmetric ("v1a", Ed25519) vector, from libraries/go/
// webhook_asymmetric_test.go (TestAsymmetricWebhookSign: the private key,
// there without its whsk_ prefix, signs kMsgId, kTimestamp and kPayload;
// TestAsymmetricWebhook's "invalid signature" and "partial signature").
inline constexpr char kSigningKey[] = "whsk_VEVTVFNJR05JTkdLRVlET05PVFVTRVRISVNGT1JBTlk=";
inline constexpr char kAsymmetricSignature[] =
    "v1a,tQ9V2XOqn7jL/DQenEFpqIugdBVtiMmER5mhSkXBNwM0mkATuDe6KYYUuxqtaiHeYGb7KaaBRdM5WqyeFiL8Ag==";
inline constexpr char kAsymmetricInvalid[] = "v1a,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=";
inline constexpr char kAsymmetricPartial[] = "v1a,";

}  // namespace wink::webhooks::testing

#endif  // WINK_WEBHOOKS_TESTS_VERIFY_STANDARD_WEBHOOKS_VECTORS_H_
