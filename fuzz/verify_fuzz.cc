// The Standard Webhooks verifier (client/verify, wink/webhooks/verify.h) that
// receivers run on every request, and the secret format it reads.
//
// The input chooses two keys, a message id, a body, a timestamp header
// (usually a few seconds from `now`, sometimes arbitrary text), a signature
// header (arbitrary text, or a real signature by one of the keys with a few
// bytes changed) and a candidate "whsec_" secret. The expected signature is computed here with
// OpenSSL's HMAC directly, from the spec rather than from signature.cc.
//
// Invariants:
//  - VerifySignature accepts only if the header has an entry that is exactly
//    "v1," + base64(HMAC-SHA256(key, id.timestamp.body)) for a given key, and
//    the timestamp is 1-19 digits within the tolerance; it never accepts a
//    signature by a key it was not given;
//  - an unchanged signature by a given key within the tolerance is accepted;
//  - WebhookVerifier (created from the "whsec_" secret) agrees with
//    VerifySignature; errors are UNAUTHENTICATED;
//  - ParseSecret accepts exactly FormatSecret's spelling of 24-64-byte keys;
//  - the same for "v1a" (Ed25519, keys made from the same bytes): Ed25519
//    signatures are deterministic, so VerifyEd25519Signature accepts only
//    if the header has an entry that is exactly SignEd25519's (no second
//    spelling, no other key's), and accepts it unchanged; WebhookVerifier
//    with the "whpk_" public key agrees.
#include <fuzzer/FuzzedDataProvider.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "fuzz/fuzz_check.h"
#include "wink/webhooks/verify.h"

namespace {

namespace wh = ::wink::webhooks;

const absl::Time kNow = absl::FromUnixSeconds(1767225600);  // 2026-01-01
constexpr absl::Duration kTolerance = absl::Minutes(5);

std::string ExpectedEntry(const std::string& key, absl::string_view id, absl::string_view timestamp,
                          absl::string_view body) {
  const std::string content = absl::StrCat(id, ".", timestamp, ".", body);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_size = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(content.data()), content.size(), mac, &mac_size);
  unsigned char base64[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
  const int length = EVP_EncodeBlock(base64, mac, static_cast<int>(mac_size));
  return absl::StrCat("v1,", absl::string_view(reinterpret_cast<char*>(base64), length));
}

bool HasEntry(absl::string_view header, absl::string_view entry) {
  for (absl::string_view part : absl::StrSplit(header, ' ')) {
    if (part == entry) return true;
  }
  return false;
}

std::string TimestampHeader(FuzzedDataProvider& provider) {
  switch (provider.ConsumeIntegralInRange(0, 3)) {
    case 0:
      return provider.ConsumeRandomLengthString(24);
    case 1:  // leading zeros are signed as written
      return absl::StrCat("00", absl::ToUnixSeconds(kNow));
    default:
      return absl::StrCat(absl::ToUnixSeconds(kNow) + provider.ConsumeIntegralInRange(-400, 400));
  }
}

// `genuine` (a real signature entry), or arbitrary text, with a few bytes
// changed and other versions' entries around it.
std::string SignatureHeader(FuzzedDataProvider& provider, std::string genuine) {
  if (provider.ConsumeBool()) return provider.ConsumeRandomLengthString(200);
  std::string header = std::move(genuine);
  if (provider.ConsumeBool()) header = absl::StrCat("v1a,abc ", header, " v2,x v1,y");
  // A few changed bytes, often none: replaced, or with one of their two low
  // bits flipped (which, in base64, is usually a neighbouring digit).
  const int changes = provider.ConsumeIntegralInRange(0, 3);
  for (int i = 0; i < changes && !header.empty(); ++i) {
    const size_t at = provider.ConsumeIntegralInRange<size_t>(0, header.size() - 1);
    if (provider.ConsumeBool()) {
      header[at] = provider.ConsumeIntegral<char>();
    } else {
      header[at] ^= provider.ConsumeBool() ? 1 : 2;
    }
  }
  return header;
}

void CheckSecret(const std::string& key, const std::string& text) {
  const auto parsed = wh::ParseSecret(wh::FormatSecret(key));
  FUZZ_CHECK(parsed.ok() && *parsed == key, "ParseSecret(FormatSecret(key)) != key");
  const auto arbitrary = wh::ParseSecret(text);
  if (arbitrary.ok()) {
    FUZZ_CHECK(arbitrary->size() >= 24 && arbitrary->size() <= 64, "key size out of range");
    FUZZ_CHECK(wh::FormatSecret(*arbitrary) == text, "a second spelling is accepted: " + text);
  } else {
    FUZZ_CHECK(arbitrary.status().code() == absl::StatusCode::kInvalidArgument,
               arbitrary.status().ToString());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider provider(data, size);
  const std::string key = provider.ConsumeBytesAsString(provider.ConsumeIntegralInRange(24, 64));
  if (key.size() < 24) return 0;
  // A second key: the one an attacker has, or (rarely) the same one.
  std::string other_key = provider.ConsumeBytesAsString(provider.ConsumeIntegralInRange(24, 64));
  if (other_key.size() < 24) other_key = key + "x";
  const std::string id = provider.ConsumeRandomLengthString(40);
  const std::string body = provider.ConsumeRandomLengthString(256);
  const std::string timestamp = TimestampHeader(provider);
  const std::string signature = SignatureHeader(
      provider, ExpectedEntry(provider.ConsumeBool() ? key : other_key, id, timestamp, body));
  // Ed25519 private keys are any 32 bytes: the first 32 of the HMAC keys.
  const std::string seed = (key + std::string(32, '\0')).substr(0, 32);
  const std::string other_seed = (other_key + std::string(32, '\1')).substr(0, 32);
  const int64_t signed_at = absl::ToUnixSeconds(kNow);
  const std::string v1a_signature = SignatureHeader(
      provider, wh::SignEd25519(provider.ConsumeBool() ? seed : other_seed, id, signed_at, body));
  const std::string v1a_timestamp =
      provider.ConsumeBool() ? absl::StrCat(signed_at) : TimestampHeader(provider);
  const std::string secret_text = provider.ConsumeRemainingBytesAsString();

  const std::vector<std::string> keys = {key};
  const absl::Status status =
      wh::VerifySignature(keys, id, timestamp, signature, body, kNow, kTolerance);
  const std::string expected = ExpectedEntry(key, id, timestamp, body);
  bool timestamp_ok = !timestamp.empty() && timestamp.size() <= 19 &&
                      std::all_of(timestamp.begin(), timestamp.end(), absl::ascii_isdigit);
  if (timestamp_ok) {
    int64_t seconds = 0;
    timestamp_ok = absl::SimpleAtoi(timestamp, &seconds) &&
                   absl::AbsDuration(absl::FromUnixSeconds(seconds) - kNow) <= kTolerance;
  }
  if (status.ok()) {
    FUZZ_CHECK(timestamp_ok, "accepted timestamp \"" + timestamp + "\"");
    FUZZ_CHECK(HasEntry(signature, expected),
               absl::StrCat("accepted a signature that is not the key's: \"", signature,
                            "\" (expected entry \"", expected, "\")"));
  } else {
    FUZZ_CHECK(status.code() == absl::StatusCode::kUnauthenticated, status.ToString());
    FUZZ_CHECK(!(timestamp_ok && HasEntry(signature, expected)),
               "refused a correct signature: " + status.ToString());
  }

  // The same through the receiver API, with the secret as configured.
  const auto verifier = wh::WebhookVerifier::Create({wh::FormatSecret(key)},
                                                    wh::WebhookVerifier::Options{kTolerance});
  FUZZ_CHECK(verifier.ok(), verifier.status().ToString());
  const absl::Status via_verifier = verifier->Verify(
      {{"Webhook-Id", id}, {"WEBHOOK-TIMESTAMP", timestamp}, {"webhook-signature", signature}},
      body, kNow);
  if (!id.empty() && !timestamp.empty() && !signature.empty()) {
    FUZZ_CHECK(via_verifier.ok() == status.ok(), via_verifier.ToString());
  } else {
    FUZZ_CHECK(via_verifier.code() == absl::StatusCode::kUnauthenticated, via_verifier.ToString());
  }

  CheckSecret(key, secret_text);

  // v1a. The genuine entry is for the exact timestamp text signed_at; any
  // other text (a changed number, leading zeros) is other content.
  const auto public_key = wh::PublicKeyOf(seed);
  FUZZ_CHECK(public_key.ok(), public_key.status().ToString());
  const absl::Status v1a_status = wh::VerifyEd25519Signature(
      {*public_key}, id, v1a_timestamp, v1a_signature, body, kNow, kTolerance);
  const bool genuine = v1a_timestamp == absl::StrCat(signed_at) &&
                       HasEntry(v1a_signature, wh::SignEd25519(seed, id, signed_at, body));
  if (v1a_status.ok()) {
    FUZZ_CHECK(genuine, absl::StrCat("accepted a v1a signature that is not the key's: \"",
                                     v1a_signature, "\" at \"", v1a_timestamp, "\""));
  } else {
    FUZZ_CHECK(v1a_status.code() == absl::StatusCode::kUnauthenticated, v1a_status.ToString());
    FUZZ_CHECK(!genuine, "refused a correct v1a signature: " + v1a_status.ToString());
  }
  const auto v1a_verifier = wh::WebhookVerifier::Create({wh::FormatPublicKey(*public_key)},
                                                        wh::WebhookVerifier::Options{kTolerance});
  FUZZ_CHECK(v1a_verifier.ok(), v1a_verifier.status().ToString());
  if (!id.empty() && !v1a_signature.empty()) {
    const absl::Status via = v1a_verifier->Verify(id, v1a_timestamp, v1a_signature, body, kNow);
    FUZZ_CHECK(via.ok() == v1a_status.ok(), via.ToString());
  }
  return 0;
}
