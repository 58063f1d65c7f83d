// Secrets at rest on the delivery path: every attempt opens the webhook's
// signing key and header values (AES-256-GCM) before it signs. Compare with
// BM_SignatureHeader (signing_bench.cc), the HMAC the attempt needs anyway.
#include <cstdlib>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "service/secrets/keyring.h"
#include "service/secrets/webhook_secrets.h"
#include "service/signing/secret.h"

namespace wink::webhooks::secrets {
namespace {

// A webhook as the engine reads it: one signing secret and `headers`
// custom headers, sealed (or plaintext, without a key file).
WebhookRecord Webhook(const Keyring& keyring, int headers) {
  WebhookRecord record;
  record.set_account("bench");
  SigningSecretRecord* secret = record.add_secrets();
  secret->set_key(signing::GenerateSecretKey().value());
  for (int i = 0; i < headers; ++i) {
    (*record.mutable_headers())[absl::StrCat("X-Header-", i)] = "value-of-a-receiver-api-key";
  }
  if (!SealWebhookSecrets(keyring, record).ok()) std::abort();
  return record;
}

Keyring BenchKeyring(bool with_key) {
  if (!with_key) return Keyring();
  const std::string line =
      absl::StrCat("bench ", absl::Base64Escape(std::string(32, '\x5a')), "\n");
  return Keyring::Parse(line, "bench").value();
}

// Args: headers, 1 = sealed (a key file) / 0 = plaintext (none).
void BM_OpenSecretsForAnAttempt(benchmark::State& state) {
  const Keyring keyring = BenchKeyring(state.range(1) == 1);
  const WebhookRecord record = Webhook(keyring, static_cast<int>(state.range(0)));
  for (auto _ : state) {
    benchmark::DoNotOptimize(OpenSigningKey(keyring, record, record.secrets(0)));
    benchmark::DoNotOptimize(OpenHeaders(keyring, record));
  }
}
BENCHMARK(BM_OpenSecretsForAnAttempt)->ArgsProduct({{0, 3}, {0, 1}});

}  // namespace
}  // namespace wink::webhooks::secrets
