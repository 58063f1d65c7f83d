#include "service/auth/authenticator.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace wink::webhooks::auth {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr absl::string_view kAdminToken = "admin-token-7f3a";
constexpr absl::string_view kScopedToken = "scoped-token-91bc";

config::ServerConfig TestConfig() {
  config::ServerConfig config;
  auto* admin = config.add_tokens();
  admin->set_name("ops");
  admin->set_sha256(Sha256Hex(kAdminToken));
  admin->set_admin(true);
  auto* scoped = config.add_tokens();
  scoped->set_name("channel-manager");
  scoped->set_sha256(Sha256Hex(kScopedToken));
  scoped->add_accounts("hotel-1");
  scoped->add_accounts("hotel-2");
  return config;
}

TEST(Sha256HexTest, MatchesKnownDigests) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

class AuthenticatorTest : public ::testing::Test {
 protected:
  Authenticator authenticator_{TestConfig()};
};

TEST_F(AuthenticatorTest, MissingMetadataIsUnauthenticated) {
  auto principal = authenticator_.Authenticate({});
  EXPECT_EQ(principal.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(principal.status().message()), HasSubstr("missing authorization"));
}

TEST_F(AuthenticatorTest, NonBearerSchemeIsUnauthenticated) {
  for (absl::string_view value : {"Basic x", "Basic YWRtaW46cGFzcw==", "Token admin-token-7f3a",
                                  "Bearer", "Bearer ", "Bearertoken", "", "admin-token-7f3a"}) {
    auto principal = authenticator_.Authenticate({value});
    EXPECT_EQ(principal.status().code(), absl::StatusCode::kUnauthenticated) << value;
    EXPECT_THAT(std::string(principal.status().message()), HasSubstr("Bearer <token>")) << value;
  }
}

// sha256("") is what `printf %s "$UNSET" | sha256sum` gives; config
// validation refuses it, and even a config that has it must not let an empty
// token in.
TEST(AuthenticatorEmptyTokenTest, EmptyTokenNeverAuthenticates) {
  config::ServerConfig config;
  auto* token = config.add_tokens();
  token->set_name("unset-variable");
  token->set_sha256(Sha256Hex(""));
  token->set_admin(true);
  const Authenticator authenticator(config);
  for (absl::string_view value : {"Bearer  ", "Bearer \t", "bearer    "}) {
    auto principal = authenticator.Authenticate({value});
    EXPECT_EQ(principal.status().code(), absl::StatusCode::kUnauthenticated) << value;
  }
}

TEST_F(AuthenticatorTest, MoreThanOneAuthorizationValueIsUnauthenticated) {
  const std::string good = absl::StrCat("Bearer ", kAdminToken);
  for (const auto& values : {std::vector<absl::string_view>{good, "Bearer bad"},
                             std::vector<absl::string_view>{"Bearer bad", good},
                             std::vector<absl::string_view>{good, good}}) {
    auto principal = authenticator_.Authenticate(values);
    EXPECT_EQ(principal.status().code(), absl::StatusCode::kUnauthenticated);
    EXPECT_THAT(std::string(principal.status().message()), HasSubstr("exactly one"));
  }
}

TEST_F(AuthenticatorTest, UnknownTokenIsUnauthenticated) {
  auto principal = authenticator_.Authenticate({"Bearer wrong-token"});
  EXPECT_EQ(principal.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(principal.status().message()), HasSubstr("invalid bearer token"));
  EXPECT_THAT(std::string(principal.status().message()), Not(HasSubstr("wrong-token")));
}

TEST_F(AuthenticatorTest, TokenHashIsNotAValidToken) {
  // Knowing the config (the hash) must not let anyone in.
  auto principal = authenticator_.Authenticate({absl::StrCat("Bearer ", Sha256Hex(kAdminToken))});
  EXPECT_EQ(principal.status().code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(AuthenticatorTest, TokenIsCaseSensitive) {
  auto principal = authenticator_.Authenticate({"Bearer ADMIN-TOKEN-7F3A"});
  EXPECT_EQ(principal.status().code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(AuthenticatorTest, BearerTokenYieldsItsPrincipal) {
  auto principal = authenticator_.Authenticate({absl::StrCat("Bearer ", kScopedToken)});
  ASSERT_TRUE(principal.ok()) << principal.status();
  EXPECT_EQ((*principal)->name(), "channel-manager");
  EXPECT_FALSE((*principal)->admin());
}

TEST_F(AuthenticatorTest, SchemeIsCaseInsensitive) {
  for (absl::string_view scheme : {"bearer ", "BEARER ", "bEaReR "}) {
    auto principal = authenticator_.Authenticate({absl::StrCat(scheme, kAdminToken)});
    ASSERT_TRUE(principal.ok()) << scheme << principal.status();
    EXPECT_EQ((*principal)->name(), "ops");
    EXPECT_TRUE((*principal)->admin());
  }
}

TEST_F(AuthenticatorTest, SurroundingWhitespaceAroundTheTokenIsIgnored) {
  auto principal = authenticator_.Authenticate({absl::StrCat("Bearer  ", kAdminToken, " ")});
  ASSERT_TRUE(principal.ok()) << principal.status();
  EXPECT_EQ((*principal)->name(), "ops");
}

TEST_F(AuthenticatorTest, SamePrincipalObjectIsReturnedEveryTime) {
  auto first = authenticator_.Authenticate({absl::StrCat("Bearer ", kAdminToken)});
  auto second = authenticator_.Authenticate({absl::StrCat("Bearer ", kAdminToken)});
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(*first, *second);
}

TEST_F(AuthenticatorTest, NoTokensConfiguredRejectsEverything) {
  const Authenticator empty{config::ServerConfig()};
  EXPECT_EQ(empty.Authenticate({"Bearer anything"}).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(AuthenticatorTest, ScopedTokenMayActOnlyOnItsAccounts) {
  auto principal = authenticator_.Authenticate({absl::StrCat("Bearer ", kScopedToken)});
  ASSERT_TRUE(principal.ok());

  EXPECT_TRUE((*principal)->CheckAccess("hotel-1").ok());
  EXPECT_TRUE((*principal)->CheckAccess("hotel-2").ok());
  for (absl::string_view account : {"hotel-3", "hotel", "hotel-10", "HOTEL-1", ""}) {
    const absl::Status status = (*principal)->CheckAccess(account);
    EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied) << account;
    // Names the account, but neither the token nor the configured token names.
    EXPECT_THAT(std::string(status.message()), HasSubstr(absl::StrCat("\"", account, "\"")));
    EXPECT_THAT(std::string(status.message()), Not(HasSubstr("channel-manager"))) << account;
    EXPECT_THAT(std::string(status.message()), Not(HasSubstr(kScopedToken))) << account;
  }
}

TEST_F(AuthenticatorTest, AdminMayActOnEveryAccount) {
  auto principal = authenticator_.Authenticate({absl::StrCat("Bearer ", kAdminToken)});
  ASSERT_TRUE(principal.ok());

  for (absl::string_view account : {"hotel-1", "hotel-3", "anything"}) {
    EXPECT_TRUE((*principal)->CheckAccess(account).ok()) << account;
  }
}

TEST(PrincipalTest, AdminFlagOverridesAnEmptyAccountList) {
  const Principal admin("root", /*admin=*/true, {});
  const Principal nobody("nobody", /*admin=*/false, {});
  EXPECT_TRUE(admin.CheckAccess("x").ok());
  EXPECT_EQ(nobody.CheckAccess("x").code(), absl::StatusCode::kPermissionDenied);
}

}  // namespace
}  // namespace wink::webhooks::auth
