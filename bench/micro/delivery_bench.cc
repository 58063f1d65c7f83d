// Building the JSON envelope every delivery attempt sends.
#include <string>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "service/delivery/envelope.h"
#include "wink/webhooks/internal/v1/records.pb.h"

namespace wink::webhooks::delivery {
namespace {

// Args: data_json bytes.
void BM_BuildEnvelope(benchmark::State& state) {
  internal::v1::EventRecord event;
  event.set_version(1);
  event.set_account("acme-hotels");
  event.set_id("evt_01jdq3v8k2m7x9c4t6y1b5n0ra");
  event.set_type("booking.created");
  event.set_create_time_us(1795818000123456);
  const size_t pad = static_cast<size_t>(state.range(0)) - 10;
  event.set_data_json(absl::StrCat(R"({"pad":")", std::string(pad, 'x'), R"("})"));
  for (auto _ : state) benchmark::DoNotOptimize(BuildEnvelope(event));
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_BuildEnvelope)->Arg(256)->Arg(1 << 10)->Arg(16 << 10);

}  // namespace
}  // namespace wink::webhooks::delivery
