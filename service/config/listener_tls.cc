#include "service/config/listener_tls.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "service/common/errors.h"
#include "service/common/ip_range.h"

namespace wink::webhooks::config {
namespace {

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct X509Free {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

// Reads `path` for `field`; the error names both (and the flag).
absl::StatusOr<std::string> ReadPemFile(absl::string_view field, absl::string_view flag,
                                        const std::string& path) {
  std::error_code ec;
  // std::ifstream happily "opens" a directory on Linux.
  std::ifstream file;
  if (std::filesystem::is_regular_file(path, ec)) file.open(path, std::ios::binary);
  if (!file.is_open()) {
    return InvalidField(field, absl::StrCat("cannot read \"", path, "\" as a file (", flag, ")"));
  }
  std::stringstream contents;
  contents << file.rdbuf();
  return contents.str();
}

BioPtr MemoryBio(const std::string& pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// The certificates in `pem`, in order (none if it holds none).
std::vector<X509Ptr> ParseCertificates(const std::string& pem) {
  std::vector<X509Ptr> certificates;
  BioPtr bio = MemoryBio(pem);
  while (bio != nullptr) {
    X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (cert == nullptr) break;
    certificates.push_back(std::move(cert));
  }
  // The end of the input is an "error" too; leave no trace for later users
  // of this thread's queue (gRPC, libcurl).
  ERR_clear_error();
  return certificates;
}

// Asked for the passphrase of an encrypted key: there is none (OpenSSL
// would otherwise prompt on the terminal).
int NoPassphrase(char* /*buffer*/, int /*size*/, int /*rwflag*/, void* /*userdata*/) { return -1; }

absl::Status NoCertificateError(absl::string_view field, absl::string_view flag,
                                const std::string& path) {
  return InvalidField(field, absl::StrCat("no PEM certificate (-----BEGIN CERTIFICATE-----) in \"",
                                          path, "\" (", flag, ")"));
}

}  // namespace

absl::StatusOr<std::optional<ListenerTlsFiles>> ReadListenerTlsFiles(const v1::TlsConfig& tls) {
  if (tls.cert_file().empty() && tls.key_file().empty() && tls.client_ca_file().empty()) {
    return std::nullopt;
  }
  if (tls.cert_file().empty()) {
    return InvalidField("tls.cert_file",
                        tls.key_file().empty()
                            ? "required with tls.client_ca_file: client certificates are checked "
                              "during the TLS handshake, so the server must serve TLS itself "
                              "(--tls_cert and --tls_key)"
                            : "required with tls.key_file (--tls_cert)");
  }
  if (tls.key_file().empty()) {
    return InvalidField("tls.key_file", "required with tls.cert_file (--tls_key)");
  }
  ListenerTlsFiles files;
  absl::StatusOr<std::string> chain = ReadPemFile("tls.cert_file", "--tls_cert", tls.cert_file());
  if (!chain.ok()) return chain.status();
  files.certificate_chain_pem = *std::move(chain);
  std::vector<X509Ptr> certificates = ParseCertificates(files.certificate_chain_pem);
  if (certificates.empty()) {
    return NoCertificateError("tls.cert_file", "--tls_cert", tls.cert_file());
  }

  absl::StatusOr<std::string> key = ReadPemFile("tls.key_file", "--tls_key", tls.key_file());
  if (!key.ok()) return key.status();
  files.private_key_pem = *std::move(key);
  BioPtr bio = MemoryBio(files.private_key_pem);
  PkeyPtr private_key(bio != nullptr
                          ? PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr)
                          : nullptr);
  ERR_clear_error();
  if (private_key == nullptr) {
    return InvalidField("tls.key_file",
                        absl::StrCat("no PEM private key in \"", tls.key_file(),
                                     "\" (--tls_key; an encrypted key is not supported)"));
  }
  const bool matches = X509_check_private_key(certificates.front().get(), private_key.get()) == 1;
  ERR_clear_error();
  if (!matches) {
    return InvalidField(
        "tls.key_file",
        absl::StrCat("the key in \"", tls.key_file(), "\" does not match the certificate in \"",
                     tls.cert_file(), "\" (--tls_key, --tls_cert)"));
  }

  if (!tls.client_ca_file().empty()) {
    absl::StatusOr<std::string> client_ca =
        ReadPemFile("tls.client_ca_file", "--tls_client_ca", tls.client_ca_file());
    if (!client_ca.ok()) return client_ca.status();
    files.client_ca_pem = *std::move(client_ca);
    if (ParseCertificates(files.client_ca_pem).empty()) {
      return NoCertificateError("tls.client_ca_file", "--tls_client_ca", tls.client_ca_file());
    }
  }
  return files;
}

bool IsLoopbackListenAddress(absl::string_view listen_address) {
  const size_t colon = listen_address.rfind(':');
  if (colon == absl::string_view::npos) return false;
  absl::string_view host = listen_address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (absl::EqualsIgnoreCase(host, "localhost")) return true;
  const absl::StatusOr<IpAddress> address = IpAddress::Parse(host);
  if (!address.ok()) return false;
  static const IpRange* const kLoopbackV4 = new IpRange(*IpRange::Parse("127.0.0.0/8"));
  static const IpRange* const kLoopbackV6 = new IpRange(*IpRange::Parse("::1/128"));
  return kLoopbackV4->Contains(*address) || kLoopbackV6->Contains(*address);
}

}  // namespace wink::webhooks::config
