// The real webhookctl binary against the real in-process server: exit codes,
// table and key-value text, --json output, usage errors, server errors, and a
// live watch ended by SIGINT; with the real HTTPS test receiver, what a failed
// delivery shows. The library client sets up and checks state where the CLI
// is not what is tested.
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/fakes/https_receiver.h"
#include "tests/fakes/subprocess.h"
#include "tests/fakes/temp_dir.h"
#include "tests/fakes/test_certificates.h"
#include "tests/integration/test_server.h"
#include "wink/webhooks/client.h"
#include "wink/webhooks/verify.h"

namespace wink::webhooks::testing {
namespace {

using ::testing::AllOf;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;
using ::testing::StartsWith;

constexpr absl::Duration kWait = absl::Seconds(20);

std::string CtlBinary() {
  if (const char* path = std::getenv("WEBHOOKCTL_BINARY"); path != nullptr && *path != '\0') {
    return path;
  }
  return WEBHOOKCTL_BINARY;
}

std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

// Parses one line of --json output into `T`.
template <typename T>
T FromJson(const std::string& line) {
  T message;
  const auto status = google::protobuf::util::JsonStringToMessage(line, &message);
  EXPECT_TRUE(status.ok()) << status.message().ToString() << " in: " << line;
  return message;
}

// The value of "key:  value" in a key-value block, or "".
std::string Field(const std::string& block, const std::string& key) {
  for (const std::string& line : Lines(block)) {
    if (absl::StartsWith(line, key + ":")) {
      return std::string(absl::StripLeadingAsciiWhitespace(line.substr(key.size() + 1)));
    }
  }
  return "";
}

class WebhookctlTest : public ::testing::Test {
 protected:
  // `tweak` may change the server's config before it starts.
  explicit WebhookctlTest(std::function<void(config::ServerConfig&)> tweak = nullptr)
      : server_(std::move(tweak)) {
    ClientOptions options;
    options.address = server_.server().address();
    options.token = kAdminToken;
    client_ = *Client::Create(options);
  }

  // Runs webhookctl with `args`, the server's address and `token`.
  ProcessResult Run(const std::vector<std::string>& args, const std::string& input = "",
                    const std::optional<std::string>& token = std::string(kAdminToken)) {
    return RunProcess(Argv(args), Env(token), input, kWait);
  }

  std::vector<std::string> Argv(const std::vector<std::string>& args) const {
    std::vector<std::string> argv = {CtlBinary()};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }

  Subprocess::EnvChanges Env(const std::optional<std::string>& token) {
    return {{"WEBHOOKS_ADDR", server_.server().address()}, {"WEBHOOKS_TOKEN", token}};
  }

  // Creates a webhook of acme for `url` through the CLI; its name.
  std::string CreateWebhook(const std::vector<std::string>& extra = {},
                            const std::string& url = "https://pms.example.com/hooks") {
    std::vector<std::string> args = {"webhooks", "create",         "--account",       "acme",
                                     "--url",    url,              "--display-name",
                                     "PMS Booking Sync"};
    args.insert(args.end(), extra.begin(), extra.end());
    const ProcessResult result = Run(args);
    EXPECT_EQ(result.exit_code, 0) << result.err;
    return Field(result.out, "name");
  }

  // Publishes booking.created for acme through the library.
  v1::PublishEventResponse Publish(const std::string& booking) {
    v1::PublishEventRequest request;
    request.set_parent("accounts/acme");
    request.set_event_type("booking.created");
    request.set_data_json(absl::StrCat(R"({"booking_id":")", booking, R"("})"));
    auto response = client_->PublishEvent(request);
    EXPECT_TRUE(response.ok()) << response.status();
    return response.value_or(v1::PublishEventResponse());
  }

  // `applications create` for acme through the CLI with `extra` flags; the
  // name and API key it printed.
  struct CreatedApplication {
    std::string name;
    std::string key;
  };
  CreatedApplication CreateApplication(const std::vector<std::string>& extra) {
    std::vector<std::string> args = {"applications", "create",         "--account",
                                     "acme",         "--display-name", "Channel manager"};
    args.insert(args.end(), extra.begin(), extra.end());
    const ProcessResult result = Run(args);
    EXPECT_EQ(result.exit_code, 0) << result.err;
    return {Field(result.out, "name"), Field(result.out, "api_key")};
  }

  TestServer server_;
  std::unique_ptr<Client> client_;
};

// The text form of a time of the server's (fake) clock, as webhookctl prints
// it.
std::string PrintedTime(absl::Time time) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", time, absl::UTCTimeZone());
}

TEST_F(WebhookctlTest, HelpListsTheCommands) {
  const ProcessResult help = Run({"help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.out, AllOf(StartsWith("Usage: webhookctl"), HasSubstr("webhooks create"),
                              HasSubstr("webhooks rotate-secret"), HasSubstr("webhooks test"),
                              HasSubstr("event-types list"),
                              HasSubstr("events batch-publish"), HasSubstr("deliveries watch"),
                              HasSubstr("WEBHOOKS_TOKEN")));
  EXPECT_THAT(help.err, IsEmpty());

  const ProcessResult create = Run({"webhooks", "create", "--help"});
  EXPECT_EQ(create.exit_code, 0);
  EXPECT_THAT(create.out, AllOf(StartsWith("Usage: webhookctl webhooks create --account ACCOUNT"),
                                HasSubstr("--display-name TEXT"), HasSubstr("--header NAME=VALUE"),
                                HasSubstr("--addr HOST:PORT")));

  const ProcessResult group = Run({"deliveries", "--help"});
  EXPECT_EQ(group.exit_code, 0);
  EXPECT_THAT(group.out, AllOf(HasSubstr("deliveries watch"), Not(HasSubstr("webhooks list"))));
}

// Each list says its order, as the API defines it (ListWebhooks,
// ListEvents, ListDeliveries of a webhook or event, ListEventTypes).
TEST_F(WebhookctlTest, HelpStatesTheOrderOfEachList) {
  const ProcessResult help = Run({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.out,
              AllOf(ContainsRegex("webhooks list +List the webhooks of an account, oldest first\n"),
                    ContainsRegex("events list +List the events of an account, newest first\n"),
                    ContainsRegex("deliveries list +List the deliveries of a webhook or of an "
                                  "event, oldest first \\(publish order\\), or of a whole "
                                  "account, newest first\n"),
                    ContainsRegex("event-types list +List the event types an account can "
                                  "subscribe to, sorted by name\n")));

  const std::pair<std::vector<std::string>, std::string> commands[] = {
      {{"webhooks", "list", "--help"}, "oldest first"},
      {{"events", "list", "--help"}, "newest first"},
      {{"deliveries", "list", "--help"}, "oldest first (publish order)"},
      {{"help", "event-types", "list"}, "sorted by name"},
  };
  for (const auto& [args, order] : commands) {
    const ProcessResult command = Run(args);
    EXPECT_EQ(command.exit_code, 0) << args[0];
    EXPECT_THAT(command.out, HasSubstr(order)) << args[0];
  }
}

TEST_F(WebhookctlTest, BadArgumentsPrintTheCommandsUsageAndExit2) {
  const ProcessResult missing = Run({"webhooks", "create", "--account", "acme", "--url", "x"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_THAT(missing.out, IsEmpty());
  EXPECT_THAT(missing.err, AllOf(StartsWith("error: --display-name is required\n"),
                                 HasSubstr("Usage: webhookctl webhooks create")));

  const ProcessResult unknown_flag = Run({"webhooks", "list", "--account", "acme", "--bogus"});
  EXPECT_EQ(unknown_flag.exit_code, 2);
  EXPECT_THAT(unknown_flag.err, AllOf(StartsWith("error: unknown flag --bogus"),
                                      HasSubstr("Usage: webhookctl webhooks list")));

  const ProcessResult unknown_command = Run({"webhooks", "frobnicate"});
  EXPECT_EQ(unknown_command.exit_code, 2);
  EXPECT_THAT(unknown_command.err, StartsWith("error: unknown command 'webhooks frobnicate'"));

  const ProcessResult nothing = Run({});
  EXPECT_EQ(nothing.exit_code, 2);
  EXPECT_THAT(nothing.err, StartsWith("error: no command given"));

  const ProcessResult timeout = Run({"--timeout", "soon", "webhooks", "list", "--account", "a"});
  EXPECT_EQ(timeout.exit_code, 2);
  EXPECT_THAT(timeout.err, StartsWith("error: --timeout: expected a duration"));

  const ProcessResult both = Run({"events", "publish", "--account", "acme", "--type",
                                  "booking.created", "--data", "{}", "--data-file", "-"});
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_THAT(both.err, AllOf(StartsWith("error: give exactly one of --data and --data-file"),
                              HasSubstr("Usage: webhookctl events publish")));

  const ProcessResult no_name = Run({"webhooks", "get"});
  EXPECT_EQ(no_name.exit_code, 2);
  EXPECT_THAT(no_name.err, StartsWith("error: missing NAME"));

  const ProcessResult bare_id = Run({"webhooks", "get", "wh_123"});
  EXPECT_EQ(bare_id.exit_code, 2);
  EXPECT_THAT(bare_id.err, StartsWith("error: NAME: give the full name"));

  const ProcessResult state =
      Run({"deliveries", "list", "--webhook", "accounts/acme/webhooks/wh_1", "--state", "lost"});
  EXPECT_EQ(state.exit_code, 2);
  EXPECT_THAT(state.err, StartsWith("error: --state: expected pending"));

  const ProcessResult nothing_to_update = Run({"webhooks", "update", "accounts/acme/webhooks/x"});
  EXPECT_EQ(nothing_to_update.exit_code, 2);
  EXPECT_THAT(nothing_to_update.err, StartsWith("error: nothing to change"));
}

TEST_F(WebhookctlTest, ServerErrorsPrintTheCodeAndExit1) {
  const ProcessResult missing =
      Run({"webhooks", "get", "accounts/acme/webhooks/wh_00000000000000000000000000"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.out, IsEmpty());
  EXPECT_THAT(missing.err, StartsWith("error: NOT_FOUND: "));

  const ProcessResult unknown_token =
      Run({"webhooks", "list", "--account", "acme"}, "", std::string("not-a-token"));
  EXPECT_EQ(unknown_token.exit_code, 1);
  EXPECT_THAT(unknown_token.err, StartsWith("error: UNAUTHENTICATED: "));

  const ProcessResult other_account =
      Run({"webhooks", "list", "--account", "beta"}, "", std::string(kAcmeToken));
  EXPECT_EQ(other_account.exit_code, 1);
  EXPECT_THAT(other_account.err, StartsWith("error: PERMISSION_DENIED: "));

  const ProcessResult invalid = Run({"webhooks", "create", "--account", "acme", "--display-name",
                                     "x", "--url", "http://insecure.example.com/"});
  EXPECT_EQ(invalid.exit_code, 1);
  EXPECT_THAT(invalid.err, AllOf(StartsWith("error: INVALID_ARGUMENT: "), HasSubstr("url")));
}

// Without a token the server would answer only "missing authorization
// metadata"; the CLI says what is missing and how to set it, before calling.
TEST_F(WebhookctlTest, MissingTokenSaysHowToSetItBeforeAnyCall) {
  for (const std::optional<std::string>& token :
       {std::optional<std::string>(), std::optional<std::string>(""),
        std::optional<std::string>(" ")}) {
    const ProcessResult result = Run({"webhooks", "list", "--account", "acme"}, "", token);
    EXPECT_EQ(result.exit_code, 2) << result.err;
    EXPECT_THAT(result.out, IsEmpty());
    EXPECT_THAT(result.err, AllOf(StartsWith("error: WEBHOOKS_TOKEN is not set"),
                                  HasSubstr("export WEBHOOKS_TOKEN="),
                                  Not(HasSubstr("UNAUTHENTICATED"))));
  }
  // Nothing was called: not even a server that is not there is noticed.
  const ProcessResult nowhere =
      RunProcess(Argv({"--addr", "127.0.0.1:1", "events", "publish", "--account", "acme",
                       "--type", "booking.created", "--data", "{}"}),
                 {{"WEBHOOKS_TOKEN", std::nullopt}}, "", kWait);
  EXPECT_EQ(nowhere.exit_code, 2);
  EXPECT_THAT(nowhere.err, StartsWith("error: WEBHOOKS_TOKEN is not set"));

  // Help needs no token.
  const ProcessResult help = Run({"webhooks", "list", "--help"}, "", std::nullopt);
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.out, StartsWith("Usage: webhookctl webhooks list"));
}

TEST_F(WebhookctlTest, CreatePrintsTheSecretOnceAndListPrintsAnAlignedTable) {
  const ProcessResult created =
      Run({"webhooks", "create", "--account", "acme", "--display-name", "PMS Booking Sync", "--url",
           "https://pms.example.com/hooks", "--event-type", "booking.created,booking.cancelled",
           "--header", "X-Api-Key=k-123", "--description", "Keeps the PMS in sync"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  const std::string name = Field(created.out, "name");
  EXPECT_THAT(name, StartsWith("accounts/acme/webhooks/wh_"));
  EXPECT_THAT(Field(created.out, "secret"), StartsWith("whsec_"));
  EXPECT_EQ(Field(created.out, "event_types"), "booking.cancelled, booking.created");
  EXPECT_EQ(Field(created.out, "headers"), "X-Api-Key=k-123");
  EXPECT_EQ(Field(created.out, "status"), "enabled");
  EXPECT_THAT(created.err, HasSubstr("Store the signing secret now"));

  const ProcessResult got = Run({"webhooks", "get", name});
  ASSERT_EQ(got.exit_code, 0) << got.err;
  EXPECT_EQ(Field(got.out, "display_name"), "PMS Booking Sync");
  EXPECT_EQ(Field(got.out, "secret"), "");  // only Create and Rotate return it

  const std::string second = CreateWebhook({"--paused"});
  const ProcessResult listed = Run({"webhooks", "list", "--account", "acme"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  const std::vector<std::string> lines = Lines(listed.out);
  ASSERT_THAT(lines, SizeIs(3));
  EXPECT_THAT(lines[0], ContainsRegex("^NAME +DISPLAY NAME +STATUS +EVENT TYPES +URL$"));
  EXPECT_THAT(lines[1],
              AllOf(StartsWith(name + " "), HasSubstr("PMS Booking Sync"), HasSubstr(" enabled "),
                    HasSubstr("booking.cancelled,booking.created"),
                    HasSubstr("https://pms.example.com/hooks")));
  EXPECT_THAT(lines[2], AllOf(StartsWith(second + " "), HasSubstr(" paused "), HasSubstr("(all)")));
  // Aligned: every column starts at the same offset on every line.
  EXPECT_EQ(lines[1].find("PMS Booking Sync"), lines[0].find("DISPLAY NAME"));
  EXPECT_EQ(lines[2].find(" paused ") + 1, lines[0].find("STATUS"));
  EXPECT_EQ(lines[1].find("https://"), lines[0].find("URL"));
}

TEST_F(WebhookctlTest, JsonPrintsOneProtobufObjectPerLine) {
  const std::string first = CreateWebhook();
  const std::string second = CreateWebhook({"--event-type", "payment.completed"});

  const ProcessResult got = Run({"--json", "webhooks", "get", first});
  ASSERT_EQ(got.exit_code, 0) << got.err;
  ASSERT_THAT(Lines(got.out), SizeIs(1));
  const auto webhook = FromJson<v1::Webhook>(got.out);
  EXPECT_EQ(webhook.name(), first);
  EXPECT_EQ(webhook.display_name(), "PMS Booking Sync");
  EXPECT_THAT(got.out, HasSubstr(R"("displayName":"PMS Booking Sync")"));

  const ProcessResult listed = Run({"webhooks", "list", "--account", "acme", "--json"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  const std::vector<std::string> lines = Lines(listed.out);
  ASSERT_THAT(lines, SizeIs(2));
  EXPECT_EQ(FromJson<v1::Webhook>(lines[0]).name(), first);
  EXPECT_EQ(FromJson<v1::Webhook>(lines[1]).name(), second);
  EXPECT_THAT(FromJson<v1::Webhook>(lines[1]).event_types(),
              ::testing::ElementsAre("payment.completed"));

  const ProcessResult created = Run({"--json", "webhooks", "create", "--account", "acme", "--url",
                                     "https://crm.example.com/", "--display-name", "CRM"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  EXPECT_THAT(FromJson<v1::Webhook>(created.out).secret(), StartsWith("whsec_"));
  EXPECT_THAT(created.err, IsEmpty());  // scripts get the secret in the JSON only
}

TEST_F(WebhookctlTest, PauseResumeUpdateRotateDelete) {
  const std::string name = CreateWebhook();
  v1::GetWebhookRequest get;
  get.set_name(name);

  const ProcessResult paused = Run({"webhooks", "pause", name});
  ASSERT_EQ(paused.exit_code, 0) << paused.err;
  EXPECT_EQ(Field(paused.out, "status"), "paused");
  EXPECT_FALSE(client_->GetWebhook(get)->enabled());

  const ProcessResult resumed = Run({"webhooks", "resume", name, "--drop-held"});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_EQ(Field(resumed.out, "status"), "enabled");
  EXPECT_TRUE(client_->GetWebhook(get)->enabled());

  // A bare id with --account works too.
  const std::string id = name.substr(name.rfind('/') + 1);
  const ProcessResult updated =
      Run({"webhooks", "update", id, "--account", "acme", "--display-name", "PMS v2",
           "--all-events", "--header", "X-Api-Key=k-2"});
  ASSERT_EQ(updated.exit_code, 0) << updated.err;
  auto after = client_->GetWebhook(get);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->display_name(), "PMS v2");
  EXPECT_THAT(after->event_types(), IsEmpty());
  EXPECT_EQ(after->headers().at("X-Api-Key"), "k-2");
  EXPECT_EQ(after->url(), "https://pms.example.com/hooks");  // not in the mask: unchanged

  const ProcessResult rotated = Run({"webhooks", "rotate-secret", name});
  ASSERT_EQ(rotated.exit_code, 0) << rotated.err;
  EXPECT_THAT(Field(rotated.out, "secret"), StartsWith("whsec_"));
  EXPECT_NE(Field(rotated.out, "previous_secret_expire_time"), "");

  const ProcessResult deleted = Run({"webhooks", "delete", name});
  ASSERT_EQ(deleted.exit_code, 0) << deleted.err;
  EXPECT_EQ(deleted.out, absl::StrCat("deleted ", name, "\n"));
  EXPECT_EQ(client_->GetWebhook(get).status().code(), absl::StatusCode::kNotFound);

  const ProcessResult again = Run({"webhooks", "delete", name});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_THAT(again.err, StartsWith("error: NOT_FOUND: "));
}

TEST_F(WebhookctlTest, RateLimitIsSetShownAndRemoved) {
  const std::string name = CreateWebhook({"--rate-limit", "5", "--burst", "10"});
  v1::GetWebhookRequest get;
  get.set_name(name);
  auto created = client_->GetWebhook(get);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->rate_limit().requests_per_second(), 5);
  EXPECT_EQ(created->rate_limit().burst(), 10);
  const ProcessResult shown = Run({"webhooks", "get", name});
  EXPECT_EQ(Field(shown.out, "rate_limit"), "5/s, burst 10");

  const ProcessResult changed = Run({"webhooks", "update", name, "--rate-limit", "2"});
  ASSERT_EQ(changed.exit_code, 0) << changed.err;
  EXPECT_EQ(Field(changed.out, "rate_limit"), "2/s, burst 2");

  const ProcessResult removed = Run({"webhooks", "update", name, "--no-rate-limit"});
  ASSERT_EQ(removed.exit_code, 0) << removed.err;
  EXPECT_EQ(Field(removed.out, "rate_limit"), "");
  EXPECT_FALSE(client_->GetWebhook(get)->has_rate_limit());

  EXPECT_EQ(Run({"webhooks", "update", name, "--burst", "3"}).exit_code, 2);
  EXPECT_EQ(Run({"webhooks", "update", name, "--rate-limit", "fast"}).exit_code, 2);
  const ProcessResult refused = Run({"webhooks", "update", name, "--rate-limit", "0"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.err,
              StartsWith("error: INVALID_ARGUMENT: webhook.rate_limit.requests_per_second:"));
}

TEST_F(WebhookctlTest, OrderedDeliveryIsSetShownAndTurnedOff) {
  const std::string name = CreateWebhook({"--ordered"});
  v1::GetWebhookRequest get;
  get.set_name(name);
  auto created = client_->GetWebhook(get);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_TRUE(created->ordered_delivery());
  EXPECT_EQ(Field(Run({"webhooks", "get", name}).out, "ordered_delivery"),
            "yes (one at a time, in publish order)");

  const ProcessResult off = Run({"webhooks", "update", name, "--unordered"});
  ASSERT_EQ(off.exit_code, 0) << off.err;
  EXPECT_EQ(Field(off.out, "ordered_delivery"), "");
  EXPECT_FALSE(client_->GetWebhook(get)->ordered_delivery());
  const ProcessResult on = Run({"webhooks", "update", name, "--ordered"});
  ASSERT_EQ(on.exit_code, 0) << on.err;
  EXPECT_TRUE(client_->GetWebhook(get)->ordered_delivery());

  const ProcessResult both = Run({"webhooks", "update", name, "--ordered", "--unordered"});
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_THAT(both.err, HasSubstr("--ordered and --unordered exclude each other"));
}

// ---- applications ----

TEST_F(WebhookctlTest, ApplicationsHelp) {
  const ProcessResult help = Run({"help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.out, AllOf(HasSubstr("applications create"), HasSubstr("applications list"),
                              HasSubstr("applications get"), HasSubstr("applications update"),
                              HasSubstr("applications rotate"), HasSubstr("applications revoke"),
                              HasSubstr("applications delete")));
  const ProcessResult create = Run({"applications", "create", "--help"});
  EXPECT_EQ(create.exit_code, 0);
  EXPECT_THAT(create.out,
              AllOf(StartsWith("Usage: webhookctl applications create --account ACCOUNT "
                               "--display-name TEXT [flags]"),
                    HasSubstr("--scope SCOPE[,SCOPE...]"), HasSubstr("--expires-in DURATION"),
                    HasSubstr("SHA-256")));
}

TEST_F(WebhookctlTest, ApplicationsCreatePrintsTheKeyOnceAndAPublishKeyOnlyPublishes) {
  const ProcessResult created =
      Run({"applications", "create", "--account", "acme", "--display-name", "Channel manager",
           "--id", "channel-manager", "--scope", "publish", "--description", "Pushes bookings"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  EXPECT_EQ(Field(created.out, "name"), "accounts/acme/applications/channel-manager");
  EXPECT_EQ(Field(created.out, "display_name"), "Channel manager");
  EXPECT_EQ(Field(created.out, "description"), "Pushes bookings");
  EXPECT_EQ(Field(created.out, "state"), "ACTIVE");
  EXPECT_EQ(Field(created.out, "scopes"), "publish");
  EXPECT_EQ(Field(created.out, "create_time"), PrintedTime(server_.clock().Now()));
  EXPECT_EQ(Field(created.out, "last_used_time"), "");
  const std::string key = Field(created.out, "api_key");
  ASSERT_THAT(key, StartsWith("wak_"));
  EXPECT_EQ(key.size(), 4u + 43u);
  EXPECT_EQ(Field(created.out, "key_prefix"), key.substr(0, 12));
  // The key on its own labelled line, the last one; the note on stderr only.
  EXPECT_THAT(Lines(created.out).back(), AllOf(StartsWith("api_key: "), ::testing::EndsWith(key)));
  EXPECT_EQ(created.err,
            "Store the API key now: it is shown only this once (applications rotate makes a new "
            "one).\n");

  // The key as webhookctl's token: publishing works, reading is denied.
  const ProcessResult published = Run({"events", "publish", "--account", "acme", "--type",
                                       "booking.created", "--data", R"({"booking_id":"B-1"})"},
                                      "", key);
  EXPECT_EQ(published.exit_code, 0) << published.err;
  EXPECT_THAT(Field(published.out, "name"), StartsWith("accounts/acme/events/"));
  const ProcessResult listed = Run({"webhooks", "list", "--account", "acme"}, "", key);
  EXPECT_EQ(listed.exit_code, 1);
  EXPECT_THAT(listed.out, IsEmpty());
  EXPECT_EQ(listed.err,
            "error: PERMISSION_DENIED: ListWebhooks needs SCOPE_READ, which this key does not "
            "have\n");

  // Get never shows the key.
  const ProcessResult got = Run({"applications", "get", "channel-manager", "--account", "acme"});
  ASSERT_EQ(got.exit_code, 0) << got.err;
  EXPECT_EQ(Field(got.out, "key_prefix"), key.substr(0, 12));
  EXPECT_EQ(Field(got.out, "api_key"), "");
  EXPECT_THAT(got.out, Not(HasSubstr(key)));
  EXPECT_THAT(got.err, IsEmpty());

  // --json: the response with the key, for scripts; nothing on stderr.
  const ProcessResult json = Run({"--json", "applications", "create", "--account", "acme",
                                  "--display-name", "CRM", "--scope", "read,publish"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  ASSERT_THAT(Lines(json.out), SizeIs(1));
  const auto response = FromJson<v1::CreateApplicationResponse>(json.out);
  EXPECT_THAT(response.api_key(), StartsWith("wak_"));
  EXPECT_THAT(response.application().name(), StartsWith("accounts/acme/applications/app_"));
  EXPECT_THAT(response.application().scopes(),
              ::testing::ElementsAre(v1::SCOPE_READ, v1::SCOPE_PUBLISH));
  EXPECT_THAT(json.err, IsEmpty());
}

TEST_F(WebhookctlTest, ApplicationsRotateWithoutOverlapRefusesTheOldKeyAtOnce) {
  const CreatedApplication app = CreateApplication({"--id", "pms"});
  ASSERT_THAT(app.key, StartsWith("wak_"));
  const std::vector<std::string> list_webhooks = {"webhooks", "list", "--account", "acme"};
  ASSERT_EQ(Run(list_webhooks, "", app.key).exit_code, 0);

  const ProcessResult rotated = Run({"applications", "rotate", app.name, "--overlap", "0s"});
  ASSERT_EQ(rotated.exit_code, 0) << rotated.err;
  const std::string second = Field(rotated.out, "api_key");
  ASSERT_THAT(second, StartsWith("wak_"));
  EXPECT_NE(second, app.key);
  EXPECT_EQ(Field(rotated.out, "key_prefix"), second.substr(0, 12));
  EXPECT_EQ(Field(rotated.out, "previous_key_expire_time"), "");
  EXPECT_THAT(rotated.err, HasSubstr("Store the API key now"));

  // The server forgets a key rotated out without overlap, so its message is
  // that of any unknown token; the code is what matters.
  const ProcessResult old_key = Run(list_webhooks, "", app.key);
  EXPECT_EQ(old_key.exit_code, 1);
  EXPECT_THAT(old_key.err, StartsWith("error: UNAUTHENTICATED: "));
  EXPECT_THAT(old_key.out, IsEmpty());
  EXPECT_EQ(Run(list_webhooks, "", second).exit_code, 0);

  // With an overlap (and the bare id): both keys work until it ends.
  const ProcessResult overlapping =
      Run({"applications", "rotate", "pms", "--account", "acme", "--overlap", "1h"});
  ASSERT_EQ(overlapping.exit_code, 0) << overlapping.err;
  EXPECT_EQ(Field(overlapping.out, "previous_key_expire_time"),
            PrintedTime(server_.clock().Now() + absl::Hours(1)));
  EXPECT_EQ(Run(list_webhooks, "", second).exit_code, 0);
  EXPECT_EQ(Run(list_webhooks, "", Field(overlapping.out, "api_key")).exit_code, 0);

  const ProcessResult bad = Run({"applications", "rotate", app.name, "--overlap", "soon"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.err, StartsWith("error: --overlap: expected a duration like 90s, 12h or 30d, "
                                  "got 'soon'\n"));
  const ProcessResult too_long = Run({"applications", "rotate", app.name, "--overlap", "8d"});
  EXPECT_EQ(too_long.exit_code, 1);
  EXPECT_THAT(too_long.err, StartsWith("error: INVALID_ARGUMENT: previous_key_overlap:"));
}

TEST_F(WebhookctlTest, ApplicationsRevokeRefusesTheKeyAndGetShowsRevoked) {
  const CreatedApplication app = CreateApplication({"--id", "pms", "--scope", "read"});
  const std::vector<std::string> list_webhooks = {"webhooks", "list", "--account", "acme"};
  ASSERT_EQ(Run(list_webhooks, "", app.key).exit_code, 0);

  const ProcessResult revoked = Run({"applications", "revoke", app.name});
  ASSERT_EQ(revoked.exit_code, 0) << revoked.err;
  EXPECT_EQ(Field(revoked.out, "state"), "REVOKED");
  EXPECT_EQ(Field(revoked.out, "revoke_time"), PrintedTime(server_.clock().Now()));
  EXPECT_EQ(Field(revoked.out, "api_key"), "");

  const ProcessResult refused = Run(list_webhooks, "", app.key);
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_EQ(refused.err,
            "error: UNAUTHENTICATED: this API key was revoked, rotated out or has expired\n");

  const ProcessResult got = Run({"applications", "get", app.name});
  ASSERT_EQ(got.exit_code, 0) << got.err;
  EXPECT_EQ(Field(got.out, "state"), "REVOKED");
  EXPECT_EQ(Field(got.out, "scopes"), "read");

  const ProcessResult rotate = Run({"applications", "rotate", app.name});
  EXPECT_EQ(rotate.exit_code, 1);
  EXPECT_THAT(rotate.err, StartsWith("error: FAILED_PRECONDITION: "));
  EXPECT_THAT(rotate.out, IsEmpty());
}

TEST_F(WebhookctlTest, ApplicationsListUpdateAndDelete) {
  const CreatedApplication alpha = CreateApplication({"--id", "alpha"});
  const CreatedApplication ops =
      CreateApplication({"--id", "ops", "--scope", "manage", "--scope", "read", "--expire-time",
                         "2099-01-01T00:00:00Z"});

  const ProcessResult listed = Run({"applications", "list", "--account", "acme"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  const std::vector<std::string> lines = Lines(listed.out);
  ASSERT_THAT(lines, SizeIs(3));
  EXPECT_THAT(lines[0], ContainsRegex("^NAME +DISPLAY NAME +STATE +SCOPES +KEY PREFIX +EXPIRES "
                                      "+LAST USED$"));
  EXPECT_THAT(lines[1], AllOf(StartsWith(alpha.name + " "), HasSubstr(" ACTIVE "),
                              HasSubstr(" (all) "), HasSubstr(alpha.key.substr(0, 12))));
  EXPECT_THAT(lines[2], AllOf(StartsWith(ops.name + " "), HasSubstr(" read,manage "),
                              HasSubstr(" 2099-01-01T00:00:00.000Z ")));
  EXPECT_EQ(lines[1].find(" ACTIVE ") + 1, lines[0].find("STATE"));
  EXPECT_EQ(lines[2].find(" 2099-") + 1, lines[0].find("EXPIRES"));
  EXPECT_THAT(listed.out, AllOf(Not(HasSubstr(alpha.key)), Not(HasSubstr(ops.key))));

  // The account's manage key manages its applications, and only its own.
  const ProcessResult by_key = Run({"applications", "create", "--account", "acme", "--display-name",
                                    "Made by ops", "--scope", "publish"},
                                   "", ops.key);
  EXPECT_EQ(by_key.exit_code, 0) << by_key.err;
  const ProcessResult other_account =
      Run({"applications", "list", "--account", "beta"}, "", ops.key);
  EXPECT_EQ(other_account.exit_code, 1);
  EXPECT_THAT(other_account.err, StartsWith("error: PERMISSION_DENIED: "));

  const ProcessResult updated = Run({"applications", "update", "alpha", "--account", "acme",
                                     "--display-name", "Alpha v2", "--description", "note"});
  ASSERT_EQ(updated.exit_code, 0) << updated.err;
  EXPECT_EQ(Field(updated.out, "display_name"), "Alpha v2");
  EXPECT_EQ(Field(updated.out, "description"), "note");
  const ProcessResult cleared = Run({"applications", "update", alpha.name, "--description", ""});
  ASSERT_EQ(cleared.exit_code, 0) << cleared.err;
  EXPECT_EQ(Field(cleared.out, "description"), "");
  EXPECT_EQ(Field(cleared.out, "display_name"), "Alpha v2");
  const ProcessResult nothing = Run({"applications", "update", alpha.name});
  EXPECT_EQ(nothing.exit_code, 2);
  EXPECT_THAT(nothing.err, StartsWith("error: nothing to change: give --display-name or "
                                      "--description"));

  const ProcessResult deleted = Run({"applications", "delete", alpha.name});
  ASSERT_EQ(deleted.exit_code, 0) << deleted.err;
  EXPECT_EQ(deleted.out, absl::StrCat("deleted ", alpha.name, "\n"));
  const ProcessResult gone = Run({"applications", "get", alpha.name});
  EXPECT_EQ(gone.exit_code, 1);
  EXPECT_THAT(gone.err, StartsWith("error: NOT_FOUND: "));
  EXPECT_EQ(Run({"webhooks", "list", "--account", "acme"}, "", alpha.key).exit_code, 1);

  const ProcessResult json = Run({"--json", "applications", "list", "--account", "acme"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  ASSERT_THAT(Lines(json.out), SizeIs(2));  // ops and the one made by its key
  EXPECT_EQ(FromJson<v1::Application>(Lines(json.out)[1]).name(), ops.name);
}

TEST_F(WebhookctlTest, ApplicationsBadArgumentsExit2) {
  const std::pair<std::vector<std::string>, std::string> cases[] = {
      {{"applications", "create", "--account", "acme", "--display-name", "X", "--scope", "admin"},
       "error: --scope: expected read, publish or manage, got 'admin'\n"},
      {{"applications", "create", "--account", "acme", "--display-name", "X", "--expire-time",
        "2099-01-01T00:00:00Z", "--expires-in", "1h"},
       "error: --expire-time and --expires-in exclude each other\n"},
      {{"applications", "create", "--account", "acme", "--display-name", "X", "--expire-time",
        "tomorrow"},
       "error: --expire-time: expected an RFC 3339 time (2026-12-03T09:00:00Z), got "
       "'tomorrow'\n"},
      {{"applications", "get", "pms"},
       "error: NAME: give the full name accounts/ACCOUNT/applications/pms or --account\n"},
  };
  for (const auto& [args, error] : cases) {
    const ProcessResult result = Run(args);
    EXPECT_EQ(result.exit_code, 2) << args.back();
    EXPECT_THAT(result.err, StartsWith(error)) << args.back();
    EXPECT_THAT(result.out, IsEmpty());
  }
  // --expires-in counts from now; the service checks that it is in the future.
  const ProcessResult expiring = Run({"applications", "create", "--account", "acme",
                                      "--display-name", "Temp", "--expires-in", "30d"});
  ASSERT_EQ(expiring.exit_code, 0) << expiring.err;
  EXPECT_NE(Field(expiring.out, "expire_time"), "");
}

TEST_F(WebhookctlTest, PublishSendsDataVerbatimAndReplaysItsKey) {
  CreateWebhook();
  // Spacing and key order are kept byte for byte (data_json).
  const std::string data = R"({ "booking_id" : "B-1", "nights": 3 })";
  const std::vector<std::string> publish = {"events",
                                            "publish",
                                            "--account",
                                            "acme",
                                            "--type",
                                            "booking.created",
                                            "--data",
                                            data,
                                            "--idempotency-key",
                                            "booking-B-1-created"};
  const ProcessResult first = Run(publish);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  const std::string event = Field(first.out, "name");
  EXPECT_THAT(event, StartsWith("accounts/acme/events/evt_"));
  EXPECT_EQ(Field(first.out, "data"), data);
  EXPECT_EQ(Field(first.out, "replayed"), "false");
  EXPECT_EQ(Field(first.out, "idempotency_key"), "booking-B-1-created");
  EXPECT_THAT(first.out, ContainsRegex("\nDELIVERY +STATE +ATTEMPTS"));

  std::vector<std::string> json_publish = publish;
  json_publish.insert(json_publish.begin(), "--json");
  const ProcessResult second = Run(json_publish);
  ASSERT_EQ(second.exit_code, 0) << second.err;
  const auto replay = FromJson<v1::PublishEventResponse>(second.out);
  EXPECT_TRUE(replay.replayed());
  EXPECT_EQ(replay.event().name(), event);
  EXPECT_EQ(replay.event().data_json(), data);

  // From stdin, without a key: the client makes one.
  const ProcessResult piped = Run(
      {"events", "publish", "--account", "acme", "--type", "booking.cancelled", "--data-file", "-"},
      R"({"booking_id":"B-1"})");
  ASSERT_EQ(piped.exit_code, 0) << piped.err;
  EXPECT_EQ(Field(piped.out, "data"), R"({"booking_id":"B-1"})");
  EXPECT_THAT(Field(piped.out, "idempotency_key"), ::testing::MatchesRegex("[0-9a-f-]{36}"));

  const ProcessResult got = Run({"events", "get", event});
  ASSERT_EQ(got.exit_code, 0) << got.err;
  EXPECT_EQ(Field(got.out, "event_type"), "booking.created");

  const ProcessResult listed =
      Run({"events", "list", "--account", "acme", "--type", "booking.created"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  const std::vector<std::string> lines = Lines(listed.out);
  ASSERT_THAT(lines, SizeIs(2));
  EXPECT_THAT(lines[0], ContainsRegex("^NAME +TYPE +CREATED +IDEMPOTENCY KEY$"));
  EXPECT_THAT(lines[1], AllOf(StartsWith(event + " "), HasSubstr("booking-B-1-created")));

  const ProcessResult bad = Run(
      {"events", "publish", "--account", "acme", "--type", "booking.created", "--data", "[1,2]"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.err, StartsWith("error: INVALID_ARGUMENT: "));
}

// An event that matches no webhook is stored and delivered nowhere: the
// CLI warns on stderr (PublishEventResponse.matched_webhook_count == 0) and
// still exits 0. A replay delivers nothing new by design: no warning.
TEST_F(WebhookctlTest, PublishWarnsWhenNoWebhookMatches) {
  // beta has no webhook at all.
  const std::vector<std::string> to_beta = {"events", "publish", "--account", "beta", "--type",
                                            "booking.created", "--data", "{}",
                                            "--idempotency-key", "B-1"};
  const ProcessResult nowhere = Run(to_beta);
  ASSERT_EQ(nowhere.exit_code, 0) << nowhere.err;
  EXPECT_THAT(Field(nowhere.out, "name"), StartsWith("accounts/beta/events/evt_"));
  EXPECT_EQ(nowhere.err,
            "warning: no webhook of accounts/beta matched event type booking.created: nothing "
            "will be delivered. Check the account name and the webhooks' event types "
            "(webhookctl webhooks list --account accounts/beta).\n");

  const ProcessResult replayed = Run(to_beta);
  ASSERT_EQ(replayed.exit_code, 0) << replayed.err;
  EXPECT_EQ(Field(replayed.out, "replayed"), "true");
  EXPECT_THAT(replayed.err, IsEmpty());

  // acme's only webhook takes booking.cancelled.
  CreateWebhook({"--event-type", "booking.cancelled"});
  const ProcessResult other_type =
      Run({"--json", "events", "publish", "--account", "acme", "--type", "booking.created",
           "--data", "{}"});
  ASSERT_EQ(other_type.exit_code, 0) << other_type.err;
  EXPECT_EQ(FromJson<v1::PublishEventResponse>(other_type.out).matched_webhook_count(), 0);
  EXPECT_THAT(other_type.err,
              StartsWith("warning: no webhook of accounts/acme matched event type "
                         "booking.created: nothing will be delivered."));

  const ProcessResult matched = Run(
      {"events", "publish", "--account", "acme", "--type", "booking.cancelled", "--data", "{}"});
  ASSERT_EQ(matched.exit_code, 0) << matched.err;
  EXPECT_THAT(matched.err, IsEmpty());

  // A batch names each unmatched type once, after the table.
  TempDir dir;
  const std::string path = dir.Child("events.jsonl");
  std::ofstream(path) << R"({"eventType":"booking.created","data":{}})" << "\n"
                      << R"({"eventType":"booking.cancelled","data":{}})" << "\n"
                      << R"({"eventType":"booking.created","data":{}})" << "\n"
                      << R"({"eventType":"payment.completed","data":{}})" << "\n";
  const ProcessResult batch = Run({"events", "batch-publish", "--account", "acme", "--file", path});
  ASSERT_EQ(batch.exit_code, 0) << batch.err;
  EXPECT_THAT(Lines(batch.out), SizeIs(5));
  EXPECT_EQ(batch.err,
            "warning: no webhook of accounts/acme matched event types booking.created, "
            "payment.completed: nothing will be delivered. Check the account name and the "
            "webhooks' event types (webhookctl webhooks list --account accounts/acme).\n");
}

TEST_F(WebhookctlTest, BatchPublishReadsJsonLines) {
  TempDir dir;
  const std::string path = dir.Child("events.jsonl");
  std::ofstream(path) << "# three bookings\n"
                      << R"({"eventType":"booking.created","data":{"booking_id":"B-1"}})"
                      << "\n"
                      << "\n"
                      << R"({"event_type":"booking.created","data_json":"eyJhIjoxfQ=="})"
                      << "\n"
                      << R"({"eventType":"booking.cancelled","data":{"booking_id":"B-1"},)"
                      << R"("idempotencyKey":"B-1-cancelled"})"
                      << "\n";
  const ProcessResult published =
      Run({"events", "batch-publish", "--account", "acme", "--file", path});
  ASSERT_EQ(published.exit_code, 0) << published.err;
  const std::vector<std::string> lines = Lines(published.out);
  ASSERT_THAT(lines, SizeIs(4));
  EXPECT_THAT(lines[0], ContainsRegex("^EVENT +TYPE +IDEMPOTENCY KEY +DELIVERIES +REPLAYED"));
  EXPECT_THAT(lines[3], AllOf(HasSubstr("booking.cancelled"), HasSubstr("B-1-cancelled")));

  v1::ListEventsRequest list;
  list.set_parent("accounts/acme");
  EXPECT_THAT(client_->ListEvents(list)->events(), SizeIs(3));

  std::ofstream(path) << R"({"eventType":"booking.created","data":{}})"
                      << "\n"
                      << R"({"eventType": )"
                      << "\n";
  const ProcessResult broken =
      Run({"events", "batch-publish", "--account", "acme", "--file", path});
  EXPECT_EQ(broken.exit_code, 2);
  EXPECT_THAT(broken.err, StartsWith("error: --file: line 2: "));
  EXPECT_THAT(client_->ListEvents(list)->events(), SizeIs(3));  // nothing of it published
}

TEST_F(WebhookctlTest, EventTypesAndDeliveries) {
  const ProcessResult types = Run({"event-types", "list", "--account", "acme"});
  ASSERT_EQ(types.exit_code, 0) << types.err;
  EXPECT_THAT(types.out, AllOf(StartsWith("NAME "), ContainsRegex("\nbooking.created +A ")));

  const std::string webhook = CreateWebhook({"--paused"});
  const v1::PublishEventResponse published = Publish("B-1");
  ASSERT_THAT(published.event().deliveries(), SizeIs(1));
  const std::string delivery = published.event().deliveries(0).name();

  const ProcessResult listed = Run({"deliveries", "list", "--webhook", webhook});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  std::vector<std::string> lines = Lines(listed.out);
  ASSERT_THAT(lines, SizeIs(2));
  EXPECT_THAT(lines[0], ContainsRegex("^DELIVERY +STATE +ATTEMPTS +NEXT ATTEMPT +REASON$"));
  EXPECT_THAT(lines[1], ContainsRegex("^" + delivery + " +HELD +0"));

  const ProcessResult by_event =
      Run({"deliveries", "list", "--event", published.event().name(), "--state", "held"});
  ASSERT_EQ(by_event.exit_code, 0) << by_event.err;
  EXPECT_THAT(Lines(by_event.out), SizeIs(2));
  const ProcessResult none = Run({"deliveries", "list", "--webhook", webhook, "--state", "failed"});
  ASSERT_EQ(none.exit_code, 0) << none.err;
  EXPECT_THAT(Lines(none.out), SizeIs(1));  // the header only

  const ProcessResult got = Run({"deliveries", "get", delivery});
  ASSERT_EQ(got.exit_code, 0) << got.err;
  EXPECT_EQ(Field(got.out, "state"), "HELD");
  EXPECT_EQ(Field(got.out, "webhook"), webhook);
  EXPECT_EQ(Field(got.out, "event"), published.event().name());

  const ProcessResult json = Run({"--json", "deliveries", "get", delivery});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  EXPECT_EQ(FromJson<v1::Delivery>(json.out).state(), v1::DELIVERY_STATE_HELD);

  // A paused webhook's deliveries wait for the resume.
  const ProcessResult retried = Run({"deliveries", "retry", delivery});
  EXPECT_EQ(retried.exit_code, 1);
  EXPECT_THAT(retried.err, StartsWith("error: FAILED_PRECONDITION: "));
}

TEST_F(WebhookctlTest, WatchPrintsUpdatesLiveAndExitsZeroOnSigint) {
  CreateWebhook({"--paused"});  // every publish: one HELD update
  const v1::PublishEventResponse first = Publish("B-1");
  Subprocess watch(Argv({"deliveries", "watch", "--account", "acme", "--cursor",
                         absl::StrCat(first.watch_cursor())}),
                   Env(kAdminToken));
  const std::string first_delivery = first.event().deliveries(0).name();
  ASSERT_TRUE(watch.WaitForOutput(first_delivery, kWait)) << watch.out();

  const v1::PublishEventResponse second = Publish("B-2");
  const std::string second_delivery = second.event().deliveries(0).name();
  ASSERT_TRUE(watch.WaitForOutput(second_delivery, kWait)) << watch.out();

  watch.Signal(SIGINT);
  const ProcessResult result = watch.Wait(kWait);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  const std::vector<std::string> lines = Lines(result.out);
  ASSERT_THAT(lines, SizeIs(2));
  EXPECT_THAT(lines[0],
              ContainsRegex("^ *[0-9]+  [0-9T:.Z-]+  HELD +  " + first_delivery + "  attempts=0"));
  EXPECT_THAT(lines[1], HasSubstr("  HELD "));
  EXPECT_THAT(result.err, IsEmpty());
}

TEST_F(WebhookctlTest, WatchJsonAndErrors) {
  CreateWebhook({"--paused"});
  const v1::PublishEventResponse first = Publish("B-1");
  Subprocess watch(Argv({"--json", "deliveries", "watch", "--event", first.event().name(),
                         "--cursor", absl::StrCat(first.watch_cursor())}),
                   Env(kAdminToken));
  ASSERT_TRUE(watch.WaitForOutput("\n", kWait));
  watch.Signal(SIGTERM);
  const ProcessResult result = watch.Wait(kWait);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  ASSERT_THAT(Lines(result.out), SizeIs(1));
  const auto update = FromJson<v1::WatchDeliveriesResponse>(result.out);
  EXPECT_GT(update.cursor(), first.watch_cursor());
  EXPECT_EQ(update.delivery().event(), first.event().name());
  EXPECT_EQ(update.delivery().state(), v1::DELIVERY_STATE_HELD);

  const ProcessResult ahead =
      Run({"deliveries", "watch", "--account", "acme", "--cursor", "999999999"});
  EXPECT_EQ(ahead.exit_code, 1);
  EXPECT_THAT(ahead.err, StartsWith("error: OUT_OF_RANGE: "));

  const ProcessResult no_parent = Run({"deliveries", "watch"});
  EXPECT_EQ(no_parent.exit_code, 2);
  EXPECT_THAT(no_parent.err, StartsWith("error: give --account, --webhook or --event"));

  // --timeout ends a quiet watch cleanly.
  const ProcessResult quiet =
      Run({"--timeout", "300ms", "deliveries", "watch", "--account", "acme"});
  EXPECT_EQ(quiet.exit_code, 0) << quiet.err;
  EXPECT_THAT(quiet.out, IsEmpty());
}

// The server delivering to the real HTTPS test receiver, whose answers the
// test scripts. The server's clock is fake: a failed attempt's retry never
// becomes due, so every delivery here has exactly the attempts it shows.
// A base of its own so that the receiver exists before the server that
// trusts it (bases are built in the order they are listed) and goes after it.
struct WithReceiver {
  static std::unique_ptr<HttpsReceiver> StartReceiver() {
    auto receiver = HttpsReceiver::Start();
    if (!receiver.ok()) {
      std::fprintf(stderr, "test receiver: %s\n", receiver.status().ToString().c_str());
      std::abort();
    }
    return *std::move(receiver);
  }

  std::unique_ptr<HttpsReceiver> receiver_ = StartReceiver();
};

class WebhookctlDeliveryTest : protected WithReceiver, public WebhookctlTest {
 protected:
  WebhookctlDeliveryTest()
      : WebhookctlTest([this](config::ServerConfig& config) {
          config.add_allow_private_targets("127.0.0.0/8");
          config.add_extra_ca_file(receiver_->ca_file());
        }) {}

  // Publishes booking.created for acme and waits until its one delivery has
  // made an attempt and the webhook has taken note of it; the delivery's
  // name.
  std::string PublishAndWaitForAttempt(const std::string& webhook) {
    const v1::PublishEventResponse published = Publish("B-1");
    if (published.event().deliveries_size() != 1) {
      ADD_FAILURE() << "expected one delivery: " << published.DebugString();
      return "";
    }
    const std::string delivery = published.event().deliveries(0).name();
    v1::GetDeliveryRequest get_delivery;
    get_delivery.set_name(delivery);
    v1::GetWebhookRequest get_webhook;
    get_webhook.set_name(webhook);
    const absl::Time deadline = absl::Now() + kWait;
    while (absl::Now() < deadline) {
      auto got = client_->GetDelivery(get_delivery);
      auto hook = client_->GetWebhook(get_webhook);
      if (got.ok() && got->attempts_size() > 0 && hook.ok() &&
          (got->attempts(0).succeeded() || hook->has_failing_since())) {
        return delivery;
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
    ADD_FAILURE() << "no attempt of " << delivery << " within " << kWait;
    return delivery;
  }
};

// "401 HTTP 401" and a base64 body only in --json were all a new user saw.
TEST_F(WebhookctlDeliveryTest, GetShowsTheStatusOnceTheLatencyAndTheReceiversAnswer) {
  receiver_->On("/hooks/pms")
      .Reply(401, "  webhook-signature: no matching signature\n(check the secret)\n")
      .WithHeader("Content-Type", "text/plain");
  const std::string webhook = CreateWebhook({}, receiver_->Url("/hooks/pms"));
  const std::string delivery = PublishAndWaitForAttempt(webhook);

  const ProcessResult got = Run({"deliveries", "get", delivery});
  ASSERT_EQ(got.exit_code, 0) << got.err;
  const std::vector<std::string> lines = Lines(got.out);
  const auto head = std::find_if(lines.begin(), lines.end(), [](const std::string& line) {
    return absl::StartsWith(line, "#1 ");
  });
  ASSERT_NE(head, lines.end()) << got.out;
  // Number, start time, latency with its unit, the status once.
  EXPECT_THAT(*head, ::testing::MatchesRegex("#1  [0-9T:.Z-]+  ([0-9]+ ms|[0-9]+\\.[0-9] s)  "
                                             "HTTP 401"));
  ASSERT_NE(head + 1, lines.end()) << got.out;
  EXPECT_EQ(*(head + 1), "    body: webhook-signature: no matching signature\\n(check the secret)");
  ASSERT_NE(head + 2, lines.end()) << got.out;
  EXPECT_EQ(*(head + 2), "    Content-Type: text/plain");  // kept by the server
  EXPECT_THAT(got.out, Not(HasSubstr("401 HTTP 401")));
}

// "Every failed delivery of my account in the last hour."
TEST_F(WebhookctlDeliveryTest, ListsTheAccountsFailedDeliveriesOfTheLastHour) {
  // --since 1h is read against the CLI's clock, the real one.
  server_.clock().Set(absl::Now());
  receiver_->On("/hooks/down").Reply(503);
  const std::string failing = CreateWebhook({}, receiver_->Url("/hooks/down"));
  const std::string delivery = PublishAndWaitForAttempt(failing);

  ProcessResult listed = Run({"deliveries", "list", "--account", "acme", "--state",
                              "retry_scheduled", "--since", "1h"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  std::vector<std::string> lines = Lines(listed.out);
  ASSERT_THAT(lines, SizeIs(2)) << listed.out;  // the header and one delivery
  EXPECT_THAT(lines[1], StartsWith(delivery + " "));

  // Published more than a minute into the future: nothing yet.
  listed = Run({"deliveries", "list", "--account", "acme", "--since",
                absl::FormatTime(absl::RFC3339_full, absl::Now() + absl::Minutes(1),
                                 absl::UTCTimeZone())});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_THAT(Lines(listed.out), SizeIs(1)) << listed.out;

  const ProcessResult bad = Run({"deliveries", "list", "--account", "acme", "--since", "yesterday"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.err, HasSubstr("--since: expected a duration back from now"));
}

// "Send me everything again since an hour ago": a replay waits for the end
// and reports what it re-sent.
TEST_F(WebhookctlDeliveryTest, RecoverReplaysWhatWasDeliveredAndWaitsForTheEnd) {
  server_.clock().Set(absl::Now());  // --since 1h is read against the CLI's clock
  const std::string webhook = CreateWebhook({}, receiver_->Url("/hooks/replay"));
  PublishAndWaitForAttempt(webhook);
  ASSERT_TRUE(receiver_->WaitForRequests("/hooks/replay", 1, kWait));

  // Nothing failed: a recovery finds nothing to send.
  const ProcessResult failed_only =
      Run({"deliveries", "recover", "--webhook", webhook, "--since", "1h"});
  ASSERT_EQ(failed_only.exit_code, 0) << failed_only.err;
  EXPECT_EQ(Field(failed_only.out, "state"), "SUCCEEDED");
  EXPECT_EQ(Field(failed_only.out, "states"), "failed");
  EXPECT_EQ(Field(failed_only.out, "resent"), "0");

  const ProcessResult replay =
      Run({"deliveries", "recover", "--webhook", webhook, "--since", "1h", "--include-succeeded"});
  ASSERT_EQ(replay.exit_code, 0) << replay.err;
  EXPECT_EQ(Field(replay.out, "state"), "SUCCEEDED");
  EXPECT_EQ(Field(replay.out, "found"), "1");
  EXPECT_EQ(Field(replay.out, "resent"), "1");
  ASSERT_TRUE(receiver_->WaitForRequests("/hooks/replay", 2, kWait));
  EXPECT_EQ(receiver_->Requests("/hooks/replay")[1].Header("webhook-id"),
            receiver_->Requests("/hooks/replay")[0].Header("webhook-id"));

  const std::string name = Field(replay.out, "name");
  const ProcessResult shown = Run({"deliveries", "recovery", name});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_EQ(Field(shown.out, "resent"), "1");

  const ProcessResult started = Run(
      {"--json", "deliveries", "recover", "--webhook", webhook, "--since", "1h", "--no-wait"});
  ASSERT_EQ(started.exit_code, 0) << started.err;
  EXPECT_EQ(FromJson<v1::Recovery>(started.out).state(), v1::RECOVERY_STATE_RUNNING);

  EXPECT_EQ(Run({"deliveries", "recover", "--webhook", webhook}).exit_code, 2);  // no --since
  ASSERT_EQ(Run({"webhooks", "pause", webhook}).exit_code, 0);
  const ProcessResult paused =
      Run({"deliveries", "recover", "--webhook", webhook, "--since", "1h"});
  EXPECT_EQ(paused.exit_code, 1);
  EXPECT_THAT(paused.err, StartsWith("error: FAILED_PRECONDITION: parent: the webhook is paused"));
}

// "Does my URL work, and does my receiver check the signature?" before any
// real event: one webhook.test event to that webhook, whatever its types.
TEST_F(WebhookctlDeliveryTest, WebhooksTestShowsTheFirstAttemptAndExits3WhenItFails) {
  receiver_->On("/hooks/down").Reply(503, "down for maintenance");
  const std::string working =
      CreateWebhook({"--event-type", "payment.completed"}, receiver_->Url("/hooks/ok"));
  const std::string failing = CreateWebhook({}, receiver_->Url("/hooks/down"));

  const ProcessResult ok = Run({"webhooks", "test", working});
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_THAT(ok.out, AllOf(ContainsRegex("event_type: +webhook.test\n"),
                            ContainsRegex("state: +SUCCEEDED\n"), ContainsRegex("#1 .* HTTP 200")));
  ASSERT_EQ(receiver_->Requests("/hooks/ok").size(), 1u);
  EXPECT_THAT(receiver_->Requests("/hooks/ok")[0].body, HasSubstr(R"("type":"webhook.test")"));

  const ProcessResult failed = Run({"webhooks", "test", failing});
  EXPECT_EQ(failed.exit_code, 3) << failed.err;
  EXPECT_THAT(failed.out, AllOf(ContainsRegex("state: +RETRY_SCHEDULED\n"), HasSubstr("HTTP 503"),
                                HasSubstr("down for maintenance")));
  EXPECT_THAT(failed.err, HasSubstr("the test event was not delivered"));

  const ProcessResult unwaited =
      Run({"--json", "webhooks", "test", working, "--no-wait", "--data", R"({"probe":1})"});
  ASSERT_EQ(unwaited.exit_code, 0) << unwaited.err;
  const auto sent = FromJson<v1::SendTestEventResponse>(unwaited.out);
  EXPECT_EQ(sent.event().data_json(), R"({"probe":1})");
  EXPECT_EQ(sent.delivery().webhook(), working);
  EXPECT_EQ(sent.delivery().state(), v1::DELIVERY_STATE_PENDING);
  EXPECT_FALSE(sent.attempt_finished());
}

TEST_F(WebhookctlDeliveryTest, PublishPassesTheTraceContextOnToTheReceiver) {
  CreateWebhook({}, receiver_->Url("/hooks/traced"));
  const std::string traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

  const ProcessResult published =
      Run({"events", "publish", "--account", "acme", "--type", "booking.created", "--data",
           R"({"booking_id":"B-9"})", "--traceparent", traceparent, "--tracestate", "rojo=1"});

  ASSERT_EQ(published.exit_code, 0) << published.err;
  EXPECT_EQ(Field(published.out, "traceparent"), traceparent);
  EXPECT_EQ(Field(published.out, "tracestate"), "rojo=1");
  ASSERT_TRUE(receiver_->WaitForRequests("/hooks/traced", 1, kWait));
  const ReceivedRequest request = receiver_->Requests("/hooks/traced")[0];
  EXPECT_EQ(request.Header("traceparent"), traceparent);
  EXPECT_EQ(request.Header("tracestate"), "rojo=1");
}

TEST_F(WebhookctlDeliveryTest, Ed25519WebhookShowsItsPublicKeyWhichVerifiesTheDelivery) {
  const ProcessResult created =
      Run({"webhooks", "create", "--account", "acme", "--url", receiver_->Url("/hooks/v1a"),
           "--display-name", "Asymmetric", "--signature-scheme", "ed25519"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  EXPECT_EQ(Field(created.out, "signature_scheme"), "ed25519 (v1a)");
  const std::string public_key = Field(created.out, "public_key");
  EXPECT_THAT(public_key, StartsWith("whpk_"));
  EXPECT_EQ(Field(created.out, "secret"), "");
  EXPECT_THAT(created.err, HasSubstr("Receivers verify with public_key"));
  const std::string name = Field(created.out, "name");
  EXPECT_EQ(Field(Run({"webhooks", "get", name}).out, "public_key"), public_key);

  const ProcessResult tested = Run({"webhooks", "test", name});
  ASSERT_EQ(tested.exit_code, 0) << tested.err;
  ASSERT_EQ(receiver_->Requests("/hooks/v1a").size(), 1u);
  const ReceivedRequest request = receiver_->Requests("/hooks/v1a")[0];
  EXPECT_THAT(request.Header("webhook-signature"), StartsWith("v1a,"));
  auto verifier = WebhookVerifier::Create({public_key});
  ASSERT_TRUE(verifier.ok()) << verifier.status();
  const absl::Status verified =
      verifier->Verify(request.headers, request.body, server_.clock().Now());
  EXPECT_TRUE(verified.ok()) << verified;

  // Back to a shared secret by rotation: printed once, with the usual note.
  const ProcessResult rotated =
      Run({"webhooks", "rotate-secret", name, "--signature-scheme", "hmac-sha256"});
  ASSERT_EQ(rotated.exit_code, 0) << rotated.err;
  EXPECT_EQ(Field(rotated.out, "signature_scheme"), "hmac-sha256 (v1)");
  EXPECT_THAT(Field(rotated.out, "secret"), StartsWith("whsec_"));
  EXPECT_THAT(rotated.err, HasSubstr("Store the signing secret now"));

  const ProcessResult bad = Run({"webhooks", "rotate-secret", name, "--signature-scheme", "rsa"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.err, HasSubstr("--signature-scheme: expected hmac-sha256 or ed25519, got 'rsa'"));
}

// A failing webhook says so, and since when, in `webhooks list` as in
// `webhooks get`.
TEST_F(WebhookctlDeliveryTest, ListAndGetShowSinceWhenAWebhookFails) {
  receiver_->On("/hooks/down").Reply(503);
  const std::string failing = CreateWebhook({}, receiver_->Url("/hooks/down"));
  const std::string healthy =
      CreateWebhook({"--event-type", "booking.cancelled"}, receiver_->Url("/hooks/up"));
  PublishAndWaitForAttempt(failing);
  v1::GetWebhookRequest get;
  get.set_name(failing);
  auto state = client_->GetWebhook(get);
  ASSERT_TRUE(state.ok()) << state.status();
  const absl::Time since =
      absl::FromUnixSeconds(state->failing_since().seconds()) +
      absl::Nanoseconds(state->failing_since().nanos());
  const std::string status = absl::StrCat(
      "enabled, failing since ", absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", since,
                                                  absl::UTCTimeZone()));

  const ProcessResult listed = Run({"webhooks", "list", "--account", "acme"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  const std::vector<std::string> lines = Lines(listed.out);
  ASSERT_THAT(lines, SizeIs(3));
  EXPECT_THAT(lines[1], AllOf(StartsWith(failing + " "), HasSubstr("  " + status + "  ")));
  EXPECT_THAT(lines[2], AllOf(StartsWith(healthy + " "), HasSubstr("  enabled  ")));

  const ProcessResult got = Run({"webhooks", "get", failing});
  ASSERT_EQ(got.exit_code, 0) << got.err;
  EXPECT_EQ(Field(got.out, "status"), status);
}

// webhookctl against a server that requires client certificates (mutual
// TLS), with the TLS flags and their environment variables.
class WebhookctlTlsTest : public ::testing::Test {
 protected:
  WebhookctlTlsTest()
      : pki_(*WriteMutualTlsCertificates(dir_.Child("pki"))),
        server_([this](config::ServerConfig& config) {
          config.mutable_tls()->set_cert_file(pki_.server.certificate_file);
          config.mutable_tls()->set_key_file(pki_.server.private_key_file);
          config.mutable_tls()->set_client_ca_file(pki_.server.ca_file);
        }) {}

  // Runs `webhookctl <args> webhooks list --account acme` with the server's
  // address, the admin token and `env` (every TLS variable unset unless
  // `env` sets it).
  ProcessResult ListWebhooks(const std::vector<std::string>& args,
                             const Subprocess::EnvChanges& env = {}) {
    std::vector<std::string> argv = {CtlBinary(), "--timeout", "5s"};
    argv.insert(argv.end(), args.begin(), args.end());
    for (const char* word : {"webhooks", "list", "--account", "acme"}) argv.push_back(word);
    Subprocess::EnvChanges all = {{"WEBHOOKS_ADDR", server_.server().address()},
                                  {"WEBHOOKS_TOKEN", std::string(kAdminToken)},
                                  {"WEBHOOKS_TLS", std::nullopt},
                                  {"WEBHOOKS_CACERT", std::nullopt},
                                  {"WEBHOOKS_CERT", std::nullopt},
                                  {"WEBHOOKS_KEY", std::nullopt},
                                  {"GRPC_DEFAULT_SSL_ROOTS_FILE_PATH", std::nullopt}};
    for (const auto& [name, value] : env) all[name] = value;
    return RunProcess(argv, all, "", kWait);
  }

  TempDir dir_;
  MutualTlsFiles pki_;
  TestServer server_;
};

TEST_F(WebhookctlTlsTest, FlagsOrEnvironmentTalkMutualTls) {
  const ProcessResult flags =
      ListWebhooks({"--cacert", pki_.server.ca_file, "--cert", pki_.client_certificate_file,
                    "--key=" + pki_.client_private_key_file});
  EXPECT_EQ(flags.exit_code, 0) << flags.err;
  EXPECT_THAT(flags.err, IsEmpty());

  const ProcessResult env = ListWebhooks({}, {{"WEBHOOKS_CACERT", pki_.server.ca_file},
                                              {"WEBHOOKS_CERT", pki_.client_certificate_file},
                                              {"WEBHOOKS_KEY", pki_.client_private_key_file}});
  EXPECT_EQ(env.exit_code, 0) << env.err;

  // --tls trusts the default roots, here pointed at the test CA the way
  // gRPC lets an operator do it.
  const ProcessResult default_roots = ListWebhooks(
      {"--tls", "--cert", pki_.client_certificate_file, "--key", pki_.client_private_key_file},
      {{"GRPC_DEFAULT_SSL_ROOTS_FILE_PATH", pki_.server.ca_file}});
  EXPECT_EQ(default_roots.exit_code, 0) << default_roots.err;
}

TEST_F(WebhookctlTlsTest, AClientWithoutTheRightCertificateIsRefused) {
  const ProcessResult plaintext = ListWebhooks({});
  EXPECT_EQ(plaintext.exit_code, 1);
  EXPECT_THAT(plaintext.err, StartsWith("error: UNAVAILABLE: "));

  const ProcessResult no_certificate = ListWebhooks({"--cacert", pki_.server.ca_file});
  EXPECT_EQ(no_certificate.exit_code, 1);
  EXPECT_THAT(no_certificate.err, StartsWith("error: UNAVAILABLE: "));

  const ProcessResult other_ca =
      ListWebhooks({"--cacert", pki_.server.ca_file, "--cert", pki_.other_client_certificate_file,
                    "--key", pki_.other_client_private_key_file});
  EXPECT_EQ(other_ca.exit_code, 1);
  EXPECT_THAT(other_ca.err, StartsWith("error: UNAVAILABLE: "));
}

TEST_F(WebhookctlTlsTest, BadTlsArgumentsSayWhatIsWrong) {
  const ProcessResult key_only =
      ListWebhooks({"--cacert", pki_.server.ca_file, "--key", pki_.client_private_key_file});
  EXPECT_EQ(key_only.exit_code, 2);
  EXPECT_THAT(key_only.err, StartsWith("error: --key needs --cert (or $WEBHOOKS_CERT)\n"));

  const ProcessResult bad_env = ListWebhooks({}, {{"WEBHOOKS_TLS", "yes please"}});
  EXPECT_EQ(bad_env.exit_code, 2);
  EXPECT_THAT(bad_env.err,
              StartsWith("error: WEBHOOKS_TLS: expected 1, true, 0 or false, got 'yes please'"));

  const ProcessResult missing = ListWebhooks({"--cacert", dir_.Child("missing.pem")});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, StartsWith("error: INVALID_ARGUMENT: tls.ca_file: cannot read \"" +
                                      dir_.Child("missing.pem") + "\""));

  const ProcessResult help = RunProcess({CtlBinary(), "help"}, {}, "", kWait);
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.out,
              AllOf(HasSubstr("--cacert FILE"), HasSubstr("--cert FILE"), HasSubstr("--key FILE"),
                    HasSubstr("--tls "), HasSubstr("WEBHOOKS_CACERT")));
}

}  // namespace
}  // namespace wink::webhooks::testing
