// A throw-away PKI for TLS tests, generated with OpenSSL at run time (no
// openssl CLI, no checked-in keys that expire): a self-signed CA and a server
// certificate it issued for 127.0.0.1, ::1 and localhost; for mutual TLS
// also client certificates of that CA and of another one.
#ifndef WINK_WEBHOOKS_TESTS_FAKES_TEST_CERTIFICATES_H_
#define WINK_WEBHOOKS_TESTS_FAKES_TEST_CERTIFICATES_H_

#include <string>

#include "absl/status/statusor.h"

namespace wink::webhooks::testing {

// Where WriteTestCertificates() put the PEM files.
struct TestCertificateFiles {
  // The CA certificate ("<dir>/ca.pem"): what clients trust.
  std::string ca_file;
  // The server certificate ("<dir>/server.pem"): EC P-256, signed by the CA,
  // SANs IP:127.0.0.1, IP:::1 and DNS:localhost, extended key usage
  // serverAuth, valid from one hour ago until 30 days from now.
  std::string certificate_file;
  // The server's private key ("<dir>/server.key", unencrypted PKCS#8, mode
  // 0600).
  std::string private_key_file;
};

// Generates a new CA (EC P-256, CA:TRUE, keyCertSign) and a server
// certificate issued by it, and writes them into `dir` (created if missing),
// replacing earlier files of the same names. The CA's private key is not
// kept. INTERNAL if OpenSSL or the file system fails.
absl::StatusOr<TestCertificateFiles> WriteTestCertificates(const std::string& dir);

// A PKI for mutual TLS tests: the server files of WriteTestCertificates,
// a client certificate the same CA issued, and a client certificate of
// another, unrelated CA (which a server trusting only the first must
// refuse). Client certificates are EC P-256 with extended key usage
// clientAuth, CN "test-client" and "other-client"; keys unencrypted PKCS#8,
// mode 0600.
struct MutualTlsFiles {
  // ca.pem, server.pem, server.key as WriteTestCertificates writes them.
  TestCertificateFiles server;
  std::string client_certificate_file;        // "<dir>/client.pem"
  std::string client_private_key_file;        // "<dir>/client.key"
  std::string other_ca_file;                  // "<dir>/other-ca.pem"
  std::string other_client_certificate_file;  // "<dir>/other-client.pem"
  std::string other_client_private_key_file;  // "<dir>/other-client.key"
};

// Generates both CAs and every certificate into `dir` (created if missing).
// INTERNAL if OpenSSL or the file system fails.
absl::StatusOr<MutualTlsFiles> WriteMutualTlsCertificates(const std::string& dir);

// The files already in `dir` if all three exist and the server certificate
// is valid for at least another hour (so a restarted receiver keeps the CA a
// server already trusts); otherwise WriteTestCertificates(dir).
absl::StatusOr<TestCertificateFiles> ReuseOrWriteTestCertificates(const std::string& dir);

}  // namespace wink::webhooks::testing

#endif  // WINK_WEBHOOKS_TESTS_FAKES_TEST_CERTIFICATES_H_
