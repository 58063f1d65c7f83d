// PostgresWebhookStore: tables `webhooks` and `idempotency`.
#include <utility>

#include "absl/strings/str_cat.h"
#include "service/common/status_macros.h"
#include "service/domain/webhook_lifecycle.h"
#include "service/storage/event_log.h"
#include "service/storage/postgres/delivery_writes.h"
#include "service/storage/postgres/schema.h"
#include "service/storage/postgres/stores.h"
#include "service/storage/records.h"

namespace wink::webhooks::storage::pg {
namespace {

using ::wink::webhooks::internal::v1::IdempotencyRecord;

constexpr Sql kCountWebhooks{
    "count_webhooks",
    "SELECT count(*) FROM (SELECT 1 FROM webhooks WHERE account = $1 LIMIT $2) AS limited"};
constexpr Sql kInsertWebhook{"insert_webhook",
                             "INSERT INTO webhooks (account, id, record) VALUES ($1, $2, $3)"};
constexpr Sql kWebhook{"webhook", "SELECT record FROM webhooks WHERE account = $1 AND id = $2"};
// One more than asked for, to know whether more follow.
constexpr Sql kListWebhooks{
    "list_webhooks",
    "SELECT record FROM webhooks WHERE account = $1 AND id > $2 ORDER BY id LIMIT $3"};
constexpr Sql kListAllWebhooks{
    "list_all_webhooks",
    "SELECT record FROM webhooks WHERE (account, id) > ($1, $2) ORDER BY account, id LIMIT $3"};
constexpr Sql kDeleteWebhook{"delete_webhook",
                             "DELETE FROM webhooks WHERE account = $1 AND id = $2"};

absl::Status WebhookNotFound(absl::string_view id) {
  return absl::NotFoundError(absl::StrCat("webhook ", id, " not found"));
}

// Up to `limit` webhooks of `rows` (one record per row), and no more than
// kMaxPageBytes of them; has_more when rows were left.
absl::StatusOr<WebhookPage> WebhookPageFrom(const Rows& rows, int limit) {
  WebhookPage page;
  size_t page_bytes = 0;
  for (int row = 0; row < rows.size(); ++row) {
    const size_t bytes = rows.Bytes(row, 0).size();
    if (static_cast<int>(page.webhooks.size()) == limit ||
        (!page.webhooks.empty() && page_bytes + bytes > kMaxPageBytes)) {
      page.has_more = true;
      break;
    }
    page_bytes += bytes;
    WINK_ASSIGN_OR_RETURN(std::optional<WebhookRecord> webhook,
                          RecordAt<WebhookRecord>(rows, row, 0, kWebhookRecordVersion, "webhook"));
    page.webhooks.push_back(*std::move(webhook));
  }
  return page;
}

}  // namespace

absl::StatusOr<CreateWebhookResult> PostgresWebhookStore::Create(
    WebhookRecord webhook, const CreateWebhookOptions& options) {
  CreateWebhookResult result;
  // With a request id, running the create again after a lost COMMIT finds
  // whatever it stored and returns that: the caller need not retry.
  const Writer::WhenOutcomeUnknown when_unknown = options.request_id.empty()
                                                      ? Writer::WhenOutcomeUnknown::kFail
                                                      : Writer::WhenOutcomeUnknown::kRunAgain;
  WINK_RETURN_IF_ERROR(context_.writer.Run(when_unknown, [&](WriteTxn& txn) -> absl::Status {
    const std::string& account = webhook.account();
    const int kind = static_cast<int>(IdempotencyKind::kCreateWebhook);
    std::vector<Statement> reads;
    // Exclusive: the count below must hold until the insert commits.
    reads.push_back(LockAccountExclusive(account));
    if (!options.request_id.empty()) {
      reads.push_back(LockIdempotencyKey(account, kind, options.request_id));
      reads.push_back(
          Statement{kIdempotencyEntry,
                    {Param::Text(account), Param::Int(kind), Param::Bytes(options.request_id)}});
    }
    reads.push_back(Statement{
        kCountWebhooks, {Param::Text(account), Param::Int(options.max_webhooks_per_account)}});
    WINK_ASSIGN_OR_RETURN(const std::vector<Rows> rows, txn.Read(std::move(reads)));
    if (!options.request_id.empty()) {
      WINK_ASSIGN_OR_RETURN(
          const std::optional<IdempotencyRecord> earlier,
          RecordAt<IdempotencyRecord>(rows[2], 0, 0, kIdempotencyRecordVersion, "idempotency"));
      if (earlier.has_value() && absl::FromUnixMicros(earlier->expire_time_us()) > options.now) {
        if (earlier->request_fingerprint() != options.request_fingerprint) {
          return absl::InvalidArgumentError(
              "request_id: already used for a different CreateWebhook request; use a new "
              "request_id for a new webhook");
        }
        WINK_ASSIGN_OR_RETURN(std::optional<WebhookRecord> existing,
                              ReadWebhookForUpdate(txn, account, earlier->resource_id()));
        if (!existing.has_value()) {
          return absl::FailedPreconditionError(
              "request_id: the webhook created with this request_id has since been deleted; "
              "use a new request_id to create another");
        }
        result = CreateWebhookResult{*std::move(existing), /*created=*/false};
        return absl::OkStatus();
      }
    }
    if (rows.back().Int(0, 0) >= options.max_webhooks_per_account) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "account \"", account, "\" already has the maximum of ", options.max_webhooks_per_account,
          " webhooks; delete one or ask for a higher limit"));
    }
    WebhookRecord created = webhook;
    created.set_id(context_.ids.Next(kWebhookIdPrefix));
    created.set_version(kWebhookRecordVersion);
    txn.Write(Statement{kInsertWebhook,
                        {Param::Text(account), Param::Text(created.id()),
                         Param::Bytes(created.SerializeAsString())}});
    if (!options.request_id.empty()) {
      IdempotencyRecord record;
      record.set_version(kIdempotencyRecordVersion);
      record.set_resource_id(created.id());
      record.set_request_fingerprint(options.request_fingerprint);
      record.set_expire_time_us(absl::ToUnixMicros(options.request_id_expire_time));
      txn.Write(Statement{kPutIdempotencyEntry,
                          {Param::Text(account), Param::Int(kind), Param::Bytes(options.request_id),
                           Param::Bytes(record.SerializeAsString())}});
    }
    result = CreateWebhookResult{std::move(created), /*created=*/true};
    return absl::OkStatus();
  }));
  return result;
}

absl::StatusOr<WebhookRecord> PostgresWebhookStore::Get(absl::string_view account,
                                                        absl::string_view id) {
  WINK_ASSIGN_OR_RETURN(const Rows rows, context_.readers.Query(Statement{
                                             kWebhook, {Param::Text(account), Param::Text(id)}}));
  WINK_ASSIGN_OR_RETURN(std::optional<WebhookRecord> webhook,
                        RecordAt<WebhookRecord>(rows, 0, 0, kWebhookRecordVersion, "webhook"));
  if (!webhook.has_value()) return WebhookNotFound(id);
  return *std::move(webhook);
}

absl::StatusOr<WebhookPage> PostgresWebhookStore::List(absl::string_view account,
                                                       absl::string_view after_id, int limit) {
  WINK_ASSIGN_OR_RETURN(
      const Rows rows,
      context_.readers.Query(Statement{
          kListWebhooks, {Param::Text(account), Param::Text(after_id), Param::Int(limit + 1)}}));
  return WebhookPageFrom(rows, limit);
}

absl::StatusOr<WebhookPage> PostgresWebhookStore::ListAll(
    const std::optional<WebhookPosition>& after, int limit) {
  // ("", "") sorts before every real (account, id).
  const WebhookPosition start = after.value_or(WebhookPosition{});
  WINK_ASSIGN_OR_RETURN(const Rows rows,
                        context_.readers.Query(Statement{
                            kListAllWebhooks,
                            {Param::Text(start.account), Param::Text(start.id), Param::Int(limit + 1)}}));
  return WebhookPageFrom(rows, limit);
}

absl::StatusOr<WebhookRecord> PostgresWebhookStore::Update(
    absl::string_view account, absl::string_view id,
    const std::function<absl::Status(WebhookRecord&)>& mutate,
    const UpdateWebhookOptions& options) {
  WebhookRecord result;
  WINK_RETURN_IF_ERROR(context_.writer.Run([&](WriteTxn& txn) -> absl::Status {
    // Exclusive against publishes: a resume's release must see every HELD
    // delivery a publish made while the webhook was paused.
    WINK_ASSIGN_OR_RETURN(
        const std::vector<Rows> rows,
        txn.Read({LockAccountExclusive(account),
                  Statement{kWebhookForUpdate, {Param::Text(account), Param::Text(id)}}}));
    WINK_ASSIGN_OR_RETURN(const std::optional<WebhookRecord> before,
                          RecordAt<WebhookRecord>(rows[1], 0, 0, kWebhookRecordVersion, "webhook"));
    if (!before.has_value()) return WebhookNotFound(id);
    WebhookRecord record = *before;
    WINK_RETURN_IF_ERROR(mutate(record));
    const domain::Cascade cascade = domain::SettleEnabledChange(
        *before, record, options.drop_held_deliveries, context_.clock.Now());
    record.set_version(kWebhookRecordVersion);
    txn.Write(Statement{
        kUpdateWebhook,
        {Param::Text(account), Param::Text(id), Param::Bytes(record.SerializeAsString())}});
    WINK_RETURN_IF_ERROR(
        StageCascade(txn, context_, cascade, account, id, &record, record.resume_generation()));
    result = std::move(record);
    return absl::OkStatus();
  }));
  return result;
}

absl::Status PostgresWebhookStore::Delete(absl::string_view account, absl::string_view id) {
  return context_.writer.Run([&](WriteTxn& txn) -> absl::Status {
    WINK_ASSIGN_OR_RETURN(
        const std::vector<Rows> rows,
        txn.Read({LockAccountExclusive(account),
                  Statement{kWebhookForUpdate, {Param::Text(account), Param::Text(id)}}}));
    if (rows[1].empty()) return WebhookNotFound(id);
    txn.Write(Statement{kDeleteWebhook, {Param::Text(account), Param::Text(id)}});
    txn.Write(context_.feed.NotifyWebhookDeletedStatement(std::string(id)));
    txn.OnCommit([&listeners = context_.listeners, webhook_id = std::string(id)](uint64_t) {
      listeners.NotifyWebhookDeleted(webhook_id);
    });
    return StageCascade(txn, context_, domain::Cascade::kCancelAll, account, id,
                        /*webhook=*/nullptr, /*generation=*/0);
  });
}

}  // namespace wink::webhooks::storage::pg
