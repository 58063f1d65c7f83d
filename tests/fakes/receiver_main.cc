// webhooks_test_receiver: the tests' HttpsReceiver as a program, for trying
// the service by hand (scripts/receiver.sh). Answers 200 to every request on
// https://127.0.0.1:PORT and prints one line per request, with the result of
// the Standard Webhooks signature check when --secret is given.
//
// Exit codes: 0 after SIGINT/SIGTERM, 2 for bad flags, 1 when the receiver
// cannot start (port taken, directory not writable, ...).
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "service/signing/secret.h"
#include "service/signing/signature.h"
#include "tests/fakes/https_receiver.h"

ABSL_FLAG(int, port, 8443, "Port on 127.0.0.1 (0: any free port)");
ABSL_FLAG(std::string, certificate_dir, "./var/receiver",
          "Where ca.pem, server.pem and server.key are written (new ones on every start)");
ABSL_FLAG(std::vector<std::string>, secret, {},
          "Endpoint signing secrets (whsec_...), comma-separated or repeated: when set, "
          "every request's webhook-signature is verified against them");

namespace wink::webhooks::testing {
namespace {

constexpr size_t kBodyPreviewChars = 200;

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

std::string Signature(const ReceivedRequest& request, const std::vector<std::string>& keys) {
  if (keys.empty()) return "unchecked";
  // The receive time, not the print time: a late line must not turn a valid
  // signature into "timestamp too old".
  const absl::Status verified = signing::VerifySignature(
      keys, request.Header("webhook-id"), request.Header("webhook-timestamp"),
      request.Header("webhook-signature"), request.body, request.receive_time);
  if (verified.ok()) return "verified";
  return absl::StrCat("INVALID (", verified.message(), ")");
}

void PrintRequest(const ReceivedRequest& request, const std::vector<std::string>& keys) {
  std::string body = request.body.substr(0, kBodyPreviewChars);
  for (char& c : body) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';  // one line per request
  }
  if (request.body.size() > kBodyPreviewChars) body += "...";
  const std::string id = request.Header("webhook-id");
  std::printf(
      "%s %s %s webhook-id=%s signature=%s body=%s\n",
      absl::FormatTime("%Y-%m-%d %H:%M:%E3S", request.receive_time, absl::LocalTimeZone()).c_str(),
      request.method.c_str(), request.path.c_str(), id.empty() ? "-" : id.c_str(),
      Signature(request, keys).c_str(), body.c_str());
  std::fflush(stdout);
}

int Run(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "HTTPS webhook receiver for trying Wink Webhooks by hand: answers 200 to everything and "
      "prints each request.\n  webhooks_test_receiver [--port 8443] [--certificate_dir DIR] "
      "[--secret whsec_...]");
  std::string merged_secrets;
  std::vector<char*> args = MergeSecretFlags(argc, argv, &merged_secrets);
  absl::ParseCommandLine(static_cast<int>(args.size()), args.data());

  std::vector<std::string> keys;
  for (const std::string& secret : absl::GetFlag(FLAGS_secret)) {
    auto key = signing::ParseSecret(secret);
    if (!key.ok()) {
      std::fprintf(stderr, "--secret: %s\n", std::string(key.status().message()).c_str());
      return 2;
    }
    keys.push_back(*std::move(key));
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

  auto receiver = HttpsReceiver::Start({certificate_dir.string(), absl::GetFlag(FLAGS_port)});
  if (!receiver.ok()) {
    std::fprintf(stderr, "cannot start: %s\n", std::string(receiver.status().message()).c_str());
    return 1;
  }
  std::printf(
      "Test receiver on %s (answers 200 to everything)\n"
      "CA certificate: %s (kept across restarts; the server's --extra_ca_file)\n"
      "Signatures: %s\n"
      "Stop with Ctrl-C.\n",
      (*receiver)->Url("/").c_str(), (*receiver)->ca_file().c_str(),
      keys.empty() ? "not checked (pass --secret whsec_...)"
                   : absl::StrCat("checked against ", keys.size(), " secret(s)").c_str());
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
    for (; printed < requests.size(); ++printed) PrintRequest(requests[printed], keys);
  };
  while (!stop.WaitForNotificationWithTimeout(absl::Milliseconds(100))) print_new();
  (*receiver)->Stop();
  print_new();
  signal_waiter.join();
  return 0;
}

}  // namespace
}  // namespace wink::webhooks::testing

int main(int argc, char** argv) { return wink::webhooks::testing::Run(argc, argv); }
