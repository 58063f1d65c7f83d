#include "tests/fakes/test_certificates.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace wink::webhooks::testing {
namespace {

template <typename T, void (*kFree)(T*)>
struct Free {
  void operator()(T* p) const { kFree(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Free<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Free<X509, X509_free>>;
using BioPtr = std::unique_ptr<BIO, Free<BIO, BIO_free_all>>;
using BignumPtr = std::unique_ptr<BIGNUM, Free<BIGNUM, BN_free>>;
using ExtensionPtr = std::unique_ptr<X509_EXTENSION, Free<X509_EXTENSION, X509_EXTENSION_free>>;

// INTERNAL with OpenSSL's error queue (which this drains) appended.
absl::Status OpenSslError(absl::string_view what) {
  std::string detail;
  while (unsigned long code = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof(buffer));
    absl::StrAppend(&detail, detail.empty() ? "" : "; ", buffer);
  }
  return absl::InternalError(
      absl::StrCat("test certificates: ", what, ": ", detail.empty() ? "unknown error" : detail));
}

absl::StatusOr<PkeyPtr> NewP256Key() {
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (key == nullptr) return OpenSslError("EC key generation");
  return key;
}

struct Extension {
  int nid;
  const char* value;
};

constexpr int kValidDays = 30;

// A certificate for `key` named `common_name`, issued by `issuer` (nullptr:
// self-signed) and signed with `issuer_key`. Extensions are added in order:
// subjectKeyIdentifier must come before a self-signed certificate's
// authorityKeyIdentifier, which copies it.
absl::StatusOr<X509Ptr> NewCertificate(EVP_PKEY* key, const char* common_name, X509* issuer,
                                       EVP_PKEY* issuer_key,
                                       const std::vector<Extension>& extensions) {
  X509Ptr cert(X509_new());
  BignumPtr serial(BN_new());
  if (cert == nullptr || serial == nullptr) return OpenSslError("allocation");
  // Random serials: a client that cached an earlier run's certificate must
  // not see two different certificates with the same issuer and serial.
  if (X509_set_version(cert.get(), X509_VERSION_3) != 1 ||
      BN_rand(serial.get(), 63, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) == nullptr ||
      X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60 * 60) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), kValidDays * 24 * 60 * 60) == nullptr ||
      X509_set_pubkey(cert.get(), key) != 1) {
    return OpenSslError("certificate fields");
  }
  X509_NAME* subject = X509_get_subject_name(cert.get());
  if (X509_NAME_add_entry_by_txt(subject, "O", MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>("Wink Webhooks tests"), -1,
                                 -1, 0) != 1 ||
      X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>(common_name), -1, -1,
                                 0) != 1 ||
      X509_set_issuer_name(cert.get(),
                           issuer != nullptr ? X509_get_subject_name(issuer) : subject) != 1) {
    return OpenSslError("certificate names");
  }
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, issuer != nullptr ? issuer : cert.get(), cert.get(), nullptr, nullptr,
                 0);
  for (const Extension& extension : extensions) {
    ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, &context, extension.nid, extension.value));
    if (ext == nullptr || X509_add_ext(cert.get(), ext.get(), -1) != 1) {
      return OpenSslError(absl::StrCat("extension ", OBJ_nid2sn(extension.nid)));
    }
  }
  if (X509_sign(cert.get(), issuer_key, EVP_sha256()) <= 0) return OpenSslError("signing");
  return cert;
}

absl::StatusOr<std::string> ToPem(X509* cert, EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr) return OpenSslError("allocation");
  const int written = cert != nullptr ? PEM_write_bio_X509(bio.get(), cert)
                                      : PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr,
                                                                 0, nullptr, nullptr);
  if (written != 1) return OpenSslError("PEM encoding");
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

// Writes through a temporary file and rename() so that a reader never sees
// half a file, and so that the key file never exists with a wider mode.
absl::Status WriteFile(const std::string& path, const std::string& content, mode_t mode) {
  const std::string temporary = path + ".tmp";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) {
    return absl::InternalError(absl::StrCat("cannot create ", temporary, ": ", strerror(errno)));
  }
  bool ok = ::fchmod(fd, mode) == 0;
  for (size_t done = 0; ok && done < content.size();) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<size_t>(n);
  }
  const int saved_errno = errno;
  ok = ::close(fd) == 0 && ok;
  if (!ok || ::rename(temporary.c_str(), path.c_str()) != 0) {
    const std::string reason = strerror(ok ? errno : saved_errno);
    ::unlink(temporary.c_str());
    return absl::InternalError(absl::StrCat("cannot write ", path, ": ", reason));
  }
  return absl::OkStatus();
}

struct FileToWrite {
  std::string path;
  const std::string* content;
  mode_t mode;
};

struct CertificateAuthority {
  PkeyPtr key;
  X509Ptr certificate;
};

absl::StatusOr<CertificateAuthority> NewCertificateAuthority(const char* common_name) {
  absl::StatusOr<PkeyPtr> ca_key = NewP256Key();
  if (!ca_key.ok()) return ca_key.status();
  absl::StatusOr<X509Ptr> ca =
      NewCertificate(ca_key->get(), common_name, nullptr, ca_key->get(),
                     {{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
                      {NID_key_usage, "critical,keyCertSign,cRLSign"},
                      {NID_subject_key_identifier, "hash"},
                      {NID_authority_key_identifier, "keyid:always"}});
  if (!ca.ok()) return ca.status();
  return CertificateAuthority{*std::move(ca_key), *std::move(ca)};
}

absl::Status CreateDirectory(const std::string& dir) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) {
    return absl::InternalError(absl::StrCat("cannot create ", dir, ": ", error.message()));
  }
  return absl::OkStatus();
}

// Issues a client certificate (clientAuth) named `common_name` by `ca` and
// writes it and its key to `certificate_file` and `key_file`.
absl::Status WriteClientCertificate(const CertificateAuthority& ca, const char* common_name,
                                    const std::string& certificate_file,
                                    const std::string& key_file) {
  absl::StatusOr<PkeyPtr> key = NewP256Key();
  if (!key.ok()) return key.status();
  absl::StatusOr<X509Ptr> cert =
      NewCertificate(key->get(), common_name, ca.certificate.get(), ca.key.get(),
                     {{NID_basic_constraints, "critical,CA:FALSE"},
                      {NID_key_usage, "critical,digitalSignature"},
                      {NID_ext_key_usage, "clientAuth"},
                      {NID_subject_key_identifier, "hash"},
                      {NID_authority_key_identifier, "keyid:always"}});
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> cert_pem = ToPem(cert->get(), nullptr);
  if (!cert_pem.ok()) return cert_pem.status();
  absl::StatusOr<std::string> key_pem = ToPem(nullptr, key->get());
  if (!key_pem.ok()) return key_pem.status();
  absl::Status written = WriteFile(key_file, *key_pem, 0600);
  if (!written.ok()) return written;
  return WriteFile(certificate_file, *cert_pem, 0644);
}

// WriteTestCertificates with the CA kept, for more certificates.
absl::StatusOr<TestCertificateFiles> WriteServerCertificates(const std::string& dir,
                                                             CertificateAuthority& ca_out) {
  if (absl::Status created = CreateDirectory(dir); !created.ok()) return created;
  absl::StatusOr<CertificateAuthority> authority = NewCertificateAuthority("Wink Webhooks test CA");
  if (!authority.ok()) return authority.status();

  absl::StatusOr<PkeyPtr> server_key = NewP256Key();
  if (!server_key.ok()) return server_key.status();
  absl::StatusOr<X509Ptr> server = NewCertificate(
      server_key->get(), "localhost", authority->certificate.get(), authority->key.get(),
      {{NID_basic_constraints, "critical,CA:FALSE"},
       {NID_key_usage, "critical,digitalSignature"},
       {NID_ext_key_usage, "serverAuth"},
       {NID_subject_alt_name, "IP:127.0.0.1,IP:::1,DNS:localhost"},
       {NID_subject_key_identifier, "hash"},
       {NID_authority_key_identifier, "keyid:always"}});
  if (!server.ok()) return server.status();

  absl::StatusOr<std::string> ca_pem = ToPem(authority->certificate.get(), nullptr);
  absl::StatusOr<std::string> server_pem = ToPem(server->get(), nullptr);
  absl::StatusOr<std::string> key_pem = ToPem(nullptr, server_key->get());
  for (const absl::StatusOr<std::string>* pem : {&ca_pem, &server_pem, &key_pem}) {
    if (!pem->ok()) return pem->status();
  }

  TestCertificateFiles files;
  files.ca_file = dir + "/ca.pem";
  files.certificate_file = dir + "/server.pem";
  files.private_key_file = dir + "/server.key";
  // The CA last: whoever waits for ca.pem finds the server files in place.
  for (const auto& [path, pem, mode] : {FileToWrite{files.private_key_file, &*key_pem, 0600},
                                        FileToWrite{files.certificate_file, &*server_pem, 0644},
                                        FileToWrite{files.ca_file, &*ca_pem, 0644}}) {
    absl::Status written = WriteFile(path, *pem, mode);
    if (!written.ok()) return written;
  }
  ca_out = *std::move(authority);
  return files;
}

}  // namespace

absl::StatusOr<TestCertificateFiles> WriteTestCertificates(const std::string& dir) {
  CertificateAuthority ca;
  return WriteServerCertificates(dir, ca);
}

absl::StatusOr<MutualTlsFiles> WriteMutualTlsCertificates(const std::string& dir) {
  MutualTlsFiles files;
  CertificateAuthority ca;
  absl::StatusOr<TestCertificateFiles> server = WriteServerCertificates(dir, ca);
  if (!server.ok()) return server.status();
  files.server = *std::move(server);
  files.client_certificate_file = dir + "/client.pem";
  files.client_private_key_file = dir + "/client.key";
  absl::Status written = WriteClientCertificate(ca, "test-client", files.client_certificate_file,
                                                files.client_private_key_file);
  if (!written.ok()) return written;

  absl::StatusOr<CertificateAuthority> other = NewCertificateAuthority("Another test CA");
  if (!other.ok()) return other.status();
  absl::StatusOr<std::string> other_ca_pem = ToPem(other->certificate.get(), nullptr);
  if (!other_ca_pem.ok()) return other_ca_pem.status();
  files.other_ca_file = dir + "/other-ca.pem";
  written = WriteFile(files.other_ca_file, *other_ca_pem, 0644);
  if (!written.ok()) return written;
  files.other_client_certificate_file = dir + "/other-client.pem";
  files.other_client_private_key_file = dir + "/other-client.key";
  written = WriteClientCertificate(*other, "other-client", files.other_client_certificate_file,
                                   files.other_client_private_key_file);
  if (!written.ok()) return written;
  return files;
}

}  // namespace wink::webhooks::testing

namespace wink::webhooks::testing {

absl::StatusOr<TestCertificateFiles> ReuseOrWriteTestCertificates(const std::string& dir) {
  TestCertificateFiles files{dir + "/ca.pem", dir + "/server.pem", dir + "/server.key"};
  std::error_code error;
  bool reusable = std::filesystem::exists(files.ca_file, error) &&
                  std::filesystem::exists(files.private_key_file, error);
  if (reusable) {
    FILE* file = std::fopen(files.certificate_file.c_str(), "r");
    X509* cert = file != nullptr ? PEM_read_X509(file, nullptr, nullptr, nullptr) : nullptr;
    if (file != nullptr) std::fclose(file);
    // Good for at least another hour.
    time_t in_an_hour = time(nullptr) + 60 * 60;
    reusable = cert != nullptr && X509_cmp_time(X509_get0_notAfter(cert), &in_an_hour) > 0;
    X509_free(cert);
  }
  if (reusable) return files;
  return WriteTestCertificates(dir);
}

}  // namespace wink::webhooks::testing
