#include "service/secrets/keyring.h"

#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace wink::webhooks::secrets {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string KeyLine(const std::string& id, char fill) {
  return absl::StrCat(id, " ", absl::Base64Escape(std::string(kMasterKeyBytes, fill)), "\n");
}

Keyring MustParse(const std::string& text) {
  auto keyring = Keyring::Parse(text, "test.key");
  EXPECT_TRUE(keyring.ok()) << keyring.status();
  return keyring.ok() ? *std::move(keyring) : Keyring();
}

TEST(KeyringTest, SealsWithTheFirstKeyAndOpensWithTheSameContext) {
  const Keyring keyring = MustParse("# keys\n\n" + KeyLine("k2", 'b') + KeyLine("k1", 'a'));
  EXPECT_TRUE(keyring.has_keys());
  EXPECT_EQ(keyring.sealing_key_id(), "k2");
  auto sealed = keyring.Seal("whsec-bytes", "account acme");
  ASSERT_TRUE(sealed.ok()) << sealed.status();
  EXPECT_THAT(*sealed, Not(HasSubstr("whsec-bytes")));
  EXPECT_EQ(Keyring::KeyIdOf(*sealed), "k2");
  auto opened = keyring.Open(*sealed, "account acme");
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(*opened, "whsec-bytes");
  // A fresh nonce each time: equal plaintexts do not look equal on disk.
  EXPECT_NE(*keyring.Seal("whsec-bytes", "account acme"), *sealed);
  // The empty value round-trips too (a header may be empty).
  EXPECT_EQ(*keyring.Open(*keyring.Seal("", "c"), "c"), "");
}

TEST(KeyringTest, AValueMovedToAnotherContextOrAlteredDoesNotOpen) {
  const Keyring keyring = MustParse(KeyLine("k1", 'a'));
  const std::string sealed = *keyring.Seal("secret", "account acme");
  EXPECT_EQ(keyring.Open(sealed, "account other").status().code(), absl::StatusCode::kDataLoss);
  for (size_t i = 0; i < sealed.size(); ++i) {
    std::string altered = sealed;
    altered[i] ^= 0x01;
    const absl::Status status = keyring.Open(altered, "account acme").status();
    EXPECT_FALSE(status.ok()) << "byte " << i;
  }
  EXPECT_EQ(keyring.Open("", "account acme").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(keyring.Open(sealed.substr(0, 10), "account acme").status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(KeyringTest, RotationOpensOldValuesAndAMissingKeyIsNamed) {
  const Keyring old_keys = MustParse(KeyLine("k1", 'a'));
  const std::string sealed_by_k1 = *old_keys.Seal("secret", "c");
  const Keyring rotated = MustParse(KeyLine("k2", 'b') + KeyLine("k1", 'a'));
  EXPECT_EQ(*rotated.Open(sealed_by_k1, "c"), "secret");
  EXPECT_EQ(Keyring::KeyIdOf(*rotated.Seal("secret", "c")), "k2");

  const Keyring only_k2 = MustParse(KeyLine("k2", 'b'));
  const absl::Status missing = only_k2.Open(sealed_by_k1, "c").status();
  EXPECT_EQ(missing.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(missing.message(), HasSubstr("key \"k1\""));
  // The same id with other key bytes: it does not authenticate.
  const Keyring impostor = MustParse(KeyLine("k1", 'z'));
  EXPECT_EQ(impostor.Open(sealed_by_k1, "c").status().code(), absl::StatusCode::kDataLoss);
}

TEST(KeyringTest, WithoutKeysNothingIsSealedOrOpened) {
  const Keyring none;
  EXPECT_FALSE(none.has_keys());
  EXPECT_EQ(none.sealing_key_id(), "");
  EXPECT_EQ(none.Seal("x", "c").status().code(), absl::StatusCode::kFailedPrecondition);
  const std::string sealed = *MustParse(KeyLine("k1", 'a')).Seal("x", "c");
  const absl::Status status = none.Open(sealed, "c").status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("--secrets_key_file"));
}

TEST(KeyringTest, MalformedFilesAreRefusedWithTheLineAndNeverTheKey) {
  const std::string short_key = absl::Base64Escape("sixteen-byte-key");
  struct Case {
    std::string text;
    std::string message;
  } cases[] = {
      {"", "test.key holds no key"},
      {"# only a comment\n", "test.key holds no key"},
      {"k1\n", "test.key:1: expected \"<key id> <base64 of 32 bytes>\""},
      {KeyLine("k1", 'a') + "k2 " + short_key + "\n", "test.key:2: the key must be the base64 of exactly 32 bytes"},
      {"k1 not*base64\n", "test.key:1: the key must be"},
      {KeyLine("bad id!", 'a'), "test.key:1: expected"},
      {KeyLine("bad/id", 'a'), "test.key:1: the key id must be 1-32 of [A-Za-z0-9._-]"},
      {KeyLine(std::string(33, 'k'), 'a'), "test.key:1: the key id must be"},
      {KeyLine("k1", 'a') + KeyLine("k1", 'b'), "test.key:2: key id \"k1\" appears twice"},
  };
  for (const Case& c : cases) {
    const absl::Status status = Keyring::Parse(c.text, "test.key").status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.text;
    EXPECT_THAT(status.message(), HasSubstr(c.message)) << c.text;
    EXPECT_THAT(status.message(), HasSubstr("secrets_key_file: ")) << c.text;
    EXPECT_THAT(status.message(), Not(HasSubstr(short_key)));
  }
  const absl::Status missing = Keyring::LoadFile("/nonexistent/secrets.key").status();
  EXPECT_EQ(missing.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(missing.message(), HasSubstr("cannot read \"/nonexistent/secrets.key\""));
}

TEST(KeyringTest, AcceptsTabsAndCarriageReturns) {
  const std::string key = absl::Base64Escape(std::string(kMasterKeyBytes, 'q'));
  const Keyring keyring = MustParse("  k.1_a-B\t" + key + "\r\n");
  EXPECT_EQ(keyring.sealing_key_id(), "k.1_a-B");
}

}  // namespace
}  // namespace wink::webhooks::secrets
