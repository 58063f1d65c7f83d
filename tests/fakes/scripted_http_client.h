// An HttpClient whose answers the test gives, when the test says: for unit
// tests of the delivery engine's scheduling (which requests go out, in what
// order, how many at once, what is aborted). Requests wait until answered;
// answers are delivered on the client's own thread, as the real client does,
// so the engine is never re-entered from inside Send or Cancel.
#ifndef WINK_WEBHOOKS_TESTS_FAKES_SCRIPTED_HTTP_CLIENT_H_
#define WINK_WEBHOOKS_TESTS_FAKES_SCRIPTED_HTTP_CLIENT_H_

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "service/http/http_client.h"

namespace wink::webhooks::testing {

class ScriptedHttpClient final : public http::HttpClient {
 public:
  // A request as sent, and whether it is still waiting for its answer.
  struct Sent {
    uint64_t id = 0;
    http::HttpRequest request;
    bool open = true;
    bool cancelled = false;
  };

  ScriptedHttpClient();
  ~ScriptedHttpClient() override;  // answers what is open with kCancelled

  uint64_t Send(http::HttpRequest request, Callback done) override;
  // Answers the request with kCancelled (if still open) and records it.
  void Cancel(uint64_t request_id) override;
  // Answers every open request with kCancelled and waits until their
  // callbacks ran; later Sends are answered at once with kCancelled.
  void Shutdown(absl::Duration grace) override;

  // Answers request `id` (which must be open) with `response`, from the
  // client's thread, and waits until the callback has run.
  void Answer(uint64_t id, http::HttpResponse response);
  void AnswerStatus(uint64_t id, int status);
  void AnswerTransportError(uint64_t id, http::TransportError error);

  // Waits until at least `count` requests were sent in all; false after
  // `timeout`.
  bool WaitForSent(size_t count, absl::Duration timeout = absl::Seconds(10));

  // Every request sent so far, in order.
  std::vector<Sent> sent() const;
  // Ids of the requests still waiting for an answer, in send order.
  std::vector<uint64_t> open() const;
  // The largest number of requests that were open at once to `url`.
  int max_open_to(const std::string& url) const;

 private:
  void Loop();
  void Deliver(uint64_t id, http::HttpResponse response) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::vector<Sent> sent_ ABSL_GUARDED_BY(mu_);
  std::map<uint64_t, Callback> callbacks_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int> open_to_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int> max_open_to_ ABSL_GUARDED_BY(mu_);
  // Answers waiting for the client's thread.
  std::deque<std::pair<Callback, http::HttpResponse>> answers_ ABSL_GUARDED_BY(mu_);
  uint64_t answered_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t queued_answers_ ABSL_GUARDED_BY(mu_) = 0;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace wink::webhooks::testing

#endif  // WINK_WEBHOOKS_TESTS_FAKES_SCRIPTED_HTTP_CLIENT_H_
