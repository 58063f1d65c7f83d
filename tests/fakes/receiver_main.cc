// webhooks_test_receiver: the tests' HttpsReceiver as a program, for trying
// the service by hand (scripts/receiver.sh). Answers 200 to every request on
// https://127.0.0.1:PORT and prints one line per request, with the result of
// the Standard Webhooks signature check when it has the endpoint secrets.
//
// The secrets, safest first (a command line shows in `ps` to every user):
//   --secret_file PATH   one secret per line (blank lines and # comments
//                        skipped), e.g. a file of mode 600
//   $WEBHOOK_SECRET      one secret, or several separated by commas
//   --secret whsec_...   comma-separated or repeated
// The flags win: $WEBHOOK_SECRET is read only when neither flag is given (the
// two flags may be combined). The banner says where the secrets came from.
//
// With --stats it is the benchmark receiver (bench/run.sh) instead: it keeps
// and prints nothing per request, counts POSTs and records, for every body
// that carries "sent_ns": <Unix ns> (bench/loadgen puts it in each event's
// data), receive time minus sent_ns: the publish-to-delivery latency. The
// numbers since the last reset are served on
//   GET  /_stats         one flat JSON object (see DeliveryStats::Json)
//   POST /_stats/reset   zeroes them (answers with the numbers before)
// and printed on exit. Sender and receiver must share a clock (one machine).
//
// Exit codes: 0 after SIGINT/SIGTERM, 2 for bad flags, 1 when the receiver
// cannot start (port taken, directory not writable, ...).
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/latency_histogram.h"
#include "tests/fakes/https_receiver.h"
#include "wink/webhooks/verify.h"

ABSL_FLAG(int, port, 8443, "Port on 127.0.0.1 (0: any free port)");
ABSL_FLAG(std::string, certificate_dir, "./var/receiver",
          "Where ca.pem, server.pem and server.key are written (new ones on every start)");
ABSL_FLAG(std::string, secret_file, "",
          "File with the endpoint signing secret(s) (whsec_...) or public keys (whpk_...), one "
          "per line: when set, every request's webhook-signature is verified against them. "
          "Safer than --secret, "
          "which every user sees in ps; $WEBHOOK_SECRET is read when neither flag is given");
ABSL_FLAG(std::vector<std::string>, secret, {},
          "Endpoint signing secrets (whsec_...) or public keys (whpk_...), comma-separated or "
          "repeated (shows in ps: prefer --secret_file or $WEBHOOK_SECRET)");
ABSL_FLAG(bool, stats, false,
          "Benchmark mode: print nothing per request; count POSTs and their publish-to-delivery "
          "latency (from a \"sent_ns\" member in the body), served on GET /_stats, zeroed by "
          "POST /_stats/reset, printed on exit");

namespace wink::webhooks::testing {
namespace {

constexpr size_t kBodyPreviewChars = 200;

// What --stats measures. Record() runs on every connection's thread at
// once: a few relaxed atomics and the lock-free histogram, so the receiver
// keeps up with tens of thousands of POSTs per second.
class DeliveryStats {
 public:
  DeliveryStats() { Reset(); }

  void Record(const ReceivedRequest& request) {
    const int64_t now_ns = absl::ToUnixNanos(request.receive_time);
    if (posts_.fetch_add(1, std::memory_order_relaxed) == 0) {
      first_ns_.store(now_ns, std::memory_order_relaxed);
    }
    int64_t last = last_ns_.load(std::memory_order_relaxed);
    while (now_ns > last &&
           !last_ns_.compare_exchange_weak(last, now_ns, std::memory_order_relaxed)) {
    }
    if (const int64_t sent_ns = SentNanos(request.body); sent_ns > 0) {
      latency_.Record(now_ns - sent_ns);
    }
  }

  void Reset() {
    posts_.store(0, std::memory_order_relaxed);
    first_ns_.store(0, std::memory_order_relaxed);
    last_ns_.store(0, std::memory_order_relaxed);
    reset_ns_.store(absl::GetCurrentTimeNanos(), std::memory_order_relaxed);
    latency_.Reset();
  }

  // {"posts":N,"timed":M,"window_s":...,"posts_per_s":...,"since_reset_s":...,
  //  "latency_p50_ms":...,"latency_p99_ms":...,"latency_p999_ms":...,
  //  "latency_max_ms":...,"latency_mean_ms":...}
  // posts: POSTs since the reset; timed: those with a sent_ns; window_s: from
  // the first to the last of them; posts_per_s: posts over that window.
  std::string Json() const {
    const int64_t posts = posts_.load(std::memory_order_relaxed);
    const double window_s = posts > 1 ? (last_ns_.load(std::memory_order_relaxed) -
                                         first_ns_.load(std::memory_order_relaxed)) /
                                            1e9
                                      : 0.0;
    auto ms = [](absl::Duration d) { return absl::ToDoubleMilliseconds(d); };
    return absl::StrFormat(
        "{\"posts\":%d,\"timed\":%d,\"window_s\":%.3f,\"posts_per_s\":%.1f,"
        "\"since_reset_s\":%.3f,\"latency_p50_ms\":%.3f,\"latency_p99_ms\":%.3f,"
        "\"latency_p999_ms\":%.3f,\"latency_max_ms\":%.3f,\"latency_mean_ms\":%.3f}",
        posts, latency_.count(), window_s, window_s > 0 ? (posts - 1) / window_s : 0.0,
        (absl::GetCurrentTimeNanos() - reset_ns_.load(std::memory_order_relaxed)) / 1e9,
        ms(latency_.Percentile(0.5)), ms(latency_.Percentile(0.99)), ms(latency_.Percentile(0.999)),
        ms(latency_.max()), ms(latency_.mean()));
  }

  // Serves /_stats and /_stats/reset; counts every other POST.
  void Handle(const ReceivedRequest& request, ScriptedResponse* response) {
    if (request.path == "/_stats") {
      response->body = Json();
    } else if (request.path == "/_stats/reset") {
      response->body = Json();
      Reset();
    } else if (request.method == "POST") {
      Record(request);
      return;
    } else {
      return;
    }
    response->headers.emplace_back("Content-Type", "application/json");
  }

 private:
  // The integer after the first "sent_ns": in `body`, or 0.
  static int64_t SentNanos(absl::string_view body) {
    constexpr absl::string_view kKey = "\"sent_ns\":";
    const size_t key = body.find(kKey);
    if (key == absl::string_view::npos) return 0;
    absl::string_view rest = absl::StripLeadingAsciiWhitespace(body.substr(key + kKey.size()));
    size_t digits = 0;
    while (digits < rest.size() && absl::ascii_isdigit(static_cast<unsigned char>(rest[digits]))) {
      ++digits;
    }
    int64_t value = 0;
    return absl::SimpleAtoi(rest.substr(0, digits), &value) ? value : 0;
  }

  std::atomic<int64_t> posts_{0};
  std::atomic<int64_t> first_ns_{0};
  std::atomic<int64_t> last_ns_{0};
  std::atomic<int64_t> reset_ns_{0};
  bench::LatencyHistogram latency_;
};

// Abseil keeps only the last occurrence of a flag. Folds every --secret
// (-secret, "=VALUE" or " VALUE") into one comma-separated --secret, which
// `storage` holds; returns the new argv.
std::vector<char*> MergeSecretFlags(int argc, char** argv, std::string* storage) {
  std::vector<std::string> secrets;
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--") {  // positional arguments follow
      args.insert(args.end(), argv + i, argv + argc);
      break;
    }
    if (i > 0 && (absl::ConsumePrefix(&arg, "--") || absl::ConsumePrefix(&arg, "-"))) {
      if (absl::ConsumePrefix(&arg, "secret=")) {
        secrets.emplace_back(arg);
        continue;
      }
      if (arg == "secret" && i + 1 < argc) {
        secrets.emplace_back(argv[++i]);
        continue;
      }
    }
    args.push_back(argv[i]);
  }
  if (!secrets.empty()) {
    *storage = absl::StrCat("--secret=", absl::StrJoin(secrets, ","));
    args.insert(args.begin() + 1, storage->data());
  }
  return args;
}

// The environment variable read for secrets when no flag gives any.
constexpr char kSecretEnvironment[] = "WEBHOOK_SECRET";

// The endpoint secrets given and where they came from, for the banner.
struct Secrets {
  std::vector<std::string> secrets;  // "whsec_..." as given
  std::string source;                // e.g. "--secret_file /x/secret", "$WEBHOOK_SECRET"
};

// From --secret_file and --secret, else from $WEBHOOK_SECRET. An error
// names the flag (an unreadable or empty file).
absl::StatusOr<Secrets> CollectSecrets() {
  Secrets out;
  std::vector<std::string> sources;
  if (const std::string path = absl::GetFlag(FLAGS_secret_file); !path.empty()) {
    absl::StatusOr<std::vector<std::string>> read = ReadSecretFile(path);  // verify.h
    if (!read.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--secret_file: ", read.status().message()));
    }
    out.secrets = *std::move(read);
    sources.push_back(absl::StrCat("--secret_file ", path));
  }
  if (const std::vector<std::string> flags = absl::GetFlag(FLAGS_secret); !flags.empty()) {
    out.secrets.insert(out.secrets.end(), flags.begin(), flags.end());
    sources.push_back("--secret");
  }
  if (sources.empty()) {
    const char* value = std::getenv(kSecretEnvironment);
    out.secrets = SplitSecretList(value != nullptr ? value : "");
    if (!out.secrets.empty()) sources.push_back(absl::StrCat("$", kSecretEnvironment));
  }
  out.source = absl::StrJoin(sources, " and ");
  return out;
}

std::string Signature(const ReceivedRequest& request,
                      const std::optional<WebhookVerifier>& verifier) {
  if (!verifier.has_value()) return "unchecked";
  // The receive time, not the print time: a late line must not turn a valid
  // signature into "timestamp too old".
  const absl::Status verified = verifier->Verify(
      request.Header("webhook-id"), request.Header("webhook-timestamp"),
      request.Header("webhook-signature"), request.body, request.receive_time);
  if (verified.ok()) return "verified";
  return absl::StrCat("INVALID (", verified.message(), ")");
}

void PrintRequest(const ReceivedRequest& request,
                  const std::optional<WebhookVerifier>& verifier) {
  std::string body = request.body.substr(0, kBodyPreviewChars);
  for (char& c : body) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';  // one line per request
  }
  if (request.body.size() > kBodyPreviewChars) body += "...";
  const std::string id = request.Header("webhook-id");
  // The W3C trace context, when the publisher sent one (it carries over).
  const std::string traceparent = request.Header("traceparent");
  const std::string trace =
      traceparent.empty() ? "" : absl::StrCat(" traceparent=", traceparent);
  std::printf(
      "%s %s %s webhook-id=%s%s signature=%s body=%s\n",
      absl::FormatTime("%Y-%m-%d %H:%M:%E3S", request.receive_time, absl::LocalTimeZone()).c_str(),
      request.method.c_str(), request.path.c_str(), id.empty() ? "-" : id.c_str(), trace.c_str(),
      Signature(request, verifier).c_str(), body.c_str());
  std::fflush(stdout);
}

int Run(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "HTTPS webhook receiver for trying Wink Webhooks by hand: answers 200 to everything and "
      "prints each request.\n  webhooks_test_receiver [--port 8443] [--certificate_dir DIR] "
      "[--secret_file FILE]\n  (or the secrets in $WEBHOOK_SECRET, comma-separated)\n"
      "  webhooks_test_receiver --stats [--port 8443]   (benchmark mode)");
  std::string merged_secrets;
  std::vector<char*> args = MergeSecretFlags(argc, argv, &merged_secrets);
  absl::ParseCommandLine(static_cast<int>(args.size()), args.data());

  const absl::StatusOr<Secrets> secrets = CollectSecrets();
  if (!secrets.ok()) {
    std::fprintf(stderr, "%s\n", std::string(secrets.status().message()).c_str());
    return 2;
  }
  // Secrets and public keys alike (verify.h); none: signatures unchecked.
  std::optional<WebhookVerifier> verifier;
  if (!secrets->secrets.empty()) {
    absl::StatusOr<WebhookVerifier> created = WebhookVerifier::Create(secrets->secrets);
    if (!created.ok()) {
      // Names the source and the index, never the key itself.
      std::fprintf(stderr, "%s: %s\n", secrets->source.c_str(),
                   std::string(created.status().message()).c_str());
      return 2;
    }
    verifier = *std::move(created);
  }
  std::error_code error;
  const std::filesystem::path certificate_dir =
      std::filesystem::absolute(absl::GetFlag(FLAGS_certificate_dir), error).lexically_normal();
  if (error) {
    std::fprintf(stderr, "--certificate_dir: %s\n", error.message().c_str());
    return 2;
  }

  // Blocked before the receiver starts its threads, which inherit the mask:
  // only the sigwait() below sees SIGINT and SIGTERM.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  const bool stats_mode = absl::GetFlag(FLAGS_stats);
  DeliveryStats stats;
  HttpsReceiver::Options options;
  options.certificate_dir = certificate_dir.string();
  options.port = absl::GetFlag(FLAGS_port);
  if (stats_mode) {
    options.record_requests = false;
    options.on_request = [&stats](const ReceivedRequest& request, ScriptedResponse* response) {
      stats.Handle(request, response);
    };
  }
  auto receiver = HttpsReceiver::Start(std::move(options));
  if (!receiver.ok()) {
    std::fprintf(stderr, "cannot start: %s\n", std::string(receiver.status().message()).c_str());
    return 1;
  }
  std::printf(
      "Test receiver on %s (answers 200 to everything)\n"
      "CA certificate: %s (kept across restarts; the server's --extra_ca_file)\n"
      "%s\n"
      "Stop with Ctrl-C.\n",
      (*receiver)->Url("/").c_str(), (*receiver)->ca_file().c_str(),
      stats_mode ? "Benchmark mode: GET /_stats, POST /_stats/reset; nothing printed per request"
      : !verifier.has_value()
          ? "Signatures: not checked (give the secret or public key in a file, --secret_file "
            "FILE, or in $WEBHOOK_SECRET)"
          : absl::StrCat("Signatures: checked against ", secrets->secrets.size(),
                         " key(s) from ", secrets->source)
                .c_str());
  std::fflush(stdout);

  absl::Notification stop;
  std::thread signal_waiter([&] {
    int signal_number = 0;
    while (sigwait(&signals, &signal_number) != 0) {
    }
    stop.Notify();
  });
  size_t printed = 0;
  auto print_new = [&] {
    const std::vector<ReceivedRequest> requests = (*receiver)->Requests();
    for (; printed < requests.size(); ++printed) PrintRequest(requests[printed], verifier);
  };
  while (!stop.WaitForNotificationWithTimeout(absl::Milliseconds(100))) print_new();
  (*receiver)->Stop();
  print_new();
  if (stats_mode) std::printf("stats: %s\n", stats.Json().c_str());
  signal_waiter.join();
  return 0;
}

}  // namespace
}  // namespace wink::webhooks::testing

int main(int argc, char** argv) { return wink::webhooks::testing::Run(argc, argv); }
