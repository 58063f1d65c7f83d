#include "tests/fakes/scripted_http_client.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <utility>

namespace wink::webhooks::testing {

ScriptedHttpClient::ScriptedHttpClient() : thread_([this] { Loop(); }) {}

ScriptedHttpClient::~ScriptedHttpClient() {
  Shutdown(absl::ZeroDuration());
  {
    absl::MutexLock lock(&mu_);
    auto drained = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return answers_.empty(); };
    mu_.Await(absl::Condition(&drained));
    stopping_ = true;
  }
  thread_.join();
}

uint64_t ScriptedHttpClient::Send(http::HttpRequest request, Callback done) {
  absl::MutexLock lock(&mu_);
  const uint64_t id = sent_.size() + 1;
  Sent sent;
  sent.id = id;
  sent.request = std::move(request);
  const std::string url = sent.request.url;
  sent_.push_back(std::move(sent));
  callbacks_[id] = std::move(done);
  const int open = ++open_to_[url];
  max_open_to_[url] = std::max(max_open_to_[url], open);
  if (shut_down_) {
    http::HttpResponse cancelled;
    cancelled.transport_error = http::TransportError::kCancelled;
    cancelled.error = "shut down";
    Deliver(id, std::move(cancelled));
  }
  return id;
}

void ScriptedHttpClient::Deliver(uint64_t id, http::HttpResponse response) {
  auto it = callbacks_.find(id);
  if (it == callbacks_.end()) return;  // answered already
  Sent& sent = sent_[id - 1];
  sent.open = false;
  --open_to_[sent.request.url];
  answers_.emplace_back(std::move(it->second), std::move(response));
  callbacks_.erase(it);
  ++queued_answers_;
}

void ScriptedHttpClient::Cancel(uint64_t request_id) {
  absl::MutexLock lock(&mu_);
  if (request_id == 0 || request_id > sent_.size()) return;
  sent_[request_id - 1].cancelled = true;
  http::HttpResponse cancelled;
  cancelled.transport_error = http::TransportError::kCancelled;
  cancelled.error = "cancelled";
  Deliver(request_id, std::move(cancelled));
}

void ScriptedHttpClient::Shutdown(absl::Duration) {
  absl::MutexLock lock(&mu_);
  shut_down_ = true;
  std::vector<uint64_t> open;
  for (const auto& [id, callback] : callbacks_) open.push_back(id);
  for (uint64_t id : open) {
    http::HttpResponse cancelled;
    cancelled.transport_error = http::TransportError::kCancelled;
    cancelled.error = "shut down";
    Deliver(id, std::move(cancelled));
  }
  // As the real client: once Shutdown returns, every callback has run
  // (unless called from one, which cannot wait for itself).
  if (std::this_thread::get_id() == thread_.get_id()) return;
  const uint64_t target = queued_answers_;
  auto delivered = [this, target]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return answered_ >= target; };
  mu_.Await(absl::Condition(&delivered));
}

void ScriptedHttpClient::Answer(uint64_t id, http::HttpResponse response) {
  absl::MutexLock lock(&mu_);
  if (callbacks_.find(id) == callbacks_.end()) {
    std::fprintf(stderr, "ScriptedHttpClient: request %llu is not open\n",
                 static_cast<unsigned long long>(id));
    std::abort();
  }
  Deliver(id, std::move(response));
  const uint64_t target = queued_answers_;
  auto delivered = [this, target]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return answered_ >= target; };
  mu_.Await(absl::Condition(&delivered));
}

void ScriptedHttpClient::AnswerStatus(uint64_t id, int status) {
  http::HttpResponse response;
  response.status = status;
  response.latency = absl::Milliseconds(3);
  Answer(id, std::move(response));
}

void ScriptedHttpClient::AnswerTransportError(uint64_t id, http::TransportError error) {
  http::HttpResponse response;
  response.transport_error = error;
  response.error = "scripted transport error";
  response.latency = absl::Seconds(15);
  Answer(id, std::move(response));
}

bool ScriptedHttpClient::WaitForSent(size_t count, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto enough = [this, count]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return sent_.size() >= count; };
  return mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
}

std::vector<ScriptedHttpClient::Sent> ScriptedHttpClient::sent() const {
  absl::MutexLock lock(&mu_);
  return sent_;
}

std::vector<uint64_t> ScriptedHttpClient::open() const {
  absl::MutexLock lock(&mu_);
  std::vector<uint64_t> ids;
  for (const auto& [id, callback] : callbacks_) ids.push_back(id);
  return ids;
}

int ScriptedHttpClient::max_open_to(const std::string& url) const {
  absl::MutexLock lock(&mu_);
  auto it = max_open_to_.find(url);
  return it == max_open_to_.end() ? 0 : it->second;
}

void ScriptedHttpClient::Loop() {
  while (true) {
    std::pair<Callback, http::HttpResponse> answer;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]()
                       ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stopping_ || !answers_.empty(); };
      mu_.Await(absl::Condition(&ready));
      if (answers_.empty()) return;
      answer = std::move(answers_.front());
      answers_.pop_front();
    }
    answer.first(std::move(answer.second));
    absl::MutexLock lock(&mu_);
    ++answered_;
  }
}

}  // namespace wink::webhooks::testing
