// Standard Webhooks signing: the per-delivery HMAC (Sign / SignatureHeader,
// one Sign per valid secret: 1 normally, up to 3 during rotations), the
// Ed25519 ("v1a") signature that replaces it for asymmetric webhooks, and
// the receiver-side checks of both.
#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "service/signing/secret.h"
#include "service/signing/signature.h"

namespace wink::webhooks::signing {
namespace {

constexpr char kMessageId[] = "evt_01jdq3v8k2m7x9c4t6y1b5n0ra";
constexpr int64_t kTimestamp = 1795818000;

std::vector<std::string> Keys(int count) {
  std::vector<std::string> keys;
  for (int i = 0; i < count; ++i) keys.push_back(GenerateSecretKey().value());
  return keys;
}

// Args: body bytes.
void BM_Sign(benchmark::State& state) {
  const std::string key = Keys(1)[0];
  const std::string body(static_cast<size_t>(state.range(0)), 'x');
  for (auto _ : state) benchmark::DoNotOptimize(Sign(key, kMessageId, kTimestamp, body));
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Sign)->Arg(1 << 10)->Arg(16 << 10);

// Args: body bytes, keys.
void BM_SignatureHeader(benchmark::State& state) {
  const std::vector<std::string> keys = Keys(static_cast<int>(state.range(1)));
  const std::string body(static_cast<size_t>(state.range(0)), 'x');
  for (auto _ : state) {
    benchmark::DoNotOptimize(SignatureHeader(keys, kMessageId, kTimestamp, body));
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_SignatureHeader)->ArgsProduct({{1 << 10, 16 << 10}, {1, 3}});

// Args: body bytes. One key, matching the first of three signatures.
void BM_VerifySignature(benchmark::State& state) {
  const std::vector<std::string> keys = Keys(3);
  const std::string body(static_cast<size_t>(state.range(0)), 'x');
  const std::string header = SignatureHeader(keys, kMessageId, kTimestamp, body);
  const std::vector<std::string> verifier_keys = {keys[0]};
  const absl::Time now = absl::FromUnixSeconds(kTimestamp);
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        VerifySignature(verifier_keys, kMessageId, "1795818000", header, body, now));
  }
}
BENCHMARK(BM_VerifySignature)->Arg(1 << 10);

// Args: body bytes. The v1a counterpart of BM_Sign.
void BM_SignEd25519(benchmark::State& state) {
  const std::string key = GenerateSigningKey().value();
  const std::string body(static_cast<size_t>(state.range(0)), 'x');
  for (auto _ : state) benchmark::DoNotOptimize(SignEd25519(key, kMessageId, kTimestamp, body));
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_SignEd25519)->Arg(1 << 10)->Arg(16 << 10);

// Args: body bytes. The v1a counterpart of BM_VerifySignature (one key).
void BM_VerifyEd25519(benchmark::State& state) {
  const std::string key = GenerateSigningKey().value();
  const std::vector<std::string> public_keys = {PublicKeyOf(key).value()};
  const std::string body(static_cast<size_t>(state.range(0)), 'x');
  const std::string header = SignEd25519(key, kMessageId, kTimestamp, body);
  const absl::Time now = absl::FromUnixSeconds(kTimestamp);
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        VerifyEd25519Signature(public_keys, kMessageId, "1795818000", header, body, now));
  }
}
BENCHMARK(BM_VerifyEd25519)->Arg(1 << 10);

}  // namespace
}  // namespace wink::webhooks::signing
