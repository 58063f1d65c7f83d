// Conformance: webhooks (service/storage/webhook_store.h): create with the
// per-account limit and request_id replay, get, list pages, update, delete.
#include <algorithm>
#include <atomic>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/common/ids.h"
#include "service/storage/records.h"
#include "tests/storage/conformance/storage_conformance.h"

namespace wink::webhooks::storage::testing {
namespace {

TEST_P(StorageConformance, CreateStoresTheWebhookAndGetReturnsIt) {
  const domain::WebhookRecord webhook = NewWebhook("acme");

  auto created = webhooks().Create(webhook, Options());

  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_TRUE(created->created);
  EXPECT_EQ(created->webhook.version(), kWebhookRecordVersion);
  EXPECT_TRUE(IsValidId(created->webhook.id(), kWebhookIdPrefix));

  auto got = webhooks().Get("acme", created->webhook.id());
  ASSERT_TRUE(got.ok()) << got.status();
  domain::WebhookRecord expected = webhook;
  expected.set_id(created->webhook.id());
  expected.set_version(kWebhookRecordVersion);
  EXPECT_EQ(got->SerializeAsString(), expected.SerializeAsString());
  EXPECT_EQ(got->headers().at("X-Api-Key"), "k");
}

TEST_P(StorageConformance, CreateAssignsANewIdEvenWhenOneIsGiven) {
  domain::WebhookRecord webhook = NewWebhook("acme");
  webhook.set_id("wh_caller_chosen");
  auto first = webhooks().Create(webhook, Options());
  auto second = webhooks().Create(webhook, Options());
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_TRUE(IsValidId(first->webhook.id(), kWebhookIdPrefix));
  EXPECT_LT(first->webhook.id(), second->webhook.id());
}

TEST_P(StorageConformance, GetOfAnUnknownIdIsNotFound) {
  auto got = webhooks().Get("acme", "wh_00000000000000000000000000");
  EXPECT_EQ(got.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(got.status().message()), HasSubstr("wh_00000000000000000000000000"));
}

TEST_P(StorageConformance, GetWithAnotherAccountIsNotFound) {
  const std::string id = MustCreate("acme");

  EXPECT_EQ(webhooks().Get("other", id).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(webhooks().Get("acm", id).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(webhooks().Get("acmex", id).status().code(), absl::StatusCode::kNotFound);
}

TEST_P(StorageConformance, ListOfAnEmptyAccountIsEmpty) {
  auto page = webhooks().List("acme", "", 10);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_THAT(page->webhooks, IsEmpty());
  EXPECT_FALSE(page->has_more);
}

TEST_P(StorageConformance, ListPagesThroughWebhooksInIdOrder) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(MustCreate("acme"));
  ASSERT_TRUE(std::is_sorted(ids.begin(), ids.end()));

  auto first = webhooks().List("acme", "", 2);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_THAT(Ids(first->webhooks), ElementsAre(ids[0], ids[1]));
  EXPECT_TRUE(first->has_more);

  auto second = webhooks().List("acme", ids[1], 2);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_THAT(Ids(second->webhooks), ElementsAre(ids[2], ids[3]));
  EXPECT_TRUE(second->has_more);

  auto last = webhooks().List("acme", ids[3], 2);
  ASSERT_TRUE(last.ok()) << last.status();
  EXPECT_THAT(Ids(last->webhooks), ElementsAre(ids[4]));
  EXPECT_FALSE(last->has_more);
}

TEST_P(StorageConformance, ListHasNoMoreWhenThePageEndsExactlyAtTheLastWebhook) {
  const std::string a = MustCreate("acme");
  const std::string b = MustCreate("acme");

  auto page = webhooks().List("acme", "", 2);

  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_THAT(Ids(page->webhooks), ElementsAre(a, b));
  EXPECT_FALSE(page->has_more);

  auto after_last = webhooks().List("acme", b, 2);
  ASSERT_TRUE(after_last.ok()) << after_last.status();
  EXPECT_THAT(after_last->webhooks, IsEmpty());
  EXPECT_FALSE(after_last->has_more);
}

TEST_P(StorageConformance, ListContinuesAfterADeletedAfterId) {
  MustCreate("acme");
  const std::string b = MustCreate("acme");
  const std::string c = MustCreate("acme");
  ASSERT_TRUE(webhooks().Delete("acme", b).ok());

  auto page = webhooks().List("acme", b, 10);

  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_THAT(Ids(page->webhooks), ElementsAre(c));
}

// Account "ab" sorts right after "a" if keys were raw concatenations; the
// length-prefixed encoding must keep them apart.
TEST_P(StorageConformance, ListNeverReturnsWebhooksOfAnAccountWithALongerId) {
  const std::string in_a = MustCreate("a");
  MustCreate("ab");
  MustCreate("a-b");
  MustCreate("b");
  const std::string in_a_2 = MustCreate("a");

  auto page = webhooks().List("a", "", 100);

  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_THAT(Ids(page->webhooks), ElementsAre(in_a, in_a_2));
  EXPECT_FALSE(page->has_more);
  for (const auto& webhook : page->webhooks) EXPECT_EQ(webhook.account(), "a");
}

TEST_P(StorageConformance, ListPaginationStopsAtTheAccountBoundary) {
  const std::string in_a = MustCreate("a");
  MustCreate("ab");

  auto page = webhooks().List("a", "", 1);

  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_THAT(Ids(page->webhooks), ElementsAre(in_a));
  EXPECT_FALSE(page->has_more) << "the next key belongs to account \"ab\"";
}

TEST_P(StorageConformance, ListAllPagesThroughEveryAccountsWebhooksOnce) {
  std::vector<std::string> created;
  for (const std::string account : {"b", "a", "ab", "a-b", "a", "b"}) {
    created.push_back(MustCreate(account));
  }
  std::vector<std::string> seen;
  std::optional<WebhookPosition> after;
  for (int pages = 0; pages < 10; ++pages) {
    auto page = webhooks().ListAll(after, 2);
    ASSERT_TRUE(page.ok()) << page.status();
    ASSERT_LE(page->webhooks.size(), 2u);
    for (const auto& webhook : page->webhooks) seen.push_back(webhook.id());
    if (!page->has_more) break;
    ASSERT_FALSE(page->webhooks.empty());
    after = WebhookPosition{page->webhooks.back().account(), page->webhooks.back().id()};
  }
  EXPECT_THAT(seen, ::testing::UnorderedElementsAreArray(created));

  auto all = webhooks().ListAll(std::nullopt, 100);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->webhooks.size(), created.size());
  EXPECT_FALSE(all->has_more);
}

TEST_P(StorageConformance, CreateBeyondTheAccountLimitIsResourceExhaustedAndStoresNothing) {
  CreateWebhookOptions options = Options("req-3", "fp-3");
  options.max_webhooks_per_account = 2;
  CreateWebhookOptions no_request_id = Options();
  no_request_id.max_webhooks_per_account = 2;
  ASSERT_TRUE(webhooks().Create(NewWebhook("acme"), no_request_id).ok());
  ASSERT_TRUE(webhooks().Create(NewWebhook("acme"), no_request_id).ok());
  const domain::WebhookRecord third = NewWebhook("acme");

  auto result = webhooks().Create(third, options);

  EXPECT_EQ(result.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(result.status().message()), HasSubstr("\"acme\""));
  EXPECT_EQ(webhooks().List("acme", "", 10)->webhooks.size(), 2u);

  // The request id was not remembered either: a retry once there is room
  // creates the webhook instead of reporting it deleted.
  options.max_webhooks_per_account = 3;
  auto retry = webhooks().Create(third, options);
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_TRUE(retry->created);
}

TEST_P(StorageConformance, LimitCountsOnlyTheAccountsOwnWebhooks) {
  MustCreate("ab");
  MustCreate("ab");
  CreateWebhookOptions options = Options();
  options.max_webhooks_per_account = 1;

  auto result = webhooks().Create(NewWebhook("a"), options);

  EXPECT_TRUE(result.ok()) << result.status();
}

TEST_P(StorageConformance, DeleteFreesRoomUnderTheLimit) {
  CreateWebhookOptions options = Options();
  options.max_webhooks_per_account = 1;
  auto first = webhooks().Create(NewWebhook("acme"), options);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(webhooks().Create(NewWebhook("acme"), options).status().code(),
            absl::StatusCode::kResourceExhausted);

  ASSERT_TRUE(webhooks().Delete("acme", first->webhook.id()).ok());

  EXPECT_TRUE(webhooks().Create(NewWebhook("acme"), options).ok());
}

TEST_P(StorageConformance, ConcurrentCreatesNeverExceedTheLimit) {
  constexpr int kThreads = 8;
  constexpr int kLimit = 5;
  std::vector<domain::WebhookRecord> records;
  for (int i = 0; i < kThreads; ++i) records.push_back(NewWebhook("acme"));
  CreateWebhookOptions options = Options();
  options.max_webhooks_per_account = kLimit;
  std::atomic<int> created{0};
  std::atomic<int> exhausted{0};

  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      auto result = webhooks().Create(records[i], options);
      if (result.ok()) ++created;
      if (result.status().code() == absl::StatusCode::kResourceExhausted) ++exhausted;
    });
  }
  for (auto& thread : threads) thread.join();

  EXPECT_EQ(created.load(), kLimit);
  EXPECT_EQ(exhausted.load(), kThreads - kLimit);
  EXPECT_EQ(webhooks().List("acme", "", 100)->webhooks.size(), static_cast<size_t>(kLimit));
}

TEST_P(StorageConformance, RetryWithTheSameRequestIdReturnsTheFirstWebhook) {
  const domain::WebhookRecord first = NewWebhook("acme");
  auto created = webhooks().Create(first, Options("req-1", "fp"));
  ASSERT_TRUE(created.ok()) << created.status();
  ASSERT_TRUE(created->created);

  // A retry generates a new id server-side; the store must not use it.
  auto retry = webhooks().Create(NewWebhook("acme"), Options("req-1", "fp"));

  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_FALSE(retry->created);
  EXPECT_EQ(retry->webhook.id(), created->webhook.id());
  EXPECT_EQ(webhooks().List("acme", "", 10)->webhooks.size(), 1u);
}

TEST_P(StorageConformance, RetryReturnsTheWebhookAsItIsNow) {
  auto created = webhooks().Create(NewWebhook("acme"), Options("req-1", "fp"));
  ASSERT_TRUE(created.ok());
  ASSERT_TRUE(webhooks()
                  .Update("acme", created->webhook.id(),
                          [](domain::WebhookRecord& w) {
                            w.set_display_name("renamed");
                            return absl::OkStatus();
                          })
                  .ok());

  auto retry = webhooks().Create(NewWebhook("acme"), Options("req-1", "fp"));

  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_FALSE(retry->created);
  EXPECT_EQ(retry->webhook.display_name(), "renamed");
}

TEST_P(StorageConformance, RetryAtTheLimitStillReturnsTheFirstWebhook) {
  CreateWebhookOptions options = Options("req-1", "fp");
  options.max_webhooks_per_account = 1;
  auto created = webhooks().Create(NewWebhook("acme"), options);
  ASSERT_TRUE(created.ok());

  auto retry = webhooks().Create(NewWebhook("acme"), options);

  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_FALSE(retry->created);
  EXPECT_EQ(retry->webhook.id(), created->webhook.id());
}

TEST_P(StorageConformance, SameRequestIdWithADifferentRequestIsInvalidArgument) {
  ASSERT_TRUE(webhooks().Create(NewWebhook("acme"), Options("req-1", "fp-a")).ok());
  const domain::WebhookRecord other = NewWebhook("acme");

  auto result = webhooks().Create(other, Options("req-1", "fp-b"));

  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(result.status().message()), StartsWith("request_id:"));
  EXPECT_EQ(webhooks().Get("acme", other.id()).status().code(), absl::StatusCode::kNotFound);
}

TEST_P(StorageConformance, RequestIdsAreScopedToTheAccount) {
  auto in_acme = webhooks().Create(NewWebhook("acme"), Options("req-1", "fp-a"));
  auto in_other = webhooks().Create(NewWebhook("other"), Options("req-1", "fp-b"));

  ASSERT_TRUE(in_acme.ok()) << in_acme.status();
  ASSERT_TRUE(in_other.ok()) << in_other.status();
  EXPECT_TRUE(in_other->created);
  EXPECT_NE(in_other->webhook.id(), in_acme->webhook.id());
}

TEST_P(StorageConformance, ExpiredRequestIdCreatesANewWebhook) {
  auto first = webhooks().Create(NewWebhook("acme"), Options("req-1", "fp"));
  ASSERT_TRUE(first.ok());
  clock_.Advance(absl::Hours(25));  // past request_id_expire_time of the first

  auto second = webhooks().Create(NewWebhook("acme"), Options("req-1", "other-fp"));

  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_TRUE(second->created);
  EXPECT_NE(second->webhook.id(), first->webhook.id());

  // The request id now refers to the new webhook.
  auto retry = webhooks().Create(NewWebhook("acme"), Options("req-1", "other-fp"));
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_FALSE(retry->created);
  EXPECT_EQ(retry->webhook.id(), second->webhook.id());
}

TEST_P(StorageConformance, RequestIdIsRememberedUntilItsExpireTime) {
  auto first = webhooks().Create(NewWebhook("acme"), Options("req-1", "fp"));
  ASSERT_TRUE(first.ok());
  clock_.Advance(absl::Hours(24) - absl::Microseconds(1));

  auto retry = webhooks().Create(NewWebhook("acme"), Options("req-1", "fp"));

  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_FALSE(retry->created);
}

TEST_P(StorageConformance, RequestIdOfADeletedWebhookIsFailedPrecondition) {
  auto first = webhooks().Create(NewWebhook("acme"), Options("req-1", "fp"));
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(webhooks().Delete("acme", first->webhook.id()).ok());

  auto retry = webhooks().Create(NewWebhook("acme"), Options("req-1", "fp"));

  EXPECT_EQ(retry.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(retry.status().message()), StartsWith("request_id:"));
  EXPECT_THAT(webhooks().List("acme", "", 10)->webhooks, IsEmpty());
}

TEST_P(StorageConformance, UpdateWritesTheMutatedWebhook) {
  const std::string id = MustCreate("acme");

  auto updated = webhooks().Update("acme", id, [](domain::WebhookRecord& w) {
    w.set_url("https://example.org/new");
    w.set_enabled(false);
    return absl::OkStatus();
  });

  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->url(), "https://example.org/new");
  EXPECT_EQ(updated->version(), kWebhookRecordVersion);
  auto got = webhooks().Get("acme", id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->url(), "https://example.org/new");
  EXPECT_FALSE(got->enabled());
}

TEST_P(StorageConformance, UpdateWhoseMutateFailsWritesNothing) {
  const std::string id = MustCreate("acme");

  auto updated = webhooks().Update("acme", id, [](domain::WebhookRecord& w) {
    w.set_url("https://half-done.example/");
    return absl::FailedPreconditionError("webhook: not now");
  });

  EXPECT_EQ(updated.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(updated.status().message(), "webhook: not now");
  EXPECT_EQ(webhooks().Get("acme", id)->url(), "https://example.com/hook");
}

TEST_P(StorageConformance, UpdateOfAnUnknownWebhookIsNotFoundWithoutCallingMutate) {
  const std::string id = MustCreate("acme");
  bool called = false;

  auto updated = webhooks().Update("other", id, [&](domain::WebhookRecord&) {
    called = true;
    return absl::OkStatus();
  });

  EXPECT_EQ(updated.status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(called);
}

TEST_P(StorageConformance, DeleteThenGetIsNotFound) {
  const std::string id = MustCreate("acme");

  ASSERT_TRUE(webhooks().Delete("acme", id).ok());

  EXPECT_EQ(webhooks().Get("acme", id).status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(webhooks().List("acme", "", 10)->webhooks, IsEmpty());
}

TEST_P(StorageConformance, DeleteTwiceIsNotFound) {
  const std::string id = MustCreate("acme");
  ASSERT_TRUE(webhooks().Delete("acme", id).ok());

  EXPECT_EQ(webhooks().Delete("acme", id).code(), absl::StatusCode::kNotFound);
}

TEST_P(StorageConformance, DeleteWithAnotherAccountIsNotFoundAndKeepsTheWebhook) {
  const std::string id = MustCreate("acme");

  EXPECT_EQ(webhooks().Delete("other", id).code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(webhooks().Get("acme", id).ok());
}

TEST_P(StorageConformance, WebhooksAndRequestIdsSurviveClosingAndReopening) {
  domain::WebhookRecord webhook = NewWebhook("acme");
  webhook.set_display_name("persisted");
  auto created = webhooks().Create(webhook, Options("req-1", "fp"));
  ASSERT_TRUE(created.ok()) << created.status();

  Reopen();

  auto got = webhooks().Get("acme", created->webhook.id());
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->display_name(), "persisted");
  auto retry = webhooks().Create(webhook, Options("req-1", "fp"));
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_FALSE(retry->created);
  EXPECT_EQ(retry->webhook.id(), created->webhook.id());
}

}  // namespace
}  // namespace wink::webhooks::storage::testing
