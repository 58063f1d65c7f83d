// TLS of the gRPC listener: the rules of the `tls` config fields and the PEM
// files they name, read and checked with OpenSSL so that a wrong file stops
// the server at start with the field named (gRPC itself would only fail to
// bind, or fail every handshake later).
#ifndef WINK_WEBHOOKS_SERVICE_CONFIG_LISTENER_TLS_H_
#define WINK_WEBHOOKS_SERVICE_CONFIG_LISTENER_TLS_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "wink/webhooks/config/v1/server_config.pb.h"

namespace wink::webhooks::config {

// The contents of the listener's PEM files, checked.
struct ListenerTlsFiles {
  // The server's certificate, then any intermediates (tls.cert_file).
  std::string certificate_chain_pem;
  // The private key of the first certificate (tls.key_file). A secret: never
  // log it or put it in an error message.
  std::string private_key_pem;
  // CA certificates for client certificates (tls.client_ca_file); empty when
  // clients need none.
  std::string client_ca_pem;
};

// Reads and checks the files `tls` names. nullopt when `tls` sets no field
// (a plaintext listener). INVALID_ARGUMENT starting with the field path:
//   "tls.key_file: ..."       a certificate without a key;
//   "tls.cert_file: ..."      a key or a client CA without a certificate;
//   "tls.<field>: cannot read ..."       missing, unreadable, a directory;
//   "tls.<field>: no PEM ..." no certificate (key) OpenSSL can parse; an
//                             encrypted key counts as none (nobody would
//                             type its passphrase);
//   "tls.key_file: ... does not match ..."  the key of another certificate.
// The messages name the file paths and the command-line flags, never file
// contents. Thread-safe.
absl::StatusOr<std::optional<ListenerTlsFiles>> ReadListenerTlsFiles(const v1::TlsConfig& tls);

// Whether `listen_address` ("host:port" or "[v6]:port") binds loopback only:
// a host in 127.0.0.0/8, ::1 (also as ::ffff:127.x.y.z) or "localhost".
// Any other name or address, 0.0.0.0 and [::] included, is not: names are
// not resolved here.
bool IsLoopbackListenAddress(absl::string_view listen_address);

}  // namespace wink::webhooks::config

#endif  // WINK_WEBHOOKS_SERVICE_CONFIG_LISTENER_TLS_H_
