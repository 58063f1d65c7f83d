// The JSON check every published payload goes through (CheckJsonObject).
#include <string>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "service/common/json.h"

namespace wink::webhooks {
namespace {

// A booking-like object of at least `bytes` bytes: nested objects, arrays,
// strings with escapes and non-ASCII, integers and decimals.
std::string Payload(size_t bytes) {
  std::string json =
      R"({"booking_id":"B-000123","property":{"id":"P-42","name":"Hôtel \"Le Port\""},"rooms":[)";
  for (int i = 0; json.size() + 120 < bytes; ++i) {
    absl::StrAppend(&json, i == 0 ? "" : ",", R"({"room":)", 100 + i,
                    R"(,"guests":2,"rate":{"value":"412.50","currency":"EUR"},"nights":[)",
                    R"("2026-12-24","2026-12-25"],"price":-1.25e2,"ok":true,"note":null})");
  }
  absl::StrAppend(&json, R"(],"tags":["vip","late\u00e9\n"]})");
  return json;
}

// Args: document bytes (about).
void BM_CheckJsonObject(benchmark::State& state) {
  const std::string json = Payload(static_cast<size_t>(state.range(0)));
  if (!CheckJsonObject(json, "data_json").ok()) {
    state.SkipWithError("sample payload is not valid JSON");
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize(CheckJsonObject(json, "data_json"));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(json.size()));
}
BENCHMARK(BM_CheckJsonObject)->Arg(1 << 10)->Arg(64 << 10);

}  // namespace
}  // namespace wink::webhooks
