// Conformance: applications (service/storage/application_store.h): create
// with caller-chosen ids and the per-account limit, get, list pages within
// an account and across accounts, update, delete, and durability across a
// reopen.
//
// Ids and accounts here deliberately differ in length ("b" vs "acme",
// "alpha" vs "bravo-2"): the contract orders them bytewise, which an
// encoding that puts shorter strings first would not.
#include <algorithm>
#include <atomic>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/storage/application_store.h"
#include "service/storage/records.h"
#include "tests/storage/conformance/storage_conformance.h"

namespace wink::webhooks::storage::testing {
namespace {

using ::wink::webhooks::internal::v1::ApplicationKeyRecord;

// An application with every field set, keys whose hashes hold the bytes a
// text column would mangle (NUL, 0xff).
ApplicationRecord NewApplication(absl::string_view account, absl::string_view id, int64_t now_us) {
  ApplicationRecord application;
  application.set_account(std::string(account));
  application.set_id(std::string(id));
  application.set_display_name(absl::StrCat("App ", id, " \xc3\xa9t\xc3\xa9"));  // "été"
  application.set_description("Line one\nline two\twith a tab");
  application.add_scopes(1);
  application.add_scopes(3);
  application.set_expire_time_us(now_us + 86'400'000'000);
  application.set_create_time_us(now_us);
  application.set_update_time_us(now_us + 1);
  application.set_last_used_time_us(now_us + 2);
  application.set_revoke_time_us(0);
  ApplicationKeyRecord* current = application.add_keys();
  std::string hash(32, '\0');
  for (int i = 0; i < 32; ++i) hash[i] = static_cast<char>(255 - 8 * i);
  hash[5] = '\0';
  current->set_sha256(hash);
  current->set_prefix("wak_AbCd1234");
  current->set_create_time_us(now_us);
  ApplicationKeyRecord* previous = application.add_keys();
  previous->set_sha256(std::string(32, '\xff'));
  previous->set_prefix("wak_ZzYy9876");
  previous->set_create_time_us(now_us - 1000);
  previous->set_expire_time_us(now_us + 3'600'000'000);
  return application;
}

std::vector<std::string> AppIds(const std::vector<ApplicationRecord>& applications) {
  std::vector<std::string> ids;
  for (const ApplicationRecord& application : applications) ids.push_back(application.id());
  return ids;
}

// "account/id" of each.
std::vector<std::string> Names(const std::vector<ApplicationRecord>& applications) {
  std::vector<std::string> names;
  for (const ApplicationRecord& application : applications) {
    names.push_back(absl::StrCat(application.account(), "/", application.id()));
  }
  return names;
}

// The record as the store must hand it back: as given, with the version set.
ApplicationRecord AsStored(ApplicationRecord application) {
  application.set_version(kApplicationRecordVersion);
  return application;
}

TEST_P(StorageConformance, ApplicationCreateThenGetReturnsEveryFieldWithTheVersionSet) {
  const ApplicationRecord application = NewApplication("acme", "billing-sync", NowUs());
  ASSERT_EQ(application.version(), 0u);

  ASSERT_TRUE(applications().Create(application).ok());

  auto got = applications().Get("acme", "billing-sync");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->version(), kApplicationRecordVersion);
  EXPECT_EQ(got->SerializeAsString(), AsStored(application).SerializeAsString());
  ASSERT_EQ(got->keys_size(), 2);
  EXPECT_EQ(got->keys(0).sha256(), application.keys(0).sha256()) << "binary hash intact";
  EXPECT_EQ(got->keys(0).sha256().size(), 32u);
  EXPECT_EQ(got->display_name(), "App billing-sync \xc3\xa9t\xc3\xa9");
  EXPECT_THAT(got->scopes(), ElementsAre(1, 3));
}

TEST_P(StorageConformance, ApplicationCreateOfATakenIdIsAlreadyExistsAndKeepsTheFirst) {
  const ApplicationRecord first = NewApplication("acme", "ci", NowUs());
  ASSERT_TRUE(applications().Create(first).ok());
  ApplicationRecord second = NewApplication("acme", "ci", NowUs() + 5);
  second.set_display_name("Impostor");
  second.mutable_keys(0)->set_sha256(std::string(32, 'x'));

  const absl::Status status = applications().Create(second);

  EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(std::string(status.message()), HasSubstr("ci"));
  auto got = applications().Get("acme", "ci");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->SerializeAsString(), AsStored(first).SerializeAsString());
  EXPECT_THAT(AppIds(applications().List("acme", "", 10)->applications), ElementsAre("ci"));
}

TEST_P(StorageConformance, ApplicationIdsAreTakenOnlyWithinTheirAccount) {
  ApplicationRecord in_acme = NewApplication("acme", "ci", NowUs());
  ApplicationRecord in_acme_2 = NewApplication("acme-2", "ci", NowUs());
  in_acme_2.set_display_name("The other CI");
  ASSERT_TRUE(applications().Create(in_acme).ok());
  ASSERT_TRUE(applications().Create(in_acme_2).ok());

  EXPECT_EQ(applications().Get("acme", "ci")->display_name(), in_acme.display_name());
  EXPECT_EQ(applications().Get("acme-2", "ci")->display_name(), "The other CI");
  EXPECT_EQ(applications().Get("acm", "ci").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(applications().Get("acme-", "ci").status().code(), absl::StatusCode::kNotFound);
}

TEST_P(StorageConformance, ApplicationCreateBeyondTheAccountLimitIsResourceExhausted) {
  ASSERT_EQ(kMaxApplicationsPerAccount, 100);
  std::vector<std::string> ids;
  for (int i = 0; i < kMaxApplicationsPerAccount; ++i) {
    ids.push_back(absl::StrFormat("app-%03d", i));
    ASSERT_TRUE(applications().Create(NewApplication("acme", ids.back(), NowUs())).ok()) << i;
  }

  const absl::Status status =
      applications().Create(NewApplication("acme", "one-too-many", NowUs()));

  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(status.message()), HasSubstr("acme"));
  EXPECT_EQ(applications().Get("acme", "one-too-many").status().code(),
            absl::StatusCode::kNotFound);
  auto page = applications().List("acme", "", 1000);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(AppIds(page->applications), ids);
  EXPECT_FALSE(page->has_more);

  // Other accounts, even one whose name starts with this one's, have room.
  EXPECT_TRUE(applications().Create(NewApplication("acme-2", "first", NowUs())).ok());
  EXPECT_TRUE(applications().Create(NewApplication("acm", "first", NowUs())).ok());

  // A deletion makes room again.
  ASSERT_TRUE(applications().Delete("acme", "app-042").ok());
  EXPECT_TRUE(applications().Create(NewApplication("acme", "one-too-many", NowUs())).ok());
  EXPECT_EQ(applications().Create(NewApplication("acme", "two-too-many", NowUs())).code(),
            absl::StatusCode::kResourceExhausted);
}

// Creates racing for the last places: exactly the places left are taken.
TEST_P(StorageConformance, ApplicationConcurrentCreatesNeverExceedTheLimit) {
  constexpr int kLeft = 3;
  for (int i = 0; i < kMaxApplicationsPerAccount - kLeft; ++i) {
    ASSERT_TRUE(applications()
                    .Create(NewApplication("acme", absl::StrFormat("app-%03d", i), NowUs()))
                    .ok());
  }
  constexpr int kRacers = 8;
  std::atomic<int> created{0}, exhausted{0}, other{0};
  std::vector<std::thread> racers;
  for (int t = 0; t < kRacers; ++t) {
    racers.emplace_back([&, t] {
      const absl::Status status =
          applications().Create(NewApplication("acme", absl::StrCat("racer-", t), NowUs()));
      if (status.ok()) {
        ++created;
      } else if (status.code() == absl::StatusCode::kResourceExhausted) {
        ++exhausted;
      } else {
        ++other;
        ADD_FAILURE() << status;
      }
    });
  }
  for (std::thread& racer : racers) racer.join();

  EXPECT_EQ(created.load(), kLeft);
  EXPECT_EQ(exhausted.load(), kRacers - kLeft);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(applications().List("acme", "", 1000)->applications.size(),
            static_cast<size_t>(kMaxApplicationsPerAccount));
}

// Creates racing for one id: one wins, the others see it.
TEST_P(StorageConformance, ApplicationConcurrentCreatesOfOneIdStoreOne) {
  constexpr int kRacers = 6;
  std::atomic<int> created{0}, already_exists{0};
  std::vector<std::thread> racers;
  for (int t = 0; t < kRacers; ++t) {
    racers.emplace_back([&, t] {
      ApplicationRecord application = NewApplication("acme", "ci", NowUs());
      application.set_display_name(absl::StrCat("racer ", t));
      const absl::Status status = applications().Create(application);
      if (status.ok()) {
        ++created;
      } else {
        EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists) << status;
        ++already_exists;
      }
    });
  }
  for (std::thread& racer : racers) racer.join();

  EXPECT_EQ(created.load(), 1);
  EXPECT_EQ(already_exists.load(), kRacers - 1);
  EXPECT_THAT(AppIds(applications().List("acme", "", 10)->applications), ElementsAre("ci"));
}

TEST_P(StorageConformance, ApplicationGetUpdateDeleteOfAMissingOneAreNotFound) {
  ASSERT_TRUE(applications().Create(NewApplication("acme-2", "ghost", NowUs())).ok());

  const auto got = applications().Get("acme", "ghost");
  EXPECT_EQ(got.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(got.status().message()), HasSubstr("ghost"));

  bool mutate_ran = false;
  const auto updated = applications().Update("acme", "ghost", [&](ApplicationRecord& application) {
    mutate_ran = true;
    return absl::OkStatus();
  });
  EXPECT_EQ(updated.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(updated.status().message()), HasSubstr("ghost"));
  EXPECT_FALSE(mutate_ran);

  const absl::Status deleted = applications().Delete("acme", "ghost");
  EXPECT_EQ(deleted.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(deleted.message()), HasSubstr("ghost"));

  EXPECT_TRUE(applications().Get("acme-2", "ghost").ok()) << "the other account's is untouched";
}

TEST_P(StorageConformance, ApplicationListOfAnEmptyAccountIsEmpty) {
  ASSERT_TRUE(applications().Create(NewApplication("acme-2", "ci", NowUs())).ok());

  auto page = applications().List("acme", "", 10);

  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_THAT(page->applications, IsEmpty());
  EXPECT_FALSE(page->has_more);
}

TEST_P(StorageConformance, ApplicationListPagesThroughTheAccountInIdOrder) {
  // Created out of order, ids of different lengths.
  for (const std::string id : {"delta", "alpha", "charlie-long-name", "bravo", "b", "echo"}) {
    ASSERT_TRUE(applications().Create(NewApplication("acme", id, NowUs())).ok()) << id;
  }
  // Neighbouring accounts, one a prefix of the other, one that sorts between.
  for (const std::string account : {"acm", "acme-2", "acme0", "acmf"}) {
    ASSERT_TRUE(applications().Create(NewApplication(account, "aaa", NowUs())).ok());
    ASSERT_TRUE(applications().Create(NewApplication(account, "zzz", NowUs())).ok());
  }

  auto first = applications().List("acme", "", 2);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_THAT(AppIds(first->applications), ElementsAre("alpha", "b"));
  EXPECT_TRUE(first->has_more);

  auto second = applications().List("acme", "b", 2);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_THAT(AppIds(second->applications), ElementsAre("bravo", "charlie-long-name"));
  EXPECT_TRUE(second->has_more);

  auto third = applications().List("acme", "charlie-long-name", 2);
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_THAT(AppIds(third->applications), ElementsAre("delta", "echo"));
  EXPECT_FALSE(third->has_more) << "exactly `limit` left: no more";

  auto whole = applications().List("acme", "", 6);
  ASSERT_TRUE(whole.ok()) << whole.status();
  EXPECT_THAT(AppIds(whole->applications),
              ElementsAre("alpha", "b", "bravo", "charlie-long-name", "delta", "echo"));
  EXPECT_FALSE(whole->has_more);
  for (const ApplicationRecord& application : whole->applications) {
    EXPECT_EQ(application.account(), "acme");
  }

  // `after_id` need not exist: the page starts at the next id.
  auto from_gap = applications().List("acme", "bb", 10);
  ASSERT_TRUE(from_gap.ok()) << from_gap.status();
  EXPECT_THAT(AppIds(from_gap->applications),
              ElementsAre("bravo", "charlie-long-name", "delta", "echo"));
  auto past_end = applications().List("acme", "echo", 10);
  ASSERT_TRUE(past_end.ok()) << past_end.status();
  EXPECT_THAT(past_end->applications, IsEmpty());
  EXPECT_FALSE(past_end->has_more);

  auto neighbour = applications().List("acme-2", "", 10);
  ASSERT_TRUE(neighbour.ok()) << neighbour.status();
  EXPECT_THAT(Names(neighbour->applications), ElementsAre("acme-2/aaa", "acme-2/zzz"));
  auto prefix = applications().List("acm", "", 10);
  ASSERT_TRUE(prefix.ok()) << prefix.status();
  EXPECT_THAT(Names(prefix->applications), ElementsAre("acm/aaa", "acm/zzz"));
}

TEST_P(StorageConformance, ApplicationListAllPagesByAccountThenIdVisitingEachOnce) {
  // (account, id) pairs created out of order; accounts of different lengths.
  const std::vector<std::pair<std::string, std::string>> created = {
      {"b", "zz"},      {"acme", "z"}, {"acme-2", "a"},  {"acme", "alpha"}, {"b", "a"},
      {"acme", "beta"}, {"acm", "m"},  {"acme-2", "bb"}, {"acme", "ab"},
  };
  for (const auto& [account, id] : created) {
    ASSERT_TRUE(applications().Create(NewApplication(account, id, NowUs())).ok());
  }
  const std::vector<std::string> expected = {
      "acm/m",    "acme/ab",   "acme/alpha", "acme/beta", "acme/z",
      "acme-2/a", "acme-2/bb", "b/a",        "b/zz",
  };

  for (const int limit : {1, 2, 4, 9}) {
    SCOPED_TRACE(absl::StrCat("limit ", limit));
    std::vector<std::string> seen;
    std::optional<ApplicationPosition> after;
    int pages = 0;
    while (true) {
      ASSERT_LT(++pages, 20);
      auto page = applications().ListAll(after, limit);
      ASSERT_TRUE(page.ok()) << page.status();
      ASSERT_LE(page->applications.size(), static_cast<size_t>(limit));
      for (const std::string& name : Names(page->applications)) seen.push_back(name);
      if (!page->has_more) break;
      ASSERT_EQ(page->applications.size(), static_cast<size_t>(limit)) << "a short page has more";
      after =
          ApplicationPosition{page->applications.back().account(), page->applications.back().id()};
    }
    EXPECT_EQ(seen, expected);
  }

  auto all = applications().ListAll(std::nullopt, 100);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(Names(all->applications), expected);
  EXPECT_FALSE(all->has_more);
  for (const ApplicationRecord& application : all->applications) {
    EXPECT_EQ(application.version(), kApplicationRecordVersion);
  }

  // A position that names no application starts at the next one.
  auto from_gap = applications().ListAll(ApplicationPosition{"acme", "b"}, 3);
  ASSERT_TRUE(from_gap.ok()) << from_gap.status();
  EXPECT_THAT(Names(from_gap->applications), ElementsAre("acme/beta", "acme/z", "acme-2/a"));
  EXPECT_TRUE(from_gap->has_more);
}

TEST_P(StorageConformance, ApplicationListAllOfAnEmptyStoreIsEmpty) {
  auto all = applications().ListAll(std::nullopt, 10);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_THAT(all->applications, IsEmpty());
  EXPECT_FALSE(all->has_more);
}

TEST_P(StorageConformance, ApplicationUpdateAppliesMutateAndReturnsWhatItWrote) {
  const ApplicationRecord original = NewApplication("acme", "ci", NowUs());
  ASSERT_TRUE(applications().Create(original).ok());
  ASSERT_TRUE(applications().Create(NewApplication("acme", "other", NowUs())).ok());
  const std::string new_hash(32, '\x01');

  auto updated = applications().Update("acme", "ci", [&](ApplicationRecord& application) {
    // Sees what is stored.
    EXPECT_EQ(application.SerializeAsString(), AsStored(original).SerializeAsString());
    application.set_display_name("Renamed");
    application.set_revoke_time_us(NowUs() + 7);
    application.mutable_keys(0)->set_sha256(new_hash);
    application.mutable_keys()->RemoveLast();
    return absl::OkStatus();
  });

  ASSERT_TRUE(updated.ok()) << updated.status();
  ApplicationRecord expected = AsStored(original);
  expected.set_display_name("Renamed");
  expected.set_revoke_time_us(NowUs() + 7);
  expected.mutable_keys(0)->set_sha256(new_hash);
  expected.mutable_keys()->RemoveLast();
  EXPECT_EQ(updated->SerializeAsString(), expected.SerializeAsString());
  auto got = applications().Get("acme", "ci");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->SerializeAsString(), expected.SerializeAsString());
  EXPECT_EQ(applications().Get("acme", "other")->display_name(), "App other \xc3\xa9t\xc3\xa9")
      << "only the one updated";
}

TEST_P(StorageConformance, ApplicationUpdateWhoseMutateFailsWritesNothing) {
  const ApplicationRecord original = NewApplication("acme", "ci", NowUs());
  ASSERT_TRUE(applications().Create(original).ok());

  auto updated = applications().Update("acme", "ci", [&](ApplicationRecord& application) {
    application.set_display_name("Half done");
    application.clear_keys();
    return absl::FailedPreconditionError("the application is revoked");
  });

  EXPECT_EQ(updated.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(updated.status().message(), "the application is revoked");
  auto got = applications().Get("acme", "ci");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->SerializeAsString(), AsStored(original).SerializeAsString());
}

// Read, mutate and write are one step: concurrent updates lose nothing.
TEST_P(StorageConformance, ApplicationConcurrentUpdatesLoseNothing) {
  ApplicationRecord application = NewApplication("acme", "ci", NowUs());
  application.set_last_used_time_us(0);
  ASSERT_TRUE(applications().Create(application).ok());
  constexpr int kThreads = 4;
  constexpr int kEach = 10;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        auto updated = applications().Update("acme", "ci", [](ApplicationRecord& record) {
          record.set_last_used_time_us(record.last_used_time_us() + 1);
          return absl::OkStatus();
        });
        EXPECT_TRUE(updated.ok()) << updated.status();
      }
    });
  }
  for (std::thread& thread : threads) thread.join();

  EXPECT_EQ(applications().Get("acme", "ci")->last_used_time_us(), kThreads * kEach);
}

TEST_P(StorageConformance, ApplicationDeleteRemovesItAndFreesTheId) {
  ASSERT_TRUE(applications().Create(NewApplication("acme", "ci", NowUs())).ok());
  ASSERT_TRUE(applications().Create(NewApplication("acme", "cj", NowUs())).ok());
  ASSERT_TRUE(applications().Create(NewApplication("acme-2", "ci", NowUs())).ok());

  ASSERT_TRUE(applications().Delete("acme", "ci").ok());

  EXPECT_EQ(applications().Get("acme", "ci").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(applications().Delete("acme", "ci").code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(AppIds(applications().List("acme", "", 10)->applications), ElementsAre("cj"));
  EXPECT_TRUE(applications().Get("acme-2", "ci").ok()) << "same id, other account: kept";

  ApplicationRecord again = NewApplication("acme", "ci", NowUs() + 100);
  again.set_display_name("Second life");
  ASSERT_TRUE(applications().Create(again).ok());
  auto got = applications().Get("acme", "ci");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->SerializeAsString(), AsStored(again).SerializeAsString());
}

TEST_P(StorageConformance, ApplicationsSurviveAReopen) {
  const ApplicationRecord kept = NewApplication("acme", "kept", NowUs());
  ASSERT_TRUE(applications().Create(kept).ok());
  ASSERT_TRUE(applications().Create(NewApplication("acme", "gone", NowUs())).ok());
  ASSERT_TRUE(applications().Create(NewApplication("beta", "changed", NowUs())).ok());
  ASSERT_TRUE(applications().Delete("acme", "gone").ok());
  auto changed = applications().Update("beta", "changed", [](ApplicationRecord& application) {
    application.set_description("after the update");
    return absl::OkStatus();
  });
  ASSERT_TRUE(changed.ok()) << changed.status();

  Reopen();

  auto got = applications().Get("acme", "kept");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->SerializeAsString(), AsStored(kept).SerializeAsString());
  EXPECT_EQ(applications().Get("acme", "gone").status().code(), absl::StatusCode::kNotFound);
  auto got_changed = applications().Get("beta", "changed");
  ASSERT_TRUE(got_changed.ok()) << got_changed.status();
  EXPECT_EQ(got_changed->SerializeAsString(), changed->SerializeAsString());
  auto all = applications().ListAll(std::nullopt, 10);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_THAT(Names(all->applications), ElementsAre("acme/kept", "beta/changed"));
}

}  // namespace
}  // namespace wink::webhooks::storage::testing
