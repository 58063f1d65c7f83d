// The `tls` fields and --tls_* flags of the server config, with real PEM
// files of a throw-away CA, and the rule that a plaintext listener stays on
// loopback unless allow_plaintext_non_loopback says otherwise.
#include "service/config/listener_tls.h"

#include <fstream>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/config/server_config.h"
#include "tests/fakes/temp_dir.h"
#include "tests/fakes/test_certificates.h"

namespace wink::webhooks::config {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using ::wink::webhooks::testing::MutualTlsFiles;
using ::wink::webhooks::testing::TempDir;
using ::wink::webhooks::testing::WriteMutualTlsCertificates;

class ListenerTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<MutualTlsFiles> files = WriteMutualTlsCertificates(dir_.Child("pki"));
    ASSERT_TRUE(files.ok()) << files.status();
    pki_ = *files;
  }

  std::string WriteFile(const std::string& name, const std::string& contents) {
    const std::string path = dir_.Child(name);
    std::ofstream(path) << contents;
    return path;
  }

  // Overrides with an admin token and `listen`, as main.cc builds them.
  ConfigOverrides Overrides(const std::string& listen = "127.0.0.1:0") {
    ConfigOverrides overrides;
    overrides.listen_address = listen;
    overrides.data_dir = dir_.Child("data");
    overrides.admin_token_sha256 = {std::string(64, 'a')};
    return overrides;
  }

  // INVALID_ARGUMENT's message of loading with `overrides`, or "OK".
  std::string LoadError(const ConfigOverrides& overrides) {
    absl::StatusOr<ServerConfig> config = LoadServerConfig("", overrides);
    if (config.ok()) return "OK";
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument) << config.status();
    return std::string(config.status().message());
  }

  TempDir dir_;
  MutualTlsFiles pki_;
};

TEST_F(ListenerTlsTest, NoTlsFieldsMeansPlaintext) {
  absl::StatusOr<std::optional<ListenerTlsFiles>> files = ReadListenerTlsFiles(v1::TlsConfig());
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_FALSE(files->has_value());
}

TEST_F(ListenerTlsTest, ReadsTheServerAndClientCaFiles) {
  v1::TlsConfig tls;
  tls.set_cert_file(pki_.server.certificate_file);
  tls.set_key_file(pki_.server.private_key_file);
  tls.set_client_ca_file(pki_.server.ca_file);
  absl::StatusOr<std::optional<ListenerTlsFiles>> files = ReadListenerTlsFiles(tls);
  ASSERT_TRUE(files.ok()) << files.status();
  ASSERT_TRUE(files->has_value());
  EXPECT_THAT((*files)->certificate_chain_pem, StartsWith("-----BEGIN CERTIFICATE-----"));
  EXPECT_THAT((*files)->private_key_pem, StartsWith("-----BEGIN PRIVATE KEY-----"));
  EXPECT_THAT((*files)->client_ca_pem, StartsWith("-----BEGIN CERTIFICATE-----"));
}

TEST_F(ListenerTlsTest, FlagsSetTheTlsFields) {
  ConfigOverrides overrides = Overrides();
  overrides.tls_cert_file = pki_.server.certificate_file;
  overrides.tls_key_file = pki_.server.private_key_file;
  overrides.tls_client_ca_file = pki_.server.ca_file;
  absl::StatusOr<ServerConfig> config = LoadServerConfig("", overrides);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->tls().cert_file(), pki_.server.certificate_file);
  EXPECT_EQ(config->tls().key_file(), pki_.server.private_key_file);
  EXPECT_EQ(config->tls().client_ca_file(), pki_.server.ca_file);
}

TEST_F(ListenerTlsTest, HalfAKeyPairOrAClientCaAloneNamesTheMissingField) {
  ConfigOverrides cert_only = Overrides();
  cert_only.tls_cert_file = pki_.server.certificate_file;
  EXPECT_THAT(LoadError(cert_only), AllOf(StartsWith("tls.key_file: required with tls.cert_file"),
                                          HasSubstr("--tls_key")));

  ConfigOverrides key_only = Overrides();
  key_only.tls_key_file = pki_.server.private_key_file;
  EXPECT_THAT(LoadError(key_only), AllOf(StartsWith("tls.cert_file: required with tls.key_file"),
                                         HasSubstr("--tls_cert")));

  ConfigOverrides client_ca_only = Overrides();
  client_ca_only.tls_client_ca_file = pki_.server.ca_file;
  EXPECT_THAT(LoadError(client_ca_only),
              AllOf(StartsWith("tls.cert_file: required with tls.client_ca_file"),
                    HasSubstr("--tls_cert and --tls_key")));
}

TEST_F(ListenerTlsTest, UnreadableFilesNameTheFieldAndThePath) {
  ConfigOverrides missing = Overrides();
  missing.tls_cert_file = dir_.Child("missing.pem");
  missing.tls_key_file = pki_.server.private_key_file;
  EXPECT_THAT(LoadError(missing),
              StartsWith("tls.cert_file: cannot read \"" + dir_.Child("missing.pem") +
                         "\" as a file (--tls_cert)"));

  ConfigOverrides directory = Overrides();
  directory.tls_cert_file = pki_.server.certificate_file;
  directory.tls_key_file = dir_.path();
  EXPECT_THAT(LoadError(directory), StartsWith("tls.key_file: cannot read \"" + dir_.path()));

  ConfigOverrides client_ca = Overrides();
  client_ca.tls_cert_file = pki_.server.certificate_file;
  client_ca.tls_key_file = pki_.server.private_key_file;
  client_ca.tls_client_ca_file = dir_.Child("nope.pem");
  EXPECT_THAT(LoadError(client_ca), StartsWith("tls.client_ca_file: cannot read"));
}

TEST_F(ListenerTlsTest, UnparseableFilesNameTheFieldAndNeverShowTheKey) {
  const std::string garbage = WriteFile("garbage.pem", "not a certificate\n");
  ConfigOverrides bad_cert = Overrides();
  bad_cert.tls_cert_file = garbage;
  bad_cert.tls_key_file = pki_.server.private_key_file;
  EXPECT_THAT(LoadError(bad_cert),
              StartsWith("tls.cert_file: no PEM certificate (-----BEGIN CERTIFICATE-----) in \"" +
                         garbage + "\""));

  // A certificate where the key should be.
  ConfigOverrides bad_key = Overrides();
  bad_key.tls_cert_file = pki_.server.certificate_file;
  bad_key.tls_key_file = pki_.server.ca_file;
  EXPECT_THAT(LoadError(bad_key),
              StartsWith("tls.key_file: no PEM private key in \"" + pki_.server.ca_file + "\""));

  // The client's key with the server's certificate.
  ConfigOverrides mismatch = Overrides();
  mismatch.tls_cert_file = pki_.server.certificate_file;
  mismatch.tls_key_file = pki_.client_private_key_file;
  const std::string error = LoadError(mismatch);
  EXPECT_THAT(error, StartsWith("tls.key_file: the key in \"" + pki_.client_private_key_file +
                                "\" does not match the certificate in \"" +
                                pki_.server.certificate_file + "\""));
  EXPECT_THAT(error, Not(HasSubstr("PRIVATE KEY")));

  ConfigOverrides bad_client_ca = Overrides();
  bad_client_ca.tls_cert_file = pki_.server.certificate_file;
  bad_client_ca.tls_key_file = pki_.server.private_key_file;
  bad_client_ca.tls_client_ca_file = garbage;
  EXPECT_THAT(LoadError(bad_client_ca), StartsWith("tls.client_ca_file: no PEM certificate"));
}

TEST_F(ListenerTlsTest, PlaintextOnANonLoopbackAddressNeedsTheExplicitFlag) {
  for (const std::string listen :
       {"0.0.0.0:50051", "[::]:0", "10.1.2.3:50051", "webhooks.internal:50051"}) {
    SCOPED_TRACE(listen);
    const std::string error = LoadError(Overrides(listen));
    EXPECT_THAT(error, StartsWith("listen_address: \"" + listen +
                                  "\" is not a loopback address and the listener has no TLS"));
    EXPECT_THAT(error, AllOf(HasSubstr("--tls_cert and --tls_key"),
                             HasSubstr("--allow_plaintext_non_loopback")));

    ConfigOverrides allowed = Overrides(listen);
    allowed.allow_plaintext_non_loopback = true;
    EXPECT_EQ(LoadError(allowed), "OK");

    ConfigOverrides with_tls = Overrides(listen);
    with_tls.tls_cert_file = pki_.server.certificate_file;
    with_tls.tls_key_file = pki_.server.private_key_file;
    EXPECT_EQ(LoadError(with_tls), "OK");
  }
  // The field in a config file does the same as the flag.
  const std::string file = WriteFile("server.textproto",
                                     "listen_address: \"0.0.0.0:0\"\n"
                                     "allow_plaintext_non_loopback: true\n");
  ConfigOverrides from_file = Overrides();
  from_file.listen_address.reset();
  EXPECT_TRUE(LoadServerConfig(file, from_file).ok());
}

TEST_F(ListenerTlsTest, LoopbackAddresses) {
  for (const char* loopback : {"127.0.0.1:50051", "127.8.9.10:0", "[::1]:50051", "localhost:1",
                               "LOCALHOST:1", "[::ffff:127.0.0.1]:1"}) {
    EXPECT_TRUE(IsLoopbackListenAddress(loopback)) << loopback;
  }
  for (const char* other : {"0.0.0.0:50051", "[::]:50051", "128.0.0.1:1", "[::2]:1",
                            "localhost.example.com:1", "10.0.0.1:1", "127.0.0.1"}) {
    EXPECT_FALSE(IsLoopbackListenAddress(other)) << other;
  }
  // The default listen address needs nothing.
  ConfigOverrides defaults = Overrides();
  defaults.listen_address.reset();
  absl::StatusOr<ServerConfig> config = LoadServerConfig("", defaults);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->listen_address(), kDefaultListenAddress);
}

}  // namespace
}  // namespace wink::webhooks::config
