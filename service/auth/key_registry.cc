#include "service/auth/key_registry.h"

#include <openssl/crypto.h>

#include <cstring>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "service/common/sha256.h"

namespace wink::webhooks::auth {
namespace {

uint64_t Prefix(absl::string_view sha256) {
  uint64_t prefix = 0;
  std::memcpy(&prefix, sha256.data(), std::min(sizeof(prefix), sha256.size()));
  return prefix;
}

std::string PrincipalName(absl::string_view account, absl::string_view id) {
  return absl::StrCat("application accounts/", account, "/applications/", id);
}

}  // namespace

void KeyRegistry::Install(const ApplicationCredentials& app) {
  bool shortened;
  {
    absl::MutexLock lock(&mu_);
    shortened = InstallLocked(app);
  }
  if (shortened) NotifyShortened();
}

void KeyRegistry::Remove(absl::string_view account, absl::string_view id) {
  bool shortened;
  {
    absl::MutexLock lock(&mu_);
    shortened = RemoveLocked(AppKey(account, id));
  }
  if (shortened) NotifyShortened();
}

void KeyRegistry::ReplaceAll(const std::vector<ApplicationCredentials>& apps) {
  bool shortened = false;
  {
    absl::MutexLock lock(&mu_);
    absl::flat_hash_set<AppKey> present;
    for (const ApplicationCredentials& app : apps) {
      present.insert(AppKey(app.account, app.id));
      shortened |= InstallLocked(app);
    }
    std::vector<AppKey> gone;
    for (const auto& [app, keys] : keys_of_) {
      if (!present.contains(app)) gone.push_back(app);
    }
    for (const AppKey& app : gone) shortened |= RemoveLocked(app);
  }
  if (shortened) NotifyShortened();
}

std::shared_ptr<const Principal> KeyRegistry::Find(absl::string_view sha256) const {
  if (sha256.size() != kSha256Bytes) return nullptr;
  absl::ReaderMutexLock lock(&mu_);
  const Entry* entry = FindLocked(sha256);
  return entry != nullptr ? entry->principal : nullptr;
}

void KeyRegistry::AddShortenedListener(std::function<void()> listener) {
  absl::MutexLock lock(&listeners_mu_);
  listeners_.push_back(std::move(listener));
}

size_t KeyRegistry::key_count() const {
  absl::ReaderMutexLock lock(&mu_);
  size_t count = 0;
  for (const auto& [prefix, entries] : by_prefix_) count += entries.size();
  return count;
}

bool KeyRegistry::InstallLocked(const ApplicationCredentials& app) {
  const AppKey id(app.account, app.id);
  std::vector<std::string>& hashes = keys_of_[id];
  bool shortened = false;
  absl::flat_hash_set<std::string> kept;
  for (const ApplicationCredentials::Key& key : app.keys) {
    if (key.sha256.size() != kSha256Bytes) continue;
    kept.insert(key.sha256);
    if (const Entry* entry = FindLocked(key.sha256); entry != nullptr) {
      // The same key under another application would be a 2^-256 event or
      // a bug; the key stays with the application that had it.
      if (entry->principal->application_account() != app.account ||
          entry->principal->application_id() != app.id) {
        continue;
      }
      if (key.not_after < entry->principal->not_after()) shortened = true;
      entry->principal->SetNotAfter(key.not_after);
      continue;
    }
    by_prefix_[Prefix(key.sha256)].push_back(
        Entry{key.sha256, std::make_shared<Principal>(PrincipalName(app.account, app.id),
                                                      app.account, app.id, app.scopes,
                                                      key.not_after)});
  }
  std::vector<std::string> now_held;
  for (const std::string& hash : hashes) {
    if (!kept.contains(hash)) {
      EraseLocked(hash);
      shortened = true;
    }
  }
  for (const ApplicationCredentials::Key& key : app.keys) {
    if (kept.contains(key.sha256)) now_held.push_back(key.sha256);
  }
  hashes = std::move(now_held);
  return shortened;
}

bool KeyRegistry::RemoveLocked(const AppKey& app) {
  auto it = keys_of_.find(app);
  if (it == keys_of_.end()) return false;
  for (const std::string& hash : it->second) EraseLocked(hash);
  const bool had_keys = !it->second.empty();
  keys_of_.erase(it);
  return had_keys;
}

const KeyRegistry::Entry* KeyRegistry::FindLocked(absl::string_view sha256) const {
  auto bucket = by_prefix_.find(Prefix(sha256));
  if (bucket == by_prefix_.end()) return nullptr;
  const Entry* match = nullptr;
  for (const Entry& entry : bucket->second) {
    if (CRYPTO_memcmp(entry.sha256.data(), sha256.data(), kSha256Bytes) == 0) match = &entry;
  }
  return match;
}

void KeyRegistry::EraseLocked(absl::string_view sha256) {
  auto bucket = by_prefix_.find(Prefix(sha256));
  if (bucket == by_prefix_.end()) return;
  std::vector<Entry>& entries = bucket->second;
  for (auto it = entries.begin(); it != entries.end(); ++it) {
    if (it->sha256 == sha256) {
      // Whoever holds the principal (an open stream) sees it end now.
      it->principal->SetNotAfter(absl::InfinitePast());
      entries.erase(it);
      break;
    }
  }
  if (entries.empty()) by_prefix_.erase(bucket);
}

void KeyRegistry::NotifyShortened() {
  std::vector<std::function<void()>> listeners;
  {
    absl::MutexLock lock(&listeners_mu_);
    listeners = listeners_;
  }
  for (const auto& listener : listeners) listener();
}

}  // namespace wink::webhooks::auth
