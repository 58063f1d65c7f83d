// The commands of webhookctl: one function per command, and the table that
// names them with their flags and help text (Commands(), at the end).
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/webhookctl/cli.h"
#include "client/webhookctl/format.h"
#include "google/protobuf/util/json_util.h"

namespace wink::webhooks::ctl {
namespace {

// The most events one BatchPublishEvents call may carry (the service's
// limit); a longer file is sent in several batches.
constexpr int kMaxBatch = 100;

constexpr char kSecretNote[] =
    "Store the signing secret now: it is not shown again (rotate-secret makes a new one).\n";

// An Ed25519 webhook has no secret to store: its public key is always shown.
constexpr char kPublicKeyNote[] =
    "Receivers verify with public_key (v1a signatures); `webhooks get` shows it any time.\n";

// What to tell after a create or rotate that printed `webhook`.
const char* KeyNote(const v1::Webhook& webhook) {
  return webhook.signature_scheme() == v1::SIGNATURE_SCHEME_ED25519 ? kPublicKeyNote
                                                                    : kSecretNote;
}

// --signature-scheme: "hmac-sha256" or "ed25519"; UNSPECIFIED when absent.
absl::StatusOr<v1::SignatureScheme> SignatureSchemeFlag(const Args& args) {
  if (!args.Has("signature-scheme")) return v1::SIGNATURE_SCHEME_UNSPECIFIED;
  const std::string value = absl::AsciiStrToLower(args.Get("signature-scheme"));
  if (value == "hmac-sha256" || value == "v1") return v1::SIGNATURE_SCHEME_HMAC_SHA256;
  if (value == "ed25519" || value == "v1a") return v1::SIGNATURE_SCHEME_ED25519;
  return absl::InvalidArgumentError(absl::StrCat(
      "--signature-scheme: expected hmac-sha256 or ed25519, got '", args.Get("signature-scheme"),
      "'"));
}

// The service keeps only a hash of an API key: the one printed is the only
// copy there will be.
constexpr char kApiKeyNote[] =
    "Store the API key now: it is shown only this once (applications rotate makes a new "
    "one).\n";

template <typename Request, typename Response>
using Method = absl::StatusOr<Response> (Client::*)(const Request&, const CallOptions&);

// Calls `method` with the invocation's client (created on first use).
template <typename Request, typename Response>
absl::StatusOr<Response> Call(Invocation& invocation, Method<Request, Response> method,
                              const Request& request, const CallOptions& options = {}) {
  absl::StatusOr<Client*> client = invocation.client();
  if (!client.ok()) return client.status();
  return ((**client).*method)(request, options);
}

// --traceparent and --tracestate as the call's W3C trace context metadata.
CallOptions TraceContextOptions(const Args& args) {
  CallOptions options;
  for (const char* name : {"traceparent", "tracestate"}) {
    if (args.Has(name)) options.metadata.emplace_back(name, args.Get(name));
  }
  return options;
}

// Prints a response (JSON or `print`) or the error; the exit code.
template <typename Response, typename Print>
int Show(const Invocation& invocation, const absl::StatusOr<Response>& response, Print print) {
  if (!response.ok()) return invocation.Fail(response.status());
  if (invocation.json()) {
    PrintJson(*response);
  } else {
    print(*response);
  }
  return kExitOk;
}

// "acme" or "accounts/acme" -> "accounts/acme".
std::string AccountName(const std::string& account) {
  return absl::StartsWith(account, "accounts/") ? account : absl::StrCat("accounts/", account);
}

// A resource name given in full ("accounts/A/webhooks/W") or as an id with
// --account ("W" -> "accounts/A/webhooks/W"). Errors name `what`.
absl::StatusOr<std::string> ResourceName(const Invocation& invocation, const std::string& given,
                                         const std::string& collection, const std::string& what) {
  if (absl::StartsWith(given, "accounts/")) return given;
  if (given.empty() || absl::StrContains(given, '/')) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": expected accounts/ACCOUNT/", collection, "/ID, got '", given, "'"));
  }
  if (!invocation.args().Has("account")) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": give the full name accounts/ACCOUNT/",
                                                   collection, "/", given, " or --account"));
  }
  return absl::StrCat(AccountName(invocation.args().Get("account")), "/", collection, "/", given);
}

// --event-type values; each may also be a comma-separated list.
std::vector<std::string> EventTypes(const Args& args) {
  std::vector<std::string> types;
  for (const std::string& value : args.All("event-type")) {
    for (absl::string_view type : absl::StrSplit(value, ',', absl::SkipWhitespace())) {
      types.emplace_back(absl::StripAsciiWhitespace(type));
    }
  }
  return types;
}

// --rate-limit N and --burst N into `webhook` (the server checks the
// ranges). Whether either was given.
absl::StatusOr<bool> SetRateLimit(const Args& args, v1::Webhook& webhook) {
  if (!args.Has("rate-limit")) {
    if (args.Has("burst")) return absl::InvalidArgumentError("--burst needs --rate-limit");
    return false;
  }
  int per_second = 0;
  int burst = 0;
  if (!absl::SimpleAtoi(args.Get("rate-limit"), &per_second)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--rate-limit: expected requests per second, a whole number, got '",
        args.Get("rate-limit"), "'"));
  }
  if (args.Has("burst") && !absl::SimpleAtoi(args.Get("burst"), &burst)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--burst: expected a whole number, got '", args.Get("burst"), "'"));
  }
  webhook.mutable_rate_limit()->set_requests_per_second(per_second);
  webhook.mutable_rate_limit()->set_burst(burst);
  return true;
}

// --header NAME=VALUE values into `webhook`.
absl::Status SetHeaders(const Args& args, v1::Webhook& webhook) {
  for (const std::string& header : args.All("header")) {
    const size_t equals = header.find('=');
    if (equals == std::string::npos || equals == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--header: expected NAME=VALUE, got '", header, "'"));
    }
    (*webhook.mutable_headers())[header.substr(0, equals)] = header.substr(equals + 1);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadInput(const std::string& flag, const std::string& path) {
  std::ostringstream contents;
  if (path == "-") {
    contents << std::cin.rdbuf();
    return contents.str();
  }
  std::ifstream file(path, std::ios::binary);
  if (!file) return absl::InvalidArgumentError(absl::StrCat(flag, ": cannot read '", path, "'"));
  contents << file.rdbuf();
  return contents.str();
}

absl::StatusOr<int64_t> NonNegative(const Args& args, const std::string& flag) {
  int64_t value = 0;
  if (!absl::SimpleAtoi(args.Get(flag), &value) || value < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, ": expected a number >= 0, got '", args.Get(flag), "'"));
  }
  return value;
}

// ---- Lists ----

std::vector<FlagSpec> WithPageFlags(std::vector<FlagSpec> flags) {
  flags.push_back({"page-size", "N", "items per call; with it only one page is printed"});
  flags.push_back({"page-token", "TOKEN", "start at this page (next_page_token); one page only"});
  return flags;
}

// Prints every item of every page (or of one page with --page-size or
// --page-token, then the next page token on stderr).
template <typename Request, typename Response, typename Item>
int RunList(Invocation& invocation, Request request, Method<Request, Response> method,
            const google::protobuf::RepeatedPtrField<Item>& (Response::*items)() const, Table table,
            const std::function<std::vector<std::string>(const Item&)>& row) {
  const Args& args = invocation.args();
  const bool one_page = args.Has("page-size") || args.Has("page-token");
  if (args.Has("page-size")) {
    absl::StatusOr<int64_t> size = NonNegative(args, "page-size");
    if (!size.ok()) return invocation.UsageError(std::string(size.status().message()));
    request.set_page_size(static_cast<int32_t>(std::min<int64_t>(*size, 1 << 30)));
  }
  request.set_page_token(args.Get("page-token"));
  while (true) {
    absl::StatusOr<Response> page = Call(invocation, method, request);
    if (!page.ok()) return invocation.Fail(page.status());
    for (const Item& item : ((*page).*items)()) {
      if (invocation.json()) {
        PrintJson(item);
      } else {
        table.AddRow(row(item));
      }
    }
    if (page->next_page_token().empty()) break;
    if (one_page) {
      std::fprintf(stderr, "next_page_token: %s\n", page->next_page_token().c_str());
      break;
    }
    request.set_page_token(page->next_page_token());
  }
  if (!invocation.json()) table.Print();
  return kExitOk;
}

// ---- webhooks ----

int WebhooksCreate(Invocation& invocation) {
  const Args& args = invocation.args();
  v1::CreateWebhookRequest request;
  request.set_parent(AccountName(args.Get("account")));
  request.set_request_id(args.Get("request-id"));
  v1::Webhook& webhook = *request.mutable_webhook();
  webhook.set_display_name(args.Get("display-name"));
  webhook.set_url(args.Get("url"));
  for (const std::string& type : EventTypes(args)) webhook.add_event_types(type);
  webhook.set_description(args.Get("description"));
  if (args.Has("paused")) webhook.set_enabled(false);
  if (args.Has("ordered")) webhook.set_ordered_delivery(true);
  if (absl::Status headers = SetHeaders(args, webhook); !headers.ok()) {
    return invocation.UsageError(std::string(headers.message()));
  }
  if (absl::StatusOr<bool> limited = SetRateLimit(args, webhook); !limited.ok()) {
    return invocation.UsageError(std::string(limited.status().message()));
  }
  absl::StatusOr<v1::SignatureScheme> scheme = SignatureSchemeFlag(args);
  if (!scheme.ok()) return invocation.UsageError(std::string(scheme.status().message()));
  webhook.set_signature_scheme(*scheme);
  absl::StatusOr<v1::Webhook> created = Call(invocation, &Client::CreateWebhook, request);
  const char* note = created.ok() ? KeyNote(*created) : "";
  const int exit_code = Show(invocation, std::move(created), PrintWebhook);
  if (exit_code == kExitOk && !invocation.json()) std::fputs(note, stderr);
  return exit_code;
}

int WebhooksList(Invocation& invocation) {
  v1::ListWebhooksRequest request;
  request.set_parent(AccountName(invocation.args().Get("account")));
  return RunList<v1::ListWebhooksRequest, v1::ListWebhooksResponse, v1::Webhook>(
      invocation, request, &Client::ListWebhooks, &v1::ListWebhooksResponse::webhooks,
      Table({"NAME", "DISPLAY NAME", "STATUS", "EVENT TYPES", "URL"}),
      [](const v1::Webhook& webhook) -> std::vector<std::string> {
        return {webhook.name(), webhook.display_name(), WebhookStatus(webhook),
                webhook.event_types().empty() ? "(all)" : absl::StrJoin(webhook.event_types(), ","),
                webhook.url()};
      });
}

// The webhook named by the positional argument, or a usage error's exit code.
absl::StatusOr<std::string> WebhookArgument(const Invocation& invocation) {
  return ResourceName(invocation, invocation.args().positional()[0], "webhooks", "NAME");
}

int WebhooksGet(Invocation& invocation) {
  absl::StatusOr<std::string> name = WebhookArgument(invocation);
  if (!name.ok()) return invocation.UsageError(std::string(name.status().message()));
  v1::GetWebhookRequest request;
  request.set_name(*name);
  return Show(invocation, Call(invocation, &Client::GetWebhook, request), PrintWebhook);
}

int WebhooksUpdate(Invocation& invocation) {
  const Args& args = invocation.args();
  absl::StatusOr<std::string> name = WebhookArgument(invocation);
  if (!name.ok()) return invocation.UsageError(std::string(name.status().message()));
  v1::UpdateWebhookRequest request;
  v1::Webhook& webhook = *request.mutable_webhook();
  webhook.set_name(*name);
  google::protobuf::FieldMask& mask = *request.mutable_update_mask();
  // Each flag sets one field of the mask; a mask path with an empty value
  // clears the field.
  const std::pair<const char*, std::function<void(const std::string&)>> plain[] = {
      {"display_name", [&](const std::string& v) { webhook.set_display_name(v); }},
      {"url", [&](const std::string& v) { webhook.set_url(v); }},
      {"description", [&](const std::string& v) { webhook.set_description(v); }},
  };
  for (const auto& [field, set] : plain) {
    std::string flag = field;
    std::replace(flag.begin(), flag.end(), '_', '-');
    if (!args.Has(flag)) continue;
    set(args.Get(flag));
    mask.add_paths(field);
  }
  if (args.Has("event-type") && args.Has("all-events")) {
    return invocation.UsageError("--event-type and --all-events exclude each other");
  }
  if (args.Has("event-type") || args.Has("all-events")) {
    for (const std::string& type : EventTypes(args)) webhook.add_event_types(type);
    mask.add_paths("event_types");
  }
  if (args.Has("header") && args.Has("clear-headers")) {
    return invocation.UsageError("--header and --clear-headers exclude each other");
  }
  if (args.Has("header") || args.Has("clear-headers")) {
    if (absl::Status headers = SetHeaders(args, webhook); !headers.ok()) {
      return invocation.UsageError(std::string(headers.message()));
    }
    mask.add_paths("headers");
  }
  absl::StatusOr<bool> limited = SetRateLimit(args, webhook);
  if (!limited.ok()) return invocation.UsageError(std::string(limited.status().message()));
  if (*limited && args.Has("no-rate-limit")) {
    return invocation.UsageError("--rate-limit and --no-rate-limit exclude each other");
  }
  if (*limited || args.Has("no-rate-limit")) mask.add_paths("rate_limit");
  if (args.Has("ordered") && args.Has("unordered")) {
    return invocation.UsageError("--ordered and --unordered exclude each other");
  }
  if (args.Has("ordered") || args.Has("unordered")) {
    webhook.set_ordered_delivery(args.Has("ordered"));
    mask.add_paths("ordered_delivery");
  }
  if (mask.paths().empty()) {
    return invocation.UsageError(
        "nothing to change: give --display-name, --url, --description, --event-type, "
        "--all-events, --header, --clear-headers, --rate-limit, --no-rate-limit, --ordered or "
        "--unordered (pause and resume have their own commands)");
  }
  return Show(invocation, Call(invocation, &Client::UpdateWebhook, request), PrintWebhook);
}

int SetEnabled(Invocation& invocation, bool enabled) {
  absl::StatusOr<std::string> name = WebhookArgument(invocation);
  if (!name.ok()) return invocation.UsageError(std::string(name.status().message()));
  v1::UpdateWebhookRequest request;
  request.mutable_webhook()->set_name(*name);
  request.mutable_webhook()->set_enabled(enabled);
  request.mutable_update_mask()->add_paths("enabled");
  request.set_drop_held_deliveries(enabled && invocation.args().Has("drop-held"));
  return Show(invocation, Call(invocation, &Client::UpdateWebhook, request), PrintWebhook);
}

int WebhooksPause(Invocation& invocation) { return SetEnabled(invocation, false); }
int WebhooksResume(Invocation& invocation) { return SetEnabled(invocation, true); }

int WebhooksDelete(Invocation& invocation) {
  absl::StatusOr<std::string> name = WebhookArgument(invocation);
  if (!name.ok()) return invocation.UsageError(std::string(name.status().message()));
  v1::DeleteWebhookRequest request;
  request.set_name(*name);
  return Show(invocation, Call(invocation, &Client::DeleteWebhook, request),
              [&](const google::protobuf::Empty&) { std::printf("deleted %s\n", name->c_str()); });
}

int WebhooksRotateSecret(Invocation& invocation) {
  absl::StatusOr<std::string> name = WebhookArgument(invocation);
  if (!name.ok()) return invocation.UsageError(std::string(name.status().message()));
  absl::StatusOr<v1::SignatureScheme> scheme = SignatureSchemeFlag(invocation.args());
  if (!scheme.ok()) return invocation.UsageError(std::string(scheme.status().message()));
  v1::RotateWebhookSecretRequest request;
  request.set_name(*name);
  request.set_signature_scheme(*scheme);
  absl::StatusOr<v1::Webhook> rotated = Call(invocation, &Client::RotateWebhookSecret, request);
  const char* note = rotated.ok() ? KeyNote(*rotated) : "";
  const int exit_code = Show(invocation, std::move(rotated), PrintWebhook);
  if (exit_code == kExitOk && !invocation.json()) std::fputs(note, stderr);
  return exit_code;
}

int WebhooksTest(Invocation& invocation) {
  const Args& args = invocation.args();
  absl::StatusOr<std::string> name = WebhookArgument(invocation);
  if (!name.ok()) return invocation.UsageError(std::string(name.status().message()));
  v1::SendTestEventRequest request;
  request.set_name(*name);
  if (args.Has("data")) request.set_data_json(args.Get("data"));
  request.set_wait_for_attempt(!args.Has("no-wait"));
  const absl::StatusOr<v1::SendTestEventResponse> response =
      Call(invocation, &Client::SendTestEvent, request);
  const int exit_code = Show(invocation, response, [](const v1::SendTestEventResponse& sent) {
    PrintDelivery(sent.delivery());
    std::printf("\n");
    KeyValues()
        .Add("event", sent.event().name())
        .Add("watch_cursor", absl::StrCat(sent.watch_cursor()))
        .Print();
  });
  if (exit_code != kExitOk || !request.wait_for_attempt()) return exit_code;
  const v1::Delivery& delivery = response->delivery();
  if (delivery.state() == v1::DELIVERY_STATE_SUCCEEDED) return kExitOk;
  if (!response->attempt_finished()) {
    std::fputs("the first attempt had no result within the wait; follow it with "
               "webhookctl deliveries watch or get\n",
               stderr);
  } else if (!invocation.json()) {
    std::fprintf(stderr, "the test event was not delivered: %s\n",
                 delivery.state_reason().c_str());
  }
  return kExitTestNotDelivered;
}

// ---- event-types ----

int EventTypesList(Invocation& invocation) {
  v1::ListEventTypesRequest request;
  request.set_parent(AccountName(invocation.args().Get("account")));
  return RunList<v1::ListEventTypesRequest, v1::ListEventTypesResponse, v1::EventType>(
      invocation, request, &Client::ListEventTypes, &v1::ListEventTypesResponse::event_types,
      Table({"NAME", "DESCRIPTION"}), [](const v1::EventType& type) -> std::vector<std::string> {
        return {type.name(), type.description()};
      });
}

// ---- events ----

// True when a publish created nothing to deliver: no webhook of the account
// matches the event type. Replays delivered nothing new by design and are
// not counted. The event's own deliveries are checked too, so that a server
// older than matched_webhook_count (which leaves it 0) raises no false
// alarm: the field counts exactly those deliveries.
bool MatchedNoWebhook(const v1::PublishEventResponse& response) {
  return !response.replayed() && response.matched_webhook_count() == 0 &&
         response.event().deliveries().empty();
}

// The stderr warning for events that matched no webhook: `types` are their
// event types, each once.
void WarnNothingMatched(const std::string& account, const std::vector<std::string>& types) {
  std::fprintf(stderr,
               "warning: no webhook of %s matched event type%s %s: nothing will be "
               "delivered. Check the account name and the webhooks' event types "
               "(webhookctl webhooks list --account %s).\n",
               account.c_str(), types.size() > 1 ? "s" : "", absl::StrJoin(types, ", ").c_str(),
               account.c_str());
}

KeyValues PublishFields(const v1::PublishEventResponse& response) {
  return KeyValues()
      .Add("replayed", response.replayed() ? "true" : "false")
      .Add("watch_cursor", absl::StrCat(response.watch_cursor()));
}

int EventsPublish(Invocation& invocation) {
  const Args& args = invocation.args();
  if (args.Has("data") == args.Has("data-file")) {
    return invocation.UsageError("give exactly one of --data and --data-file");
  }
  v1::PublishEventRequest request;
  request.set_parent(AccountName(args.Get("account")));
  request.set_event_type(args.Get("type"));
  request.set_idempotency_key(args.Get("idempotency-key"));
  if (args.Has("data")) {
    request.set_data_json(args.Get("data"));
  } else {
    absl::StatusOr<std::string> data = ReadInput("--data-file", args.Get("data-file"));
    if (!data.ok()) return invocation.UsageError(std::string(data.status().message()));
    request.set_data_json(*std::move(data));
  }
  const absl::StatusOr<v1::PublishEventResponse> response =
      Call(invocation, &Client::PublishEvent, request, TraceContextOptions(args));
  const int exit_code = Show(invocation, response, [](const v1::PublishEventResponse& published) {
    PrintEvent(published.event(), PublishFields(published));
  });
  // A warning, not an error: the event was published and is stored; whether
  // nobody should get it is for the caller to judge.
  if (response.ok() && MatchedNoWebhook(*response)) {
    WarnNothingMatched(request.parent(), {request.event_type()});
  }
  return exit_code;
}

// The JSON lines of --file as publish requests (blank lines and lines
// starting with '#' skipped), each with its line number.
absl::StatusOr<std::vector<std::pair<int, v1::PublishEventRequest>>> ReadBatchFile(
    const std::string& path) {
  absl::StatusOr<std::string> contents = ReadInput("--file", path);
  if (!contents.ok()) return contents.status();
  std::vector<std::pair<int, v1::PublishEventRequest>> requests;
  int number = 0;
  for (absl::string_view line : absl::StrSplit(*contents, '\n')) {
    ++number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    v1::PublishEventRequest request;
    const auto parsed = google::protobuf::util::JsonStringToMessage(std::string(line), &request);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--file: line ", number, ": ", parsed.message().ToString()));
    }
    requests.emplace_back(number, std::move(request));
  }
  if (requests.empty()) return absl::InvalidArgumentError("--file: no events in it");
  return requests;
}

int EventsBatchPublish(Invocation& invocation) {
  const Args& args = invocation.args();
  auto requests = ReadBatchFile(args.Get("file"));
  if (!requests.ok()) return invocation.UsageError(std::string(requests.status().message()));
  Table table({"EVENT", "TYPE", "IDEMPOTENCY KEY", "DELIVERIES", "REPLAYED", "WATCH CURSOR"});
  const std::string account = AccountName(args.Get("account"));
  // Event types of published events that matched no webhook, each once, in
  // file order: one warning at the end instead of one per event.
  std::vector<std::string> unmatched_types;
  const auto warn_unmatched = [&] {
    if (!unmatched_types.empty()) WarnNothingMatched(account, unmatched_types);
  };
  for (size_t begin = 0; begin < requests->size(); begin += kMaxBatch) {
    const size_t end = std::min(requests->size(), begin + kMaxBatch);
    v1::BatchPublishEventsRequest batch;
    batch.set_parent(account);
    for (size_t i = begin; i < end; ++i) *batch.add_requests() = (*requests)[i].second;
    absl::StatusOr<v1::BatchPublishEventsResponse> published =
        Call(invocation, &Client::BatchPublishEvents, batch);
    if (!published.ok()) {
      if (!invocation.json()) table.Print();
      warn_unmatched();  // about the batches before, which were published
      const int first = (*requests)[begin].first;
      const int last = (*requests)[end - 1].first;
      return invocation.Fail(absl::Status(
          published.status().code(),
          absl::StrCat(published.status().message(), " (in the batch of lines ", first, "-", last,
                       begin == 0 ? "; nothing was published)"
                                  : "; the events of the lines before it were published)")));
    }
    for (const v1::PublishEventResponse& response : published->responses()) {
      const std::string& type = response.event().event_type();
      if (MatchedNoWebhook(response) &&
          std::find(unmatched_types.begin(), unmatched_types.end(), type) ==
              unmatched_types.end()) {
        unmatched_types.push_back(type);
      }
      if (invocation.json()) {
        PrintJson(response);
        continue;
      }
      table.AddRow({response.event().name(), response.event().event_type(),
                    response.event().idempotency_key(),
                    absl::StrCat(response.event().deliveries_size()),
                    response.replayed() ? "true" : "false", absl::StrCat(response.watch_cursor())});
    }
  }
  if (!invocation.json()) table.Print();
  warn_unmatched();
  return kExitOk;
}

int EventsGet(Invocation& invocation) {
  absl::StatusOr<std::string> name =
      ResourceName(invocation, invocation.args().positional()[0], "events", "NAME");
  if (!name.ok()) return invocation.UsageError(std::string(name.status().message()));
  v1::GetEventRequest request;
  request.set_name(*name);
  return Show(invocation, Call(invocation, &Client::GetEvent, request),
              [](const v1::Event& event) { PrintEvent(event); });
}

int EventsList(Invocation& invocation) {
  v1::ListEventsRequest request;
  request.set_parent(AccountName(invocation.args().Get("account")));
  request.set_event_type(invocation.args().Get("type"));
  return RunList<v1::ListEventsRequest, v1::ListEventsResponse, v1::Event>(
      invocation, request, &Client::ListEvents, &v1::ListEventsResponse::events,
      Table({"NAME", "TYPE", "CREATED", "IDEMPOTENCY KEY"}),
      [](const v1::Event& event) -> std::vector<std::string> {
        return {event.name(), event.event_type(), FormatTime(event.create_time()),
                event.idempotency_key()};
      });
}

// ---- deliveries ----

// "succeeded", "SUCCEEDED" or "DELIVERY_STATE_SUCCEEDED".
absl::StatusOr<v1::DeliveryState> ParseState(const std::string& text) {
  std::string name = absl::AsciiStrToUpper(text);
  if (!absl::StartsWith(name, "DELIVERY_STATE_")) name = "DELIVERY_STATE_" + name;
  v1::DeliveryState state;
  if (!v1::DeliveryState_Parse(name, &state) || state == v1::DELIVERY_STATE_UNSPECIFIED) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--state: expected pending, held, retry_scheduled, succeeded, failed or cancelled, got '",
        text, "'"));
  }
  return state;
}

// --since/--until: a duration back from now ("1h", "30m", "90s") or an
// RFC 3339 time ("2026-12-03T09:00:00Z").
absl::StatusOr<absl::Time> ParseTimeBound(const std::string& text, absl::string_view flag) {
  absl::Duration ago;
  if (absl::ParseDuration(text, &ago) && ago >= absl::ZeroDuration()) return absl::Now() - ago;
  absl::Time time;
  std::string error;
  if (absl::ParseTime(absl::RFC3339_full, text, &time, &error)) return time;
  return absl::InvalidArgumentError(
      absl::StrCat(flag, ": expected a duration back from now (1h, 30m, 90s) or an RFC 3339 time ",
                   "(2026-12-03T09:00:00Z), got '", text, "'"));
}

void SetTimestamp(absl::Time time, google::protobuf::Timestamp* out) {
  const int64_t nanos = absl::ToUnixNanos(time);
  out->set_seconds(nanos / 1000000000);
  out->set_nanos(static_cast<int32_t>(nanos % 1000000000));
  if (out->nanos() < 0) {
    out->set_seconds(out->seconds() - 1);
    out->set_nanos(out->nanos() + 1000000000);
  }
}

// --since and --until, when given, into the request's start_time and
// end_time (ListDeliveriesRequest, RecoverDeliveriesRequest).
template <typename Request>
absl::Status SetTimeRange(const Args& args, Request& request) {
  if (args.Has("since")) {
    absl::StatusOr<absl::Time> since = ParseTimeBound(args.Get("since"), "--since");
    if (!since.ok()) return since.status();
    SetTimestamp(*since, request.mutable_start_time());
  }
  if (args.Has("until")) {
    absl::StatusOr<absl::Time> until = ParseTimeBound(args.Get("until"), "--until");
    if (!until.ok()) return until.status();
    SetTimestamp(*until, request.mutable_end_time());
  }
  return absl::OkStatus();
}

int DeliveriesList(Invocation& invocation) {
  const Args& args = invocation.args();
  if (args.Has("webhook") && args.Has("event")) {
    return invocation.UsageError("give one of --webhook and --event, or only --account");
  }
  absl::StatusOr<std::string> parent;
  if (args.Has("webhook")) {
    parent = ResourceName(invocation, args.Get("webhook"), "webhooks", "--webhook");
  } else if (args.Has("event")) {
    parent = ResourceName(invocation, args.Get("event"), "events", "--event");
  } else if (args.Has("account")) {
    parent = AccountName(args.Get("account"));  // the account's delivery log
  } else {
    return invocation.UsageError("give --webhook, --event, or --account for the account's log");
  }
  if (!parent.ok()) return invocation.UsageError(std::string(parent.status().message()));
  v1::ListDeliveriesRequest request;
  request.set_parent(*parent);
  if (args.Has("state")) {
    absl::StatusOr<v1::DeliveryState> state = ParseState(args.Get("state"));
    if (!state.ok()) return invocation.UsageError(std::string(state.status().message()));
    request.set_state(*state);
  }
  if (absl::Status range = SetTimeRange(args, request); !range.ok()) {
    return invocation.UsageError(std::string(range.message()));
  }
  return RunList<v1::ListDeliveriesRequest, v1::ListDeliveriesResponse, v1::Delivery>(
      invocation, request, &Client::ListDeliveries, &v1::ListDeliveriesResponse::deliveries,
      Table(DeliveryColumns()), DeliveryRow);
}

// The delivery named by the positional argument: only full names, since a
// delivery is named by its webhook and its event.
absl::StatusOr<std::string> DeliveryArgument(const Invocation& invocation) {
  const std::string& name = invocation.args().positional()[0];
  if (!absl::StartsWith(name, "accounts/") || !absl::StrContains(name, "/deliveries/")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "NAME: expected accounts/ACCOUNT/webhooks/WEBHOOK/deliveries/EVENT (as printed by "
        "'deliveries list'), got '",
        name, "'"));
  }
  return name;
}

int DeliveriesGet(Invocation& invocation) {
  absl::StatusOr<std::string> name = DeliveryArgument(invocation);
  if (!name.ok()) return invocation.UsageError(std::string(name.status().message()));
  v1::GetDeliveryRequest request;
  request.set_name(*name);
  return Show(invocation, Call(invocation, &Client::GetDelivery, request), PrintDelivery);
}

int DeliveriesRetry(Invocation& invocation) {
  absl::StatusOr<std::string> name = DeliveryArgument(invocation);
  if (!name.ok()) return invocation.UsageError(std::string(name.status().message()));
  v1::RetryDeliveryRequest request;
  request.set_name(*name);
  return Show(invocation, Call(invocation, &Client::RetryDelivery, request), PrintDelivery);
}

int DeliveriesRecover(Invocation& invocation) {
  const Args& args = invocation.args();
  absl::StatusOr<std::string> webhook =
      ResourceName(invocation, args.Get("webhook"), "webhooks", "--webhook");
  if (!webhook.ok()) return invocation.UsageError(std::string(webhook.status().message()));
  v1::RecoverDeliveriesRequest request;
  request.set_parent(*webhook);
  if (absl::Status range = SetTimeRange(args, request); !range.ok()) {
    return invocation.UsageError(std::string(range.message()));
  }
  request.set_include_succeeded(args.Has("include-succeeded"));
  absl::StatusOr<v1::Recovery> recovery = Call(invocation, &Client::RecoverDeliveries, request);
  // Polls until it ends: recoveries take a page of deliveries at a time.
  if (recovery.ok() && !args.Has("no-wait")) {
    v1::GetRecoveryRequest get;
    get.set_name(recovery->name());
    while (recovery.ok() && recovery->state() == v1::RECOVERY_STATE_RUNNING) {
      absl::SleepFor(absl::Milliseconds(200));
      recovery = Call(invocation, &Client::GetRecovery, get);
    }
  }
  const bool failed = recovery.ok() && recovery->state() == v1::RECOVERY_STATE_FAILED;
  const int exit_code = Show(invocation, std::move(recovery), PrintRecovery);
  return exit_code == kExitOk && failed ? kExitRecoveryFailed : exit_code;
}

int DeliveriesRecovery(Invocation& invocation) {
  const std::string& name = invocation.args().positional()[0];
  if (!absl::StartsWith(name, "accounts/") || !absl::StrContains(name, "/recoveries/")) {
    return invocation.UsageError(
        "NAME: the full name, accounts/ACCOUNT/webhooks/WEBHOOK/recoveries/ID");
  }
  v1::GetRecoveryRequest request;
  request.set_name(name);
  return Show(invocation, Call(invocation, &Client::GetRecovery, request), PrintRecovery);
}

// Builds the watch request from --account, --webhook, --event, --cursor.
absl::StatusOr<v1::WatchDeliveriesRequest> WatchRequest(const Invocation& invocation) {
  const Args& args = invocation.args();
  v1::WatchDeliveriesRequest request;
  if (args.Has("webhook")) {
    auto webhook = ResourceName(invocation, args.Get("webhook"), "webhooks", "--webhook");
    if (!webhook.ok()) return webhook.status();
    request.set_webhook(*webhook);
  }
  if (args.Has("event")) {
    auto event = ResourceName(invocation, args.Get("event"), "events", "--event");
    if (!event.ok()) return event.status();
    request.set_event(*event);
  }
  if (args.Has("account")) {
    request.set_parent(AccountName(args.Get("account")));
  } else {
    // accounts/A/... -> accounts/A
    const std::string& named = request.webhook().empty() ? request.event() : request.webhook();
    const std::vector<std::string> parts = absl::StrSplit(named, absl::MaxSplits('/', 2));
    if (parts.size() < 2) return absl::InvalidArgumentError("give --account, --webhook or --event");
    request.set_parent(absl::StrCat(parts[0], "/", parts[1]));
  }
  if (args.Has("cursor")) {
    absl::StatusOr<int64_t> cursor = NonNegative(args, "cursor");
    if (!cursor.ok()) return cursor.status();
    request.set_start_cursor(*cursor);
  }
  return request;
}

// Cancels `cancellation` on the first SIGINT or SIGTERM. Must run before the
// client exists: the signals are blocked in this thread, so every thread
// started later (gRPC's) inherits the mask and only the waiting thread takes
// them.
void CancelOnSignal(WatchCancellation& cancellation) {
  sigset_t signals;
  sigemptyset(&signals);
  for (const int signal_number : {SIGINT, SIGTERM}) sigaddset(&signals, signal_number);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::thread([signals, &cancellation] {
    int received = 0;
    sigwait(&signals, &received);
    cancellation.Cancel();
  }).detach();
}

int DeliveriesWatch(Invocation& invocation) {
  absl::StatusOr<v1::WatchDeliveriesRequest> request = WatchRequest(invocation);
  if (!request.ok()) return invocation.UsageError(std::string(request.status().message()));
  // Static: the detached signal thread may still use it while the process
  // exits.
  static WatchCancellation* const cancellation = new WatchCancellation();
  CancelOnSignal(*cancellation);
  absl::StatusOr<Client*> client = invocation.client([](const RetryEvent& retry) {
    std::fprintf(
        stderr, "webhookctl: watch interrupted (%s: %s); reconnecting in %s%s\n",
        absl::StatusCodeToString(retry.error.code()).c_str(),
        std::string(retry.error.message()).c_str(),
        absl::FormatDuration(absl::Trunc(retry.delay, absl::Milliseconds(1))).c_str(),
        retry.resume_cursor > 0 ? absl::StrCat(" from cursor ", retry.resume_cursor).c_str() : "");
  });
  if (!client.ok()) return invocation.Fail(client.status());
  WatchOptions options;
  options.cancellation = cancellation;
  options.timeout = invocation.timeout();
  const absl::Status status = (*client)->WatchDeliveries(
      *request,
      [&](const v1::WatchDeliveriesResponse& update) {
        if (invocation.json()) {
          PrintJson(update);
          std::fflush(stdout);
        } else {
          PrintWatchLine(update);
        }
        return true;
      },
      options);
  // Ctrl-C and the --timeout the caller asked for are the normal ends.
  if (cancellation->cancelled()) return kExitOk;
  if (absl::IsDeadlineExceeded(status) && invocation.timeout().has_value()) return kExitOk;
  return invocation.Fail(status);
}

// ---- applications ----

// "read", "READ" or "SCOPE_READ"; each --scope may also be a comma-separated
// list.
absl::StatusOr<std::vector<v1::Scope>> ParseScopes(const Args& args) {
  std::vector<v1::Scope> scopes;
  for (const std::string& value : args.All("scope")) {
    for (absl::string_view text : absl::StrSplit(value, ',', absl::SkipWhitespace())) {
      text = absl::StripAsciiWhitespace(text);
      std::string name = absl::AsciiStrToUpper(text);
      if (!absl::StartsWith(name, "SCOPE_")) name = "SCOPE_" + name;
      v1::Scope scope;
      if (!v1::Scope_Parse(name, &scope) || scope == v1::SCOPE_UNSPECIFIED) {
        return absl::InvalidArgumentError(
            absl::StrCat("--scope: expected read, publish or manage, got '", text, "'"));
      }
      scopes.push_back(scope);
    }
  }
  return scopes;
}

// A span for people: absl's forms ("90s", "12h", "1h30m") and whole days
// ("30d"), which absl does not parse and key lifetimes are counted in.
// Errors name `flag`; negative spans are refused.
absl::StatusOr<absl::Duration> ParseSpan(const std::string& text, absl::string_view flag) {
  absl::Duration span;
  int64_t days = 0;
  if (absl::EndsWith(text, "d") && absl::SimpleAtoi(text.substr(0, text.size() - 1), &days) &&
      days >= 0) {
    return absl::Hours(24 * days);
  }
  if (absl::ParseDuration(text, &span) && span >= absl::ZeroDuration() &&
      span != absl::InfiniteDuration()) {
    return span;
  }
  return absl::InvalidArgumentError(
      absl::StrCat(flag, ": expected a duration like 90s, 12h or 30d, got '", text, "'"));
}

int ApplicationsCreate(Invocation& invocation) {
  const Args& args = invocation.args();
  v1::CreateApplicationRequest request;
  request.set_parent(AccountName(args.Get("account")));
  request.set_application_id(args.Get("id"));
  v1::Application& application = *request.mutable_application();
  application.set_display_name(args.Get("display-name"));
  application.set_description(args.Get("description"));
  absl::StatusOr<std::vector<v1::Scope>> scopes = ParseScopes(args);
  if (!scopes.ok()) return invocation.UsageError(std::string(scopes.status().message()));
  for (const v1::Scope scope : *scopes) application.add_scopes(scope);
  if (args.Has("expire-time") && args.Has("expires-in")) {
    return invocation.UsageError("--expire-time and --expires-in exclude each other");
  }
  if (args.Has("expire-time")) {
    absl::Time at;
    std::string error;
    if (!absl::ParseTime(absl::RFC3339_full, args.Get("expire-time"), &at, &error)) {
      return invocation.UsageError(absl::StrCat("--expire-time: expected an RFC 3339 time ",
                                                "(2026-12-03T09:00:00Z), got '",
                                                args.Get("expire-time"), "'"));
    }
    SetTimestamp(at, application.mutable_expire_time());
  } else if (args.Has("expires-in")) {
    absl::StatusOr<absl::Duration> in = ParseSpan(args.Get("expires-in"), "--expires-in");
    if (!in.ok()) return invocation.UsageError(std::string(in.status().message()));
    // From this machine's clock: the service checks only that it is in the
    // future.
    SetTimestamp(absl::Now() + *in, application.mutable_expire_time());
  }
  const int exit_code = Show(invocation, Call(invocation, &Client::CreateApplication, request),
                             [](const v1::CreateApplicationResponse& created) {
                               PrintApplication(created.application(), created.api_key());
                             });
  if (exit_code == kExitOk && !invocation.json()) std::fputs(kApiKeyNote, stderr);
  return exit_code;
}

int ApplicationsList(Invocation& invocation) {
  v1::ListApplicationsRequest request;
  request.set_parent(AccountName(invocation.args().Get("account")));
  return RunList<v1::ListApplicationsRequest, v1::ListApplicationsResponse, v1::Application>(
      invocation, request, &Client::ListApplications, &v1::ListApplicationsResponse::applications,
      Table({"NAME", "DISPLAY NAME", "STATE", "SCOPES", "KEY PREFIX", "EXPIRES", "LAST USED"}),
      [](const v1::Application& application) -> std::vector<std::string> {
        // Empty cells would shift the columns after them for a reader.
        const auto or_dash = [](std::string text) { return text.empty() ? "-" : text; };
        return {application.name(),
                application.display_name(),
                ApplicationStateName(application.state()),
                ScopesText(application, ","),
                application.key_prefix(),
                or_dash(FormatTime(application.expire_time())),
                or_dash(FormatTime(application.last_used_time()))};
      });
}

// The application named by the positional argument.
absl::StatusOr<std::string> ApplicationArgument(const Invocation& invocation) {
  return ResourceName(invocation, invocation.args().positional()[0], "applications", "NAME");
}

int ApplicationsGet(Invocation& invocation) {
  absl::StatusOr<std::string> name = ApplicationArgument(invocation);
  if (!name.ok()) return invocation.UsageError(std::string(name.status().message()));
  v1::GetApplicationRequest request;
  request.set_name(*name);
  return Show(invocation, Call(invocation, &Client::GetApplication, request),
              [](const v1::Application& application) { PrintApplication(application); });
}

int ApplicationsUpdate(Invocation& invocation) {
  const Args& args = invocation.args();
  absl::StatusOr<std::string> name = ApplicationArgument(invocation);
  if (!name.ok()) return invocation.UsageError(std::string(name.status().message()));
  v1::UpdateApplicationRequest request;
  v1::Application& application = *request.mutable_application();
  application.set_name(*name);
  // An explicit mask, so that --description '' clears the description
  // (without a mask the service would skip empty fields).
  if (args.Has("display-name")) {
    application.set_display_name(args.Get("display-name"));
    request.mutable_update_mask()->add_paths("display_name");
  }
  if (args.Has("description")) {
    application.set_description(args.Get("description"));
    request.mutable_update_mask()->add_paths("description");
  }
  if (request.update_mask().paths().empty()) {
    return invocation.UsageError(
        "nothing to change: give --display-name or --description (scopes and expiry are fixed "
        "at create)");
  }
  return Show(invocation, Call(invocation, &Client::UpdateApplication, request),
              [](const v1::Application& application) { PrintApplication(application); });
}

int ApplicationsRotate(Invocation& invocation) {
  absl::StatusOr<std::string> name = ApplicationArgument(invocation);
  if (!name.ok()) return invocation.UsageError(std::string(name.status().message()));
  v1::RotateApplicationKeyRequest request;
  request.set_name(*name);
  if (invocation.args().Has("overlap")) {
    absl::StatusOr<absl::Duration> overlap =
        ParseSpan(invocation.args().Get("overlap"), "--overlap");
    if (!overlap.ok()) return invocation.UsageError(std::string(overlap.status().message()));
    const int64_t nanos = absl::ToInt64Nanoseconds(*overlap);
    request.mutable_previous_key_overlap()->set_seconds(nanos / 1000000000);
    request.mutable_previous_key_overlap()->set_nanos(static_cast<int32_t>(nanos % 1000000000));
  }
  const int exit_code = Show(invocation, Call(invocation, &Client::RotateApplicationKey, request),
                             [](const v1::RotateApplicationKeyResponse& rotated) {
                               PrintApplication(rotated.application(), rotated.api_key());
                             });
  if (exit_code == kExitOk && !invocation.json()) std::fputs(kApiKeyNote, stderr);
  return exit_code;
}

int ApplicationsRevoke(Invocation& invocation) {
  absl::StatusOr<std::string> name = ApplicationArgument(invocation);
  if (!name.ok()) return invocation.UsageError(std::string(name.status().message()));
  v1::RevokeApplicationRequest request;
  request.set_name(*name);
  return Show(invocation, Call(invocation, &Client::RevokeApplication, request),
              [](const v1::Application& application) { PrintApplication(application); });
}

int ApplicationsDelete(Invocation& invocation) {
  absl::StatusOr<std::string> name = ApplicationArgument(invocation);
  if (!name.ok()) return invocation.UsageError(std::string(name.status().message()));
  v1::DeleteApplicationRequest request;
  request.set_name(*name);
  return Show(invocation, Call(invocation, &Client::DeleteApplication, request),
              [&](const google::protobuf::Empty&) { std::printf("deleted %s\n", name->c_str()); });
}

// ---- The command table ----

const FlagSpec kAccount = {"account", "ACCOUNT", "the account: acme or accounts/acme", true};
const FlagSpec kAccountForIds = {"account", "ACCOUNT",
                                 "the account, when names are given as bare ids"};

}  // namespace

const std::vector<Command>& Commands() {
  static const auto* const kCommands = new std::vector<Command>{
      {"webhooks",
       "create",
       "",
       0,
       "Register a webhook; prints its signing secret (only once)",
       "Event types: one --event-type per type or a comma-separated list; none means every\n"
       "event type, including types added later.\n",
       {kAccount,
        {"display-name", "TEXT", "human-readable name, e.g. \"PMS Booking Sync\"", true},
        {"url", "URL", "https:// URL that receives the POST requests", true},
        {"event-type", "TYPE[,TYPE...]", "event types to deliver (default: all)", false, true},
        {"description", "TEXT", "free text for people"},
        {"header", "NAME=VALUE", "extra HTTP header sent with every delivery", false, true},
        {"paused", nullptr, "create it paused (events are held until resumed)"},
        {"rate-limit", "N",
         "at most N requests per second to the receiver (more wait; retries count)"},
        {"burst", "N", "with --rate-limit: up to N at once after a quiet spell (default N)"},
        {"ordered", nullptr,
         "deliver in publish order, one request at a time: a failing delivery holds back the "
         "later ones until it succeeds or fails for good"},
        {"signature-scheme", "SCHEME",
         "hmac-sha256 (default: a shared whsec_ secret, v1) or ed25519 (v1a: receivers hold "
         "only the public key)"},
        {"request-id", "ID",
         "makes the call safe to repeat: the same id returns the same webhook"}},
       WebhooksCreate},
      {"webhooks", "list", "", 0, "List the webhooks of an account, oldest first",
       "STATUS says \"failing since TIME\" while every attempt since TIME has failed.\n",
       WithPageFlags({kAccount}), WebhooksList},
      {"webhooks",
       "get",
       "NAME",
       1,
       "Show one webhook (without its secret)",
       "NAME: accounts/ACCOUNT/webhooks/ID, or ID with --account.\n",
       {kAccountForIds},
       WebhooksGet},
      {"webhooks",
       "update",
       "NAME",
       1,
       "Change fields of a webhook (only those given)",
       "NAME: accounts/ACCOUNT/webhooks/ID, or ID with --account. --header replaces all\n"
       "headers; --description '' clears the description.\n",
       {kAccountForIds,
        {"display-name", "TEXT", "new human-readable name"},
        {"url", "URL", "new https:// URL"},
        {"event-type", "TYPE[,TYPE...]", "new event types (replaces the list)", false, true},
        {"all-events", nullptr, "deliver every event type (clears the list)"},
        {"description", "TEXT", "new description"},
        {"header", "NAME=VALUE", "new extra headers (replaces them all)", false, true},
        {"clear-headers", nullptr, "remove every extra header"},
        {"rate-limit", "N", "new limit: at most N requests per second to the receiver"},
        {"burst", "N", "with --rate-limit: up to N at once after a quiet spell (default N)"},
        {"no-rate-limit", nullptr, "remove the rate limit"},
        {"ordered", nullptr, "deliver in publish order, one request at a time"},
        {"unordered", nullptr, "deliver concurrently again (the default)"}},
       WebhooksUpdate},
      {"webhooks",
       "pause",
       "NAME",
       1,
       "Pause deliveries to a webhook (its events are held, its config kept)",
       "NAME: accounts/ACCOUNT/webhooks/ID, or ID with --account.\n",
       {kAccountForIds},
       WebhooksPause},
      {"webhooks",
       "resume",
       "NAME",
       1,
       "Resume a paused webhook; held deliveries are sent in publish order",
       "NAME: accounts/ACCOUNT/webhooks/ID, or ID with --account.\n",
       {kAccountForIds,
        {"drop-held", nullptr, "cancel the deliveries held while paused instead of sending them"}},
       WebhooksResume},
      {"webhooks",
       "delete",
       "NAME",
       1,
       "Delete a webhook for good",
       "NAME: accounts/ACCOUNT/webhooks/ID, or ID with --account.\n",
       {kAccountForIds},
       WebhooksDelete},
      {"webhooks",
       "rotate-secret",
       "NAME",
       1,
       "Make a new signing key (a secret is printed once); the old one signs 24 h more",
       "NAME: accounts/ACCOUNT/webhooks/ID, or ID with --account.\n"
       "With --signature-scheme the webhook switches scheme; during the overlap each request\n"
       "carries both a v1 and a v1a signature.\n",
       {kAccountForIds,
        {"signature-scheme", "SCHEME",
         "scheme of the new key: hmac-sha256 or ed25519 (default: the current one)"}},
       WebhooksRotateSecret},
      {"webhooks",
       "test",
       "NAME",
       1,
       "Send a webhook.test event to this webhook only and show the first attempt",
       "NAME: accounts/ACCOUNT/webhooks/ID, or ID with --account.\n"
       "Goes to this webhook whatever its event types (it must be enabled), signed and retried\n"
       "like any event. Waits for the first attempt (at most until 1 s before --timeout, 10s by\n"
       "default) and prints the delivery with it. Exit status 3 when that attempt did not\n"
       "succeed or had no result in time; 0 when it did (or with --no-wait).\n",
       {kAccountForIds,
        {"data", "JSON", "payload (a JSON object); default: a message naming the webhook"},
        {"no-wait", nullptr, "answer once the event is stored, without waiting for the attempt"}},
       WebhooksTest},
      {"event-types", "list", "", 0,
       "List the event types an account can subscribe to, sorted by name", "",
       WithPageFlags({kAccount}), EventTypesList},
      {"events",
       "publish",
       "",
       0,
       "Publish an event to every matching webhook",
       "The payload is a JSON object, sent byte for byte. Without --idempotency-key the client\n"
       "makes one (a UUID), so its own retries never publish twice. When no webhook of the\n"
       "account matches the event type, a warning on stderr says so (exit status still 0).\n",
       {kAccount,
        {"type", "TYPE", "event type, e.g. booking.created", true},
        {"data", "JSON", "payload, e.g. '{\"booking_id\":\"B-1\"}'"},
        {"data-file", "FILE", "read the payload from FILE ('-': stdin)"},
        {"idempotency-key", "KEY", "the same key within 24 h returns the first event again"},
        {"traceparent", "VALUE",
         "W3C trace context sent on every delivery, e.g. 00-<trace id>-<span id>-01"},
        {"tracestate", "VALUE", "W3C tracestate to go with --traceparent"}},
       EventsPublish},
      {"events",
       "batch-publish",
       "",
       0,
       "Publish many events from a JSON-lines file (100 per call, each call atomic)",
       "Each line is a PublishEventRequest in protobuf JSON, e.g.\n"
       "  {\"eventType\":\"booking.created\",\"data\":{\"booking_id\":\"B-1\"},"
       "\"idempotencyKey\":\"B-1-created\"}\n"
       "Blank lines and lines starting with # are skipped. Event types that matched no\n"
       "webhook of the account are named in a warning on stderr (exit status still 0).\n",
       {kAccount, {"file", "FILE", "the JSON-lines file ('-': stdin)", true}},
       EventsBatchPublish},
      {"events",
       "get",
       "NAME",
       1,
       "Show one event with its payload and deliveries",
       "NAME: accounts/ACCOUNT/events/ID, or ID with --account.\n",
       {kAccountForIds},
       EventsGet},
      {"events", "list", "", 0, "List the events of an account, newest first", "",
       WithPageFlags({kAccount, {"type", "TYPE", "only events of this type"}}), EventsList},
      {"deliveries", "list", "", 0,
       "List the deliveries of a webhook or of an event, oldest first (publish order), or of "
       "a whole account, newest first",
       "--webhook and --event take full names, or ids with --account. --account alone lists "
       "the account's\ndelivery log, e.g. every failed delivery of the last hour:\n"
       "  webhookctl deliveries list --account acme --state failed --since 1h\n"
       "--since/--until filter on when the event was published.\n",
       WithPageFlags({{"webhook", "NAME", "deliveries to this webhook"},
                      {"event", "NAME", "deliveries of this event"},
                      {"state", "STATE",
                       "only this state: pending, held, retry_scheduled, succeeded, failed, "
                       "cancelled"},
                      {"since", "WHEN", "only events published since: 1h (ago) or an RFC 3339 time"},
                      {"until", "WHEN", "only events published before: 10m (ago) or an RFC 3339 time"},
                      {"account", "ACCOUNT",
                       "the account of ids given to --webhook/--event; alone, its whole log"}}),
       DeliveriesList},
      {"deliveries",
       "get",
       "NAME",
       1,
       "Show one delivery with every attempt",
       "NAME: accounts/ACCOUNT/webhooks/WEBHOOK/deliveries/EVENT.\n"
       "Attempts oldest first: number, start time, latency, HTTP status or error, then what\n"
       "the receiver answered: the start of the body (as text if it is UTF-8) and the\n"
       "headers Content-Type, Location, Retry-After and WWW-Authenticate when present.\n",
       {},
       DeliveriesGet},
      {"deliveries",
       "retry",
       "NAME",
       1,
       "Send a delivery again now",
       "NAME: accounts/ACCOUNT/webhooks/WEBHOOK/deliveries/EVENT.\n",
       {},
       DeliveriesRetry},
      {"deliveries",
       "recover",
       "",
       0,
       "Send a webhook's failed deliveries of a time range again (after an outage)",
       "  webhookctl deliveries recover --webhook NAME --since 2026-12-05T09:00:00Z\n"
       "Oldest first, under the webhook's concurrency and rate limits; the server does the\n"
       "work in the background and this waits for the end (exit 3 if the recovery stopped\n"
       "early, e.g. the webhook was paused). --include-succeeded replays delivered ones too.\n"
       "--since/--until are on when the event was published.\n",
       {{"webhook", "NAME", "the webhook (full name, or id with --account)", true},
        {"since", "WHEN", "events published since: 1h (ago) or an RFC 3339 time", true},
        {"until", "WHEN", "... and before: 10m (ago) or an RFC 3339 time (default: now)"},
        {"include-succeeded", nullptr, "also send again what was delivered (a replay)"},
        {"no-wait", nullptr, "print the recovery as started and return"},
        {"account", "ACCOUNT", "the account of a webhook id given to --webhook"}},
       DeliveriesRecover},
      {"deliveries",
       "recovery",
       "NAME",
       1,
       "Show a recovery (deliveries recover) and its progress",
       "NAME: accounts/ACCOUNT/webhooks/WEBHOOK/recoveries/ID (kept 1 h after it ends).\n",
       {},
       DeliveriesRecovery},
      {"deliveries",
       "watch",
       "",
       0,
       "Print delivery state changes live until Ctrl-C",
       "One line per change: cursor, time, state, delivery, attempts, reason. Reconnects by\n"
       "itself after a server restart and resumes after the last cursor printed, so nothing\n"
       "is missed or printed twice. Ctrl-C (or --timeout) ends it with exit status 0.\n"
       "The account comes from --account or from the --webhook/--event name.\n",
       {{"account", "ACCOUNT", "every delivery of this account"},
        {"webhook", "NAME", "only deliveries to this webhook"},
        {"event", "NAME", "only deliveries of this event"},
        {"cursor", "N",
         "start after this cursor (e.g. a publish's watch_cursor); default: from now"}},
       DeliveriesWatch},
      {"applications",
       "create",
       "",
       0,
       "Create an application of an account; prints its API key (only once)",
       "The key is sent like any token (WEBHOOKS_TOKEN=wak_... for webhookctl) and acts on\n"
       "this account only, within the scopes: read (get and list, watch), publish (publish\n"
       "events), manage (change webhooks, retry deliveries, manage applications; includes\n"
       "read). No --scope means every scope. Scopes and expiry are fixed at create. The\n"
       "service stores only a SHA-256 hash of the key: store the printed api_key now.\n",
       {kAccount,
        {"display-name", "TEXT", "human-readable name, e.g. \"Channel manager (production)\"",
         true},
        {"id", "ID",
         "the id, the last part of the name: [a-z0-9-], starting with a letter "
         "(default: assigned, app_...)"},
        {"scope", "SCOPE[,SCOPE...]", "read, publish or manage (default: all)", false, true},
        {"expire-time", "TIME", "no key works after this RFC 3339 time"},
        {"expires-in", "DURATION", "no key works after this long from now, e.g. 90d or 12h"},
        {"description", "TEXT", "free text for people"}},
       ApplicationsCreate},
      {"applications", "list", "", 0, "List the applications of an account, in id order",
       "Keys are never shown; KEY PREFIX tells them apart.\n", WithPageFlags({kAccount}),
       ApplicationsList},
      {"applications",
       "get",
       "NAME",
       1,
       "Show one application (without its key)",
       "NAME: accounts/ACCOUNT/applications/ID, or ID with --account.\n",
       {kAccountForIds},
       ApplicationsGet},
      {"applications",
       "update",
       "NAME",
       1,
       "Change the display name or description of an application",
       "NAME: accounts/ACCOUNT/applications/ID, or ID with --account. --description ''\n"
       "clears the description. To change scopes or expiry, create another application and\n"
       "revoke this one.\n",
       {kAccountForIds,
        {"display-name", "TEXT", "new human-readable name"},
        {"description", "TEXT", "new description"}},
       ApplicationsUpdate},
      {"applications",
       "rotate",
       "NAME",
       1,
       "Issue a new API key (printed once); the old one stops after --overlap",
       "NAME: accounts/ACCOUNT/applications/ID, or ID with --account. Without --overlap the\n"
       "old key stops at once (what a leaked key needs); with it, it keeps working that long\n"
       "(at most 7d) so that a deployment can switch over.\n",
       {kAccountForIds,
        {"overlap", "DURATION", "how long the old key keeps working, e.g. 1h (default 0s)"}},
       ApplicationsRotate},
      {"applications",
       "revoke",
       "NAME",
       1,
       "Revoke every key of an application at once, for good (it stays listed)",
       "NAME: accounts/ACCOUNT/applications/ID, or ID with --account.\n",
       {kAccountForIds},
       ApplicationsRevoke},
      {"applications",
       "delete",
       "NAME",
       1,
       "Delete an application for good (its keys stop working at once)",
       "NAME: accounts/ACCOUNT/applications/ID, or ID with --account.\n",
       {kAccountForIds},
       ApplicationsDelete},
  };
  return *kCommands;
}

}  // namespace wink::webhooks::ctl
