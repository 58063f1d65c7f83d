#include "service/auth/key_registry.h"

#include <atomic>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/escaping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/auth/authenticator.h"
#include "tests/fakes/fake_clock.h"

namespace wink::webhooks::auth {
namespace {

using ::testing::HasSubstr;

// SHA-256 of `key`, as the registry stores it.
std::string Hash(absl::string_view key) { return absl::HexStringToBytes(Sha256Hex(key)); }

ApplicationCredentials App(std::string account, std::string id, std::vector<std::string> keys,
                           absl::Time not_after = absl::InfiniteFuture(), uint32_t scopes = 0) {
  ApplicationCredentials app;
  app.account = std::move(account);
  app.id = std::move(id);
  app.scopes = scopes;
  for (const std::string& key : keys) app.keys.push_back({Hash(key), not_after});
  return app;
}

TEST(KeyRegistryTest, AnInstalledKeyIsFoundWithItsApplication) {
  KeyRegistry registry;
  registry.Install(App("acme", "pms", {"wak_one"}));
  auto principal = registry.Find(Hash("wak_one"));
  ASSERT_NE(principal, nullptr);
  EXPECT_EQ(principal->name(), "application accounts/acme/applications/pms");
  EXPECT_EQ(principal->application_account(), "acme");
  EXPECT_EQ(principal->application_id(), "pms");
  EXPECT_TRUE(principal->CheckAccess("acme").ok());
  EXPECT_EQ(principal->CheckAccess("acme-2").code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(registry.Find(Hash("wak_other")), nullptr);
  EXPECT_EQ(registry.Find("short"), nullptr);
}

TEST(KeyRegistryTest, ReinstallingKeepsThePrincipalAndEndsDroppedKeysForTheirHolders) {
  KeyRegistry registry;
  int shortened = 0;
  registry.AddShortenedListener([&] { ++shortened; });
  registry.Install(App("acme", "pms", {"wak_old"}));
  std::shared_ptr<const Principal> held = registry.Find(Hash("wak_old"));
  ASSERT_NE(held, nullptr);
  EXPECT_EQ(shortened, 0);

  // A rotation with an overlap: the old key works until then, same object.
  const absl::Time overlap_end = absl::FromUnixSeconds(2000000000);
  ApplicationCredentials rotated = App("acme", "pms", {"wak_new"});
  rotated.keys.push_back({Hash("wak_old"), overlap_end});
  registry.Install(rotated);
  EXPECT_EQ(registry.Find(Hash("wak_old")), held);
  EXPECT_EQ(held->not_after(), overlap_end);
  EXPECT_EQ(shortened, 1);
  EXPECT_EQ(registry.key_count(), 2u);

  // Rotated again: the old key is dropped and whoever holds it sees it end.
  registry.Install(App("acme", "pms", {"wak_newer"}));
  EXPECT_EQ(registry.Find(Hash("wak_old")), nullptr);
  EXPECT_EQ(registry.Find(Hash("wak_new")), nullptr);
  EXPECT_FALSE(held->ValidAt(absl::FromUnixSeconds(0)));
  EXPECT_EQ(shortened, 2);
}

TEST(KeyRegistryTest, RemoveAndReplaceAllEndEveryKeyOfTheApplicationsGone) {
  KeyRegistry registry;
  registry.Install(App("acme", "pms", {"wak_a"}));
  registry.Install(App("acme", "crm", {"wak_b"}));
  auto a = registry.Find(Hash("wak_a"));
  auto b = registry.Find(Hash("wak_b"));
  registry.Remove("acme", "pms");
  EXPECT_EQ(registry.Find(Hash("wak_a")), nullptr);
  EXPECT_FALSE(a->ValidAt(absl::Now()));
  EXPECT_TRUE(b->ValidAt(absl::Now()));

  registry.ReplaceAll({App("other", "x", {"wak_c"})});
  EXPECT_EQ(registry.Find(Hash("wak_b")), nullptr);
  EXPECT_FALSE(b->ValidAt(absl::Now()));
  EXPECT_NE(registry.Find(Hash("wak_c")), nullptr);
  EXPECT_EQ(registry.key_count(), 1u);
}

TEST(PrincipalScopeTest, ScopesAllowWhatTheyNameAndManageImpliesRead) {
  const uint32_t publish_only = 1u << static_cast<int>(Scope::kPublish);
  const uint32_t manage = 1u << static_cast<int>(Scope::kManage);
  const Principal publisher("p", "acme", "pub", publish_only, absl::InfiniteFuture());
  const Principal manager("m", "acme", "man", manage, absl::InfiniteFuture());
  const Principal everything("e", "acme", "all", 0, absl::InfiniteFuture());

  EXPECT_TRUE(publisher.CheckScope(Scope::kPublish, "PublishEvent").ok());
  const absl::Status refused = publisher.CheckScope(Scope::kRead, "ListWebhooks");
  EXPECT_EQ(refused.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(refused.message(), "ListWebhooks needs SCOPE_READ, which this key does not have");
  EXPECT_TRUE(manager.CheckScope(Scope::kRead, "ListWebhooks").ok());
  EXPECT_EQ(manager.CheckScope(Scope::kPublish, "PublishEvent").code(),
            absl::StatusCode::kPermissionDenied);
  for (Scope scope : {Scope::kRead, Scope::kPublish, Scope::kManage}) {
    EXPECT_TRUE(everything.CheckScope(scope, "M").ok());
  }
}

class AuthenticatorWithKeysTest : public ::testing::Test {
 protected:
  AuthenticatorWithKeysTest() : authenticator_(config::ServerConfig(), &registry_, clock_) {
    authenticator_.SetUseRecorder([this](const Principal& key, absl::Time when) {
      uses_.push_back(absl::StrCat(key.application_id(), "@", absl::ToUnixSeconds(when)));
    });
  }

  testing::FakeClock clock_;
  KeyRegistry registry_;
  Authenticator authenticator_;
  std::vector<std::string> uses_;
};

TEST_F(AuthenticatorWithKeysTest, AWorkingKeyAuthenticatesAndItsUseIsRecordedOnceAMinute) {
  registry_.Install(App("acme", "pms", {"wak_key"}));
  for (int i = 0; i < 3; ++i) {
    auto principal = authenticator_.Authenticate({"Bearer wak_key"});
    ASSERT_TRUE(principal.ok()) << principal.status();
    EXPECT_EQ((*principal)->application_id(), "pms");
  }
  const int64_t first = absl::ToUnixSeconds(clock_.Now());
  clock_.Advance(absl::Seconds(59));
  ASSERT_TRUE(authenticator_.Authenticate({"Bearer wak_key"}).ok());
  clock_.Advance(absl::Seconds(1));
  ASSERT_TRUE(authenticator_.Authenticate({"Bearer wak_key"}).ok());
  EXPECT_THAT(uses_, ::testing::ElementsAre(absl::StrCat("pms@", first),
                                            absl::StrCat("pms@", first + 60)));
}

TEST_F(AuthenticatorWithKeysTest, AKeyPastItsEndIsRefusedAndAnUnknownOneIsInvalid) {
  registry_.Install(App("acme", "pms", {"wak_key"}, clock_.Now() + absl::Hours(1)));
  ASSERT_TRUE(authenticator_.Authenticate({"Bearer wak_key"}).ok());
  clock_.Advance(absl::Hours(1));
  const auto expired = authenticator_.Authenticate({"Bearer wak_key"});
  EXPECT_EQ(expired.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(expired.status().message()), HasSubstr("revoked, rotated out or has expired"));
  const auto unknown = authenticator_.Authenticate({"Bearer wak_nope"});
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(unknown.status().message(), "invalid bearer token");
}

}  // namespace
}  // namespace wink::webhooks::auth
