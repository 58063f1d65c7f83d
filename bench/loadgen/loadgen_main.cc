// webhooks_loadgen: an asynchronous gRPC load generator for a running
// wink-webhooks-server (callback API: `--concurrency` calls in flight over
// `--channels` HTTP/2 connections), plus the setup steps a benchmark needs.
//
// Load modes (closed loop at max rate, or open loop with --rate):
//   trivial        ListEventTypes: the per-call cost of the server with no
//                  storage work (baseline).
//   publish        PublishEvent, one event per call.
//   batch-publish  BatchPublishEvents, --batch_size events per call.
// Every event's data_json is {"sent_ns":<Unix ns at send>,"pad":"xx..."}
// (--payload_bytes long), so a receiver on the same machine can compute
// publish-to-delivery latency (webhooks_test_receiver --stats).
//
// Setup modes:
//   setup          creates --webhooks webhooks for --account, delivering to
//                  --url (paused with --paused); prints their names.
//   pause, resume  pauses / resumes every webhook of --account (resume with
//                  --drop_held drops the held deliveries instead).
//   wait-ready     retries ListEventTypes until one succeeds; prints the time
//                  since --since_unix_ns (e.g. the server's start).
//
// Output: human-readable lines, then one machine-readable line
//   RESULT mode=publish ok=... failed=... events_accepted=... calls_per_s=...
//          events_per_s=... p50_ms=... p99_ms=... p999_ms=... max_ms=...
//          late_starts=... errors=CODE:N,...
// ok/failed/rates/latencies cover the measured calls (after the warm-up);
// events_accepted counts every event the server accepted, warm-up included
// (what a receiver should eventually get, per matching webhook).
// Exit codes: 0 if at least one call succeeded (setup modes: all of them),
// 1 otherwise, 2 for bad flags.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/loadgen/load_runner.h"
#include "grpcpp/grpcpp.h"
#include "wink/webhooks/v1/webhook_service.grpc.pb.h"

ABSL_FLAG(std::string, mode, "",
          "trivial | publish | batch-publish | setup | pause | resume | wait-ready");
ABSL_FLAG(std::string, target, "127.0.0.1:50051", "Server address, host:port (plaintext)");
ABSL_FLAG(std::string, token, "", "Admin bearer token (default: $WEBHOOKS_TOKEN)");
ABSL_FLAG(std::string, account, "bench", "Account the calls act on");
ABSL_FLAG(int, channels, 4, "gRPC channels, each its own HTTP/2 connection");
ABSL_FLAG(int, concurrency, 64, "Calls in flight (open loop: at most)");
ABSL_FLAG(double, rate, 0, "Calls per second, open loop; 0: closed loop at max rate");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(10), "Measured time after the warm-up");
ABSL_FLAG(absl::Duration, warmup, absl::Seconds(1), "Unmeasured time before it");
ABSL_FLAG(int64_t, count, 0, "Make exactly this many calls instead (no warm-up)");
ABSL_FLAG(absl::Duration, deadline, absl::Seconds(10), "Deadline of each call");
ABSL_FLAG(int, batch_size, 100, "batch-publish: events per call (1-100)");
ABSL_FLAG(int, payload_bytes, 256, "Size of each event's data_json (at least 40)");
ABSL_FLAG(std::string, event_type, "booking.created", "Type of the published events");
ABSL_FLAG(bool, idempotency_keys, true, "Give every event its own idempotency key");
ABSL_FLAG(int, webhooks, 1, "setup: webhooks to create");
ABSL_FLAG(std::string, url, "", "setup: the webhooks' URL (https://...)");
ABSL_FLAG(bool, paused, false, "setup: create the webhooks paused");
ABSL_FLAG(bool, drop_held, false, "resume: drop held deliveries instead of sending them");
ABSL_FLAG(int64_t, since_unix_ns, 0,
          "wait-ready: report the time since this moment (default: the tool's start)");
ABSL_FLAG(absl::Duration, timeout, absl::Minutes(10), "wait-ready: give up after this long");

namespace wink::webhooks::bench {
namespace {

namespace v1 = ::wink::webhooks::v1;

// Length of {"sent_ns":<19 digits>,"pad":""}.
constexpr int kPayloadOverhead = 40;

int BadFlag(absl::string_view flag, absl::string_view problem) {
  std::fprintf(stderr, "webhooks_loadgen: --%s: %s\n", std::string(flag).c_str(),
               std::string(problem).c_str());
  return 2;
}

// The channels, stubs and per-call settings every mode shares.
class Client {
 public:
  Client(const std::string& target, int channels, std::string token, absl::Duration deadline)
      : token_(std::move(token)), deadline_(deadline) {
    for (int i = 0; i < channels; ++i) {
      grpc::ChannelArguments args;
      // Channels with equal arguments share one connection: make each differ.
      args.SetInt("wink.loadgen.channel", i);
      // Retry a refused connection within milliseconds, not the default
      // 1 s backoff, so wait-ready sees the server as soon as it listens.
      args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 10);
      args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 10);
      args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 100);
      channels_.push_back(
          grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args));
      stubs_.push_back(v1::WebhookService::NewStub(channels_.back()));
    }
  }

  // False if some channel does not connect within `timeout`.
  bool Connect(absl::Duration timeout) {
    const auto deadline = absl::ToChronoTime(absl::Now() + timeout);
    for (const auto& channel : channels_) {
      if (!channel->WaitForConnected(deadline)) return false;
    }
    return true;
  }

  // Authorization and deadline for one call.
  void Prepare(grpc::ClientContext* context) const {
    context->AddMetadata("authorization", absl::StrCat("Bearer ", token_));
    context->set_deadline(absl::ToChronoTime(absl::Now() + deadline_));
  }

  // The stub for call `index` (round-robin over the channels).
  v1::WebhookService::Stub& stub(int64_t index) const {
    return *stubs_[static_cast<size_t>(index) % stubs_.size()];
  }

 private:
  std::string token_;
  absl::Duration deadline_;
  std::vector<std::shared_ptr<grpc::Channel>> channels_;
  std::vector<std::unique_ptr<v1::WebhookService::Stub>> stubs_;
};

template <typename Request, typename Response>
struct UnaryCall {
  grpc::ClientContext context;
  Request request;
  Response response;
};

// Allocates one call, lets `fill` write its request, and starts it with
// `invoke(context, request, response, callback)` (a stub's async() method);
// the call is freed before `done` runs: the last `done` lets the runner
// return, and main() then tears down the channels the call's context uses.
template <typename Request, typename Response, typename Fill, typename Invoke>
void StartUnaryCall(const Client& client, const Fill& fill, const Invoke& invoke, CallDone done) {
  auto* call = new UnaryCall<Request, Response>;
  client.Prepare(&call->context);
  fill(&call->request);
  invoke(&call->context, &call->request, &call->response,
         [call, done = std::move(done)](grpc::Status status) {
           delete call;
           done(status);
         });
}

// Builds the events of the publish modes.
class EventMaker {
 public:
  EventMaker()
      : pad_(static_cast<size_t>(absl::GetFlag(FLAGS_payload_bytes) - kPayloadOverhead), 'x'),
        event_type_(absl::GetFlag(FLAGS_event_type)),
        idempotency_keys_(absl::GetFlag(FLAGS_idempotency_keys)),
        // Keys unique across runs against the same data directory.
        run_id_(absl::StrCat("lg", absl::GetCurrentTimeNanos())) {}

  // Event `item` of call `index`. `parent` may be empty (inside a batch).
  void Fill(int64_t index, int item, const std::string& parent,
            v1::PublishEventRequest* request) const {
    request->set_parent(parent);
    request->set_event_type(event_type_);
    request->set_data_json(
        absl::StrCat(R"({"sent_ns":)", absl::GetCurrentTimeNanos(), R"(,"pad":")", pad_, R"("})"));
    if (idempotency_keys_)
      request->set_idempotency_key(absl::StrCat(run_id_, "-", index, "-", item));
  }

 private:
  std::string pad_;
  std::string event_type_;
  bool idempotency_keys_;
  std::string run_id_;
};

int RunLoad(const std::string& mode, const Client& client, const std::string& parent) {
  LoadOptions options;
  options.concurrency = absl::GetFlag(FLAGS_concurrency);
  options.rate = absl::GetFlag(FLAGS_rate);
  options.duration = absl::GetFlag(FLAGS_duration);
  options.warmup = absl::GetFlag(FLAGS_warmup);
  options.count = absl::GetFlag(FLAGS_count);
  const int batch_size = mode == "batch-publish" ? absl::GetFlag(FLAGS_batch_size) : 1;
  const int events_per_call = mode == "trivial" ? 0 : batch_size;
  const EventMaker events;

  CallStarter start;
  if (mode == "trivial") {
    start = [&](int64_t index, CallDone done) {
      StartUnaryCall<v1::ListEventTypesRequest, v1::ListEventTypesResponse>(
          client,
          [&](v1::ListEventTypesRequest* request) {
            request->set_parent(parent);
            request->set_page_size(1);
          },
          [&](auto... args) { client.stub(index).async()->ListEventTypes(args...); },
          std::move(done));
    };
  } else if (mode == "publish") {
    start = [&](int64_t index, CallDone done) {
      StartUnaryCall<v1::PublishEventRequest, v1::PublishEventResponse>(
          client, [&](v1::PublishEventRequest* request) { events.Fill(index, 0, parent, request); },
          [&](auto... args) { client.stub(index).async()->PublishEvent(args...); },
          std::move(done));
    };
  } else {
    start = [&](int64_t index, CallDone done) {
      StartUnaryCall<v1::BatchPublishEventsRequest, v1::BatchPublishEventsResponse>(
          client,
          [&](v1::BatchPublishEventsRequest* request) {
            request->set_parent(parent);
            for (int item = 0; item < batch_size; ++item) {
              events.Fill(index, item, "", request->add_requests());
            }
          },
          [&](auto... args) { client.stub(index).async()->BatchPublishEvents(args...); },
          std::move(done));
    };
  }

  std::printf("mode=%s target=%s channels=%d concurrency=%d rate=%s %s\n", mode.c_str(),
              absl::GetFlag(FLAGS_target).c_str(), absl::GetFlag(FLAGS_channels),
              options.concurrency,
              options.rate > 0 ? absl::StrFormat("%.0f/s (open loop)", options.rate).c_str()
                               : "max (closed loop)",
              options.count > 0 ? absl::StrCat("count=", options.count).c_str()
                                : absl::StrCat("warmup=", absl::FormatDuration(options.warmup),
                                               " duration=", absl::FormatDuration(options.duration))
                                      .c_str());
  std::fflush(stdout);
  LoadRunner runner(options);
  const LoadResult result = runner.Run(start);
  const LatencyHistogram& latency = runner.latency();
  const double calls_per_s = result.ok_per_second();
  std::printf("  %lld ok, %lld failed in %.2f s: %.1f calls/s, %.1f events/s\n",
              static_cast<long long>(result.ok), static_cast<long long>(result.failed),
              absl::ToDoubleSeconds(result.elapsed), calls_per_s, calls_per_s * events_per_call);
  std::printf("  rpc latency (ms%s): %s\n", options.rate > 0 ? ", from each call's due time" : "",
              latency.SummaryMillis().c_str());
  if (options.rate > 0) {
    std::printf("  start lag behind schedule (ms): %s\n",
                runner.start_lag().SummaryMillis().c_str());
  }
  if (result.late_starts > 0) {
    std::printf("  %lld calls started late (%d in flight): the server is behind the rate\n",
                static_cast<long long>(result.late_starts), options.concurrency);
  }
  for (int code = 0; code < LoadResult::kStatusCodes; ++code) {
    if (result.failures_by_code[code] == 0) continue;
    std::printf("  error %s x%lld, e.g. \"%s\"\n",
                StatusCodeName(static_cast<grpc::StatusCode>(code)).c_str(),
                static_cast<long long>(result.failures_by_code[code]),
                result.first_message[code].c_str());
  }
  auto ms = [](absl::Duration d) { return absl::ToDoubleMilliseconds(d); };
  std::printf(
      "RESULT mode=%s ok=%lld failed=%lld events_accepted=%lld calls_per_s=%.1f "
      "events_per_s=%.1f p50_ms=%.3f p99_ms=%.3f p999_ms=%.3f max_ms=%.3f late_starts=%lld "
      "errors=%s\n",
      mode.c_str(), static_cast<long long>(result.ok), static_cast<long long>(result.failed),
      static_cast<long long>(result.ok_with_warmup * events_per_call), calls_per_s,
      calls_per_s * events_per_call, ms(latency.Percentile(0.5)), ms(latency.Percentile(0.99)),
      ms(latency.Percentile(0.999)), ms(latency.max()), static_cast<long long>(result.late_starts),
      result.FailureCounts().c_str());
  return result.ok > 0 ? 0 : 1;
}

int CallFailed(absl::string_view what, const grpc::Status& status) {
  std::fprintf(stderr, "webhooks_loadgen: %s: %s %s\n", std::string(what).c_str(),
               StatusCodeName(status.error_code()).c_str(), status.error_message().c_str());
  return 1;
}

int Setup(const Client& client, const std::string& parent) {
  const int webhooks = absl::GetFlag(FLAGS_webhooks);
  for (int i = 0; i < webhooks; ++i) {
    v1::CreateWebhookRequest request;
    request.set_parent(parent);
    request.mutable_webhook()->set_display_name(absl::StrCat("loadgen ", i));
    request.mutable_webhook()->set_url(absl::GetFlag(FLAGS_url));
    request.mutable_webhook()->set_enabled(!absl::GetFlag(FLAGS_paused));
    v1::Webhook created;
    grpc::ClientContext context;
    client.Prepare(&context);
    const grpc::Status status = client.stub(0).CreateWebhook(&context, request, &created);
    if (!status.ok()) return CallFailed("CreateWebhook", status);
    std::printf("%s\n", created.name().c_str());
  }
  std::printf("RESULT mode=setup webhooks=%d\n", webhooks);
  return 0;
}

// Sets `enabled` on every webhook of the account.
int SetEnabled(const Client& client, const std::string& parent, bool enabled) {
  std::vector<std::string> names;
  std::string page_token;
  do {
    v1::ListWebhooksRequest request;
    request.set_parent(parent);
    request.set_page_size(1000);
    request.set_page_token(page_token);
    v1::ListWebhooksResponse response;
    grpc::ClientContext context;
    client.Prepare(&context);
    const grpc::Status status = client.stub(0).ListWebhooks(&context, request, &response);
    if (!status.ok()) return CallFailed("ListWebhooks", status);
    for (const v1::Webhook& webhook : response.webhooks()) names.push_back(webhook.name());
    page_token = response.next_page_token();
  } while (!page_token.empty());

  const absl::Time start = absl::Now();
  for (const std::string& name : names) {
    v1::UpdateWebhookRequest request;
    request.mutable_webhook()->set_name(name);
    request.mutable_webhook()->set_enabled(enabled);
    request.mutable_update_mask()->add_paths("enabled");
    request.set_drop_held_deliveries(enabled && absl::GetFlag(FLAGS_drop_held));
    v1::Webhook updated;
    grpc::ClientContext context;
    client.Prepare(&context);
    const grpc::Status status = client.stub(0).UpdateWebhook(&context, request, &updated);
    if (!status.ok()) return CallFailed("UpdateWebhook", status);
  }
  std::printf("RESULT mode=%s webhooks=%zu rpc_ms=%.1f\n", enabled ? "resume" : "pause",
              names.size(), absl::ToDoubleMilliseconds(absl::Now() - start));
  return 0;
}

int WaitReady(const Client& client, const std::string& parent) {
  int64_t since_ns = absl::GetFlag(FLAGS_since_unix_ns);
  if (since_ns == 0) since_ns = absl::GetCurrentTimeNanos();
  const absl::Time give_up = absl::Now() + absl::GetFlag(FLAGS_timeout);
  int attempts = 0;
  grpc::Status status;
  do {
    ++attempts;
    v1::ListEventTypesRequest request;
    request.set_parent(parent);
    v1::ListEventTypesResponse response;
    grpc::ClientContext context;
    client.Prepare(&context);
    // Short attempts, queued until the server listens, so the first
    // successful one ends within ~50 ms of the server being ready.
    context.set_wait_for_ready(true);
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Milliseconds(50)));
    status = client.stub(0).ListEventTypes(&context, request, &response);
    if (status.ok()) {
      std::printf("RESULT mode=wait-ready ready_ms=%.1f attempts=%d\n",
                  (absl::GetCurrentTimeNanos() - since_ns) / 1e6, attempts);
      return 0;
    }
  } while (absl::Now() < give_up);
  return CallFailed("ListEventTypes (wait-ready)", status);
}

int Run(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Load generator for wink-webhooks-server.\n  webhooks_loadgen --mode "
      "trivial|publish|batch-publish [--concurrency 64] [--channels 4] [--duration 10s] "
      "[--rate N] [--count N]\n  webhooks_loadgen --mode setup --url https://... [--webhooks N] "
      "[--paused]\n  webhooks_loadgen --mode pause|resume|wait-ready");
  absl::ParseCommandLine(argc, argv);

  const std::string mode = absl::GetFlag(FLAGS_mode);
  const bool load_mode = mode == "trivial" || mode == "publish" || mode == "batch-publish";
  if (!load_mode && mode != "setup" && mode != "pause" && mode != "resume" &&
      mode != "wait-ready") {
    return BadFlag("mode", absl::StrCat("unknown mode \"", mode,
                                        "\"; one of trivial, publish, batch-publish, setup, "
                                        "pause, resume, wait-ready"));
  }
  std::string token = absl::GetFlag(FLAGS_token);
  if (token.empty() && std::getenv("WEBHOOKS_TOKEN") != nullptr)
    token = std::getenv("WEBHOOKS_TOKEN");
  if (token.empty()) return BadFlag("token", "required (or set $WEBHOOKS_TOKEN)");
  if (absl::GetFlag(FLAGS_channels) < 1) return BadFlag("channels", "must be at least 1");
  if (absl::GetFlag(FLAGS_concurrency) < 1) return BadFlag("concurrency", "must be at least 1");
  if (absl::GetFlag(FLAGS_rate) < 0) return BadFlag("rate", "must not be negative");
  if (absl::GetFlag(FLAGS_count) < 0) return BadFlag("count", "must not be negative");
  if (absl::GetFlag(FLAGS_duration) <= absl::ZeroDuration() && absl::GetFlag(FLAGS_count) == 0) {
    return BadFlag("duration", "must be positive (or give --count)");
  }
  if (absl::GetFlag(FLAGS_warmup) < absl::ZeroDuration()) {
    return BadFlag("warmup", "must not be negative");
  }
  if (absl::GetFlag(FLAGS_batch_size) < 1 || absl::GetFlag(FLAGS_batch_size) > 100) {
    return BadFlag("batch_size", "must be 1 to 100");
  }
  if (absl::GetFlag(FLAGS_payload_bytes) < kPayloadOverhead) {
    return BadFlag("payload_bytes", absl::StrCat("must be at least ", kPayloadOverhead));
  }
  if (mode == "setup" && absl::GetFlag(FLAGS_url).empty()) return BadFlag("url", "required");
  if (mode == "setup" && absl::GetFlag(FLAGS_webhooks) < 1) {
    return BadFlag("webhooks", "must be at least 1");
  }

  Client client(absl::GetFlag(FLAGS_target), load_mode ? absl::GetFlag(FLAGS_channels) : 1,
                std::move(token), absl::GetFlag(FLAGS_deadline));
  const std::string parent = absl::StrCat("accounts/", absl::GetFlag(FLAGS_account));
  if (mode == "wait-ready") return WaitReady(client, parent);
  if (!client.Connect(absl::Seconds(10))) {
    std::fprintf(stderr, "webhooks_loadgen: cannot connect to %s\n",
                 absl::GetFlag(FLAGS_target).c_str());
    return 1;
  }
  if (load_mode) return RunLoad(mode, client, parent);
  if (mode == "setup") return Setup(client, parent);
  return SetEnabled(client, parent, mode == "resume");
}

}  // namespace
}  // namespace wink::webhooks::bench

int main(int argc, char** argv) { return wink::webhooks::bench::Run(argc, argv); }
