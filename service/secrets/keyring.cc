#include "service/secrets/keyring.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace wink::webhooks::secrets {
namespace {

// Layout of a sealed value: kFormat, id length, id, nonce, ciphertext, tag.
constexpr unsigned char kFormat = 1;
constexpr size_t kNonceBytes = 12;
constexpr size_t kTagBytes = 16;

bool IsKeyIdChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
}

bool IsValidKeyId(absl::string_view id) {
  return !id.empty() && id.size() <= kMaxKeyIdBytes &&
         std::all_of(id.begin(), id.end(), IsKeyIdChar);
}

struct CipherContextDeleter {
  void operator()(EVP_CIPHER_CTX* context) const { EVP_CIPHER_CTX_free(context); }
};
using CipherContext = std::unique_ptr<EVP_CIPHER_CTX, CipherContextDeleter>;

// AES-256-GCM, looked up once. EVP_aes_256_gcm() would make every
// Seal/Open look the implementation up again (OpenSSL 3's implicit fetch),
// which costs about as much as the rest of opening a key. Null if OpenSSL
// cannot provide it: Seal and Open then fail.
const EVP_CIPHER* Aes256Gcm() {
  static const EVP_CIPHER* const cipher = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  return cipher;
}

const unsigned char* Bytes(absl::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// The header (format, id) and the caller's context are both authenticated:
// a value cannot be relabelled with another key id or moved elsewhere.
bool AddAssociatedData(EVP_CIPHER_CTX* context, absl::string_view header,
                       absl::string_view caller_context) {
  int unused = 0;
  return EVP_CipherUpdate(context, nullptr, &unused, Bytes(header),
                          static_cast<int>(header.size())) == 1 &&
         EVP_CipherUpdate(context, nullptr, &unused, Bytes(caller_context),
                          static_cast<int>(caller_context.size())) == 1;
}

}  // namespace

absl::StatusOr<Keyring> Keyring::LoadFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return absl::FailedPreconditionError(
        absl::StrCat("secrets_key_file: cannot read \"", path, "\""));
  }
  std::stringstream text;
  text << file.rdbuf();
  return Parse(text.str(), path);
}

absl::StatusOr<Keyring> Keyring::Parse(absl::string_view text, absl::string_view source) {
  Keyring keyring;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    const auto where = [&] {
      return absl::StrCat("secrets_key_file: ", source, ":", line_number, ": ");
    };
    std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (fields.size() != 2) {
      return absl::InvalidArgumentError(
          absl::StrCat(where(), "expected \"<key id> <base64 of 32 bytes>\""));
    }
    if (!IsValidKeyId(fields[0])) {
      return absl::InvalidArgumentError(
          absl::StrCat(where(), "the key id must be 1-32 of [A-Za-z0-9._-]"));
    }
    std::string key;
    if (!absl::Base64Unescape(fields[1], &key) || key.size() != kMasterKeyBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat(where(), "the key must be the base64 of exactly ", kMasterKeyBytes,
                       " bytes (openssl rand -base64 32)"));
    }
    for (const auto& [id, unused] : keyring.keys_) {
      if (id == fields[0]) {
        return absl::InvalidArgumentError(
            absl::StrCat(where(), "key id \"", id, "\" appears twice"));
      }
    }
    keyring.keys_.emplace_back(std::string(fields[0]), std::move(key));
  }
  if (keyring.keys_.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("secrets_key_file: ", source, " holds no key"));
  }
  return keyring;
}

const std::string& Keyring::sealing_key_id() const {
  static const std::string* const kNone = new std::string();
  return keys_.empty() ? *kNone : keys_.front().first;
}

absl::StatusOr<std::string> Keyring::Seal(absl::string_view plaintext,
                                          absl::string_view context) const {
  if (keys_.empty()) {
    return absl::FailedPreconditionError(
        "no secrets key: start the server with --secrets_key_file");
  }
  const auto& [id, key] = keys_.front();
  std::string sealed;
  sealed.push_back(static_cast<char>(kFormat));
  sealed.push_back(static_cast<char>(id.size()));
  sealed.append(id);
  const size_t header_size = sealed.size();
  sealed.resize(header_size + kNonceBytes + plaintext.size() + kTagBytes);
  auto* out = reinterpret_cast<unsigned char*>(sealed.data());
  unsigned char* nonce = out + header_size;
  unsigned char* ciphertext = nonce + kNonceBytes;
  unsigned char* tag = ciphertext + plaintext.size();
  CipherContext context_holder(EVP_CIPHER_CTX_new());
  EVP_CIPHER_CTX* cipher = context_holder.get();
  int written = 0;
  const bool ok =
      cipher != nullptr && RAND_bytes(nonce, static_cast<int>(kNonceBytes)) == 1 &&
      EVP_EncryptInit_ex(cipher, Aes256Gcm(), nullptr, Bytes(key), nonce) == 1 &&
      AddAssociatedData(cipher, absl::string_view(sealed.data(), header_size), context) &&
      EVP_EncryptUpdate(cipher, ciphertext, &written, Bytes(plaintext),
                        static_cast<int>(plaintext.size())) == 1 &&
      EVP_EncryptFinal_ex(cipher, ciphertext + written, &written) == 1 &&
      EVP_CIPHER_CTX_ctrl(cipher, EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagBytes), tag) == 1;
  if (!ok) return absl::InternalError("encrypting a secret failed");
  return sealed;
}

std::string Keyring::KeyIdOf(absl::string_view sealed) {
  if (sealed.size() < 2 || static_cast<unsigned char>(sealed[0]) != kFormat) return "";
  const size_t id_size = static_cast<unsigned char>(sealed[1]);
  if (sealed.size() < 2 + id_size + kNonceBytes + kTagBytes) return "";
  const absl::string_view id = sealed.substr(2, id_size);
  return IsValidKeyId(id) ? std::string(id) : "";
}

absl::StatusOr<std::string> Keyring::Open(absl::string_view sealed,
                                          absl::string_view context) const {
  const std::string id = KeyIdOf(sealed);
  if (id.empty()) return absl::DataLossError("a sealed secret is malformed");
  const auto entry =
      std::find_if(keys_.begin(), keys_.end(), [&](const auto& key) { return key.first == id; });
  if (entry == keys_.end()) {
    return absl::FailedPreconditionError(
        absl::StrCat("a secret is encrypted with key \"", id,
                     "\", which --secrets_key_file does not hold: start the server with the key "
                     "file that has it"));
  }
  const size_t header_size = 2 + id.size();
  const absl::string_view nonce = sealed.substr(header_size, kNonceBytes);
  const absl::string_view ciphertext = sealed.substr(
      header_size + kNonceBytes, sealed.size() - header_size - kNonceBytes - kTagBytes);
  std::string tag(sealed.substr(sealed.size() - kTagBytes));
  std::string plaintext(ciphertext.size(), '\0');
  CipherContext context_holder(EVP_CIPHER_CTX_new());
  EVP_CIPHER_CTX* cipher = context_holder.get();
  int written = 0;
  auto* out = reinterpret_cast<unsigned char*>(plaintext.data());
  const bool ok =
      cipher != nullptr &&
      EVP_DecryptInit_ex(cipher, Aes256Gcm(), nullptr, Bytes(entry->second), Bytes(nonce)) == 1 &&
      AddAssociatedData(cipher, sealed.substr(0, header_size), context) &&
      EVP_DecryptUpdate(cipher, out, &written, Bytes(ciphertext),
                        static_cast<int>(ciphertext.size())) == 1 &&
      EVP_CIPHER_CTX_ctrl(cipher, EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagBytes), tag.data()) ==
          1 &&
      EVP_DecryptFinal_ex(cipher, out + written, &written) == 1;
  if (!ok) return absl::DataLossError("a sealed secret does not authenticate (altered or moved)");
  return plaintext;
}

}  // namespace wink::webhooks::secrets
