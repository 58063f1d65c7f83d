// wink::webhooks::Client against the real in-process server (RocksDB in a
// temp dir, gRPC on 127.0.0.1) and, for the round trip, a real HTTPS
// receiver.
//
// Outages are real too: a port that is bound but not listening (connections
// refused until the server binds it as well) and server restarts on the same
// data directory and port. The only thing simulated is a response lost after
// the server committed the call, by a gRPC client interceptor that turns an
// OK status into UNAVAILABLE; the same interceptor counts attempts.
//
// Waiting is on conditions with deadlines (absl::Mutex::AwaitWithTimeout),
// never on sleeps.
#include "wink/webhooks/client.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/support/client_interceptor.h"
#include "gtest/gtest.h"
#include "tests/fakes/https_receiver.h"
#include "tests/integration/test_server.h"

namespace wink::webhooks {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::kAcmeToken;
using testing::kAdminToken;
using ::testing::MatchesRegex;
using ::testing::SizeIs;
using ::testing::StartsWith;
using testing::TestServer;

constexpr char kAcme[] = "accounts/acme";
constexpr char kUuidV4Pattern[] =
    "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}";
constexpr absl::Duration kWait = absl::Seconds(20);

// A TCP port on 127.0.0.1 that is bound but not listening: connecting to it
// is refused, and no other program can take it meanwhile. A test server that
// should listen there gets it from Release() (the server refuses a port
// another socket holds, as it should).
class ReservedPort {
 public:
  ReservedPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      std::abort();
    }
    port_ = ntohs(address.sin_port);
  }
  ~ReservedPort() { Release(); }
  ReservedPort(const ReservedPort&) = delete;

  // Frees the port for a server to bind right after. Another program's
  // bind(0) could pick it in the microseconds between, one chance in the
  // ~28,000 ephemeral ports.
  void Release() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  // Makes the port a listener that never accepts: connections complete in
  // the kernel, then nothing is ever said on them.
  void ListenSilently() {
    if (::listen(fd_, 16) != 0) std::abort();
  }
  ReservedPort& operator=(const ReservedPort&) = delete;

  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// A TCP proxy on 127.0.0.1 to a local port, whose connections can be cut:
// a real network failure in the middle of a call or stream (the client sees
// the connection drop, not a status from the server).
class TcpProxy {
 public:
  explicit TcpProxy(int target_port) : target_port_(target_port) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address = Loopback(0);
    socklen_t length = sizeof(address);
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
        ::listen(listen_fd_, 16) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      std::abort();
    }
    port_ = ntohs(address.sin_port);
    acceptor_ = std::thread([this] { AcceptLoop(); });
  }

  ~TcpProxy() {
    ::shutdown(listen_fd_, SHUT_RDWR);  // wakes accept()
    acceptor_.join();
    ::close(listen_fd_);
    CutConnections();
    for (std::thread& pump : pumps_) pump.join();
  }

  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }

  // Breaks every open connection (both directions); new ones are accepted.
  void CutConnections() {
    absl::MutexLock lock(&mu_);
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
  }

 private:
  static sockaddr_in Loopback(int port) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<uint16_t>(port));
    return address;
  }

  void AcceptLoop() {
    while (true) {
      const int client = ::accept(listen_fd_, nullptr, nullptr);
      if (client < 0) return;  // shut down
      const int server = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in target = Loopback(target_port_);
      if (::connect(server, reinterpret_cast<sockaddr*>(&target), sizeof(target)) != 0) {
        ::close(server);
        ::close(client);
        continue;
      }
      absl::MutexLock lock(&mu_);
      open_fds_.insert(client);
      open_fds_.insert(server);
      pumps_.emplace_back([this, client, server] { Pump(client, server); });
    }
  }

  // Copies bytes both ways until either side closes, then closes both.
  void Pump(int a, int b) {
    pollfd fds[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
    char buffer[16384];
    bool open = true;
    while (open && ::poll(fds, 2, -1) > 0) {
      for (int i = 0; i < 2 && open; ++i) {
        if (fds[i].revents == 0) continue;
        const ssize_t n = ::read(fds[i].fd, buffer, sizeof(buffer));
        open = n > 0 && ::send(fds[1 - i].fd, buffer, static_cast<size_t>(n), MSG_NOSIGNAL) == n;
      }
    }
    absl::MutexLock lock(&mu_);
    open_fds_.erase(a);
    open_fds_.erase(b);
    ::close(a);
    ::close(b);
  }

  const int target_port_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::thread acceptor_;
  absl::Mutex mu_;
  std::set<int> open_fds_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> pumps_ ABSL_GUARDED_BY(mu_);
};

// What the interceptor saw, per full method name
// ("/wink.webhooks.v1.WebhookService/PublishEvent").
class AttemptLog {
 public:
  // The next `count` successful responses of `method` reach the client as
  // UNAVAILABLE: the server did the work, the caller did not hear of it.
  void LoseResponses(const std::string& method, int count) {
    absl::MutexLock lock(&mu_);
    lose_[method] += count;
  }

  int Attempts(const std::string& method) const {
    absl::MutexLock lock(&mu_);
    auto it = attempts_.find(method);
    return it == attempts_.end() ? 0 : it->second;
  }

  void RecordAttempt(const std::string& method) {
    absl::MutexLock lock(&mu_);
    ++attempts_[method];
  }

  // The next failed status of `method` reaches the client as `replacement`.
  void ReplaceNextFailure(const std::string& method, grpc::Status replacement) {
    absl::MutexLock lock(&mu_);
    replace_failure_[method] = std::move(replacement);
  }

  void MaybeReplaceFailure(const std::string& method, grpc::Status& status) {
    absl::MutexLock lock(&mu_);
    auto it = replace_failure_.find(method);
    if (status.ok() || it == replace_failure_.end()) return;
    status = it->second;
    replace_failure_.erase(it);
  }

  bool TakeLostResponse(const std::string& method) {
    absl::MutexLock lock(&mu_);
    auto it = lose_.find(method);
    if (it == lose_.end() || it->second == 0) return false;
    --it->second;
    return true;
  }

 private:
  mutable absl::Mutex mu_;
  std::map<std::string, int> attempts_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int> lose_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, grpc::Status> replace_failure_ ABSL_GUARDED_BY(mu_);
};

class AttemptInterceptor : public grpc::experimental::Interceptor {
 public:
  AttemptInterceptor(std::string method, AttemptLog* log) : method_(std::move(method)), log_(log) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    using Hook = grpc::experimental::InterceptionHookPoints;
    if (methods->QueryInterceptionHookPoint(Hook::PRE_SEND_INITIAL_METADATA)) {
      log_->RecordAttempt(method_);
    }
    if (methods->QueryInterceptionHookPoint(Hook::POST_RECV_STATUS)) {
      grpc::Status* status = methods->GetRecvStatus();
      if (status->ok() && log_->TakeLostResponse(method_)) {
        *status = grpc::Status(grpc::StatusCode::UNAVAILABLE, "injected: response lost");
      }
      log_->MaybeReplaceFailure(method_, *status);
    }
    methods->Proceed();
  }

 private:
  const std::string method_;
  AttemptLog* const log_;
};

class AttemptInterceptorFactory : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit AttemptInterceptorFactory(AttemptLog* log) : log_(log) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo* info) override {
    return new AttemptInterceptor(info->method(), log_);
  }

 private:
  AttemptLog* const log_;
};

std::shared_ptr<grpc::Channel> InterceptedChannel(const std::string& address, AttemptLog* log) {
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> factories;
  factories.push_back(std::make_unique<AttemptInterceptorFactory>(log));
  grpc::ChannelArguments arguments;
  // Find a server that is back quickly (as the client does for its own
  // channels).
  arguments.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  arguments.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  return grpc::experimental::CreateCustomChannelWithInterceptors(
      address, grpc::InsecureChannelCredentials(), arguments, std::move(factories));
}

std::string WebhookMethod(absl::string_view name) {
  return absl::StrCat("/wink.webhooks.v1.WebhookService/", name);
}
std::string DeliveryMethod(absl::string_view name) {
  return absl::StrCat("/wink.webhooks.v1.DeliveryService/", name);
}
std::string ApplicationMethod(absl::string_view name) {
  return absl::StrCat("/wink.webhooks.v1.ApplicationService/", name);
}

// Retry events seen through ClientOptions::on_retry; waitable.
class RetryRecorder {
 public:
  std::function<void(const RetryEvent&)> Callback() {
    return [this](const RetryEvent& event) {
      absl::MutexLock lock(&mu_);
      methods_.emplace_back(event.method);
      codes_.push_back(event.error.code());
    };
  }

  // Waits until at least `count` retries were announced.
  bool WaitFor(size_t count) {
    absl::MutexLock lock(&mu_);
    auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return methods_.size() >= count; };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), kWait);
  }

  std::vector<std::string> methods() const {
    absl::MutexLock lock(&mu_);
    return methods_;
  }
  std::vector<absl::StatusCode> codes() const {
    absl::MutexLock lock(&mu_);
    return codes_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<std::string> methods_ ABSL_GUARDED_BY(mu_);
  std::vector<absl::StatusCode> codes_ ABSL_GUARDED_BY(mu_);
};

// Runs a watch on its own thread and keeps what it delivered.
class WatchRun {
 public:
  WatchRun(Client& client, v1::WatchDeliveriesRequest request) {
    result_ = std::async(std::launch::async, [this, &client, request = std::move(request)] {
      WatchOptions options;
      options.cancellation = &cancellation_;
      return client.WatchDeliveries(
          request,
          [this](const v1::WatchDeliveriesResponse& update) {
            absl::MutexLock lock(&mu_);
            updates_.push_back(update);
            return true;
          },
          options);
    });
  }
  ~WatchRun() {
    cancellation_.Cancel();
    if (result_.valid()) result_.wait();
  }

  bool WaitForUpdates(size_t count) {
    absl::MutexLock lock(&mu_);
    auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return updates_.size() >= count; };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), kWait);
  }

  std::vector<v1::WatchDeliveriesResponse> updates() const {
    absl::MutexLock lock(&mu_);
    return updates_;
  }

  void Cancel() { cancellation_.Cancel(); }

  // The watch's result, or DEADLINE_EXCEEDED if it has not returned in time.
  absl::Status Result() {
    if (result_.wait_for(absl::ToChronoSeconds(kWait)) != std::future_status::ready) {
      return absl::DeadlineExceededError("the watch did not return");
    }
    return result_.get();
  }

 private:
  WatchCancellation cancellation_;
  mutable absl::Mutex mu_;
  std::vector<v1::WatchDeliveriesResponse> updates_ ABSL_GUARDED_BY(mu_);
  std::future<absl::Status> result_;
};

// Event ids of `updates`, in order.
std::vector<std::string> EventsOf(const std::vector<v1::WatchDeliveriesResponse>& updates) {
  std::vector<std::string> events;
  for (const auto& update : updates) events.push_back(update.delivery().event());
  return events;
}

v1::Webhook SampleWebhook(const std::string& url) {
  v1::Webhook webhook;
  webhook.set_display_name("PMS Booking Sync");
  webhook.set_url(url);
  webhook.add_event_types("booking.created");
  return webhook;
}

v1::PublishEventRequest BookingCreated(const std::string& booking_id) {
  v1::PublishEventRequest request;
  request.set_parent(kAcme);
  request.set_event_type("booking.created");
  request.set_data_json(absl::StrCat(R"({"booking_id":")", booking_id, R"("})"));
  return request;
}

// The part of the resume tests around the outage, for an account whose
// webhooks are all paused (one HELD update per event): Start() publishes B-1,
// watches from its cursor, publishes B-2 and waits for both updates; the
// test then breaks something; Finish() publishes B-3 and B-4 and checks that
// the watch saw the four events exactly once each, in order.
class ResumeScenario {
 public:
  explicit ResumeScenario(Client& client) : client_(client) {}

  void Start() {
    v1::WatchDeliveriesRequest request;
    request.set_parent(kAcme);
    request.set_start_cursor(Publish("B-1"));
    watch_ = std::make_unique<WatchRun>(client_, request);
    Publish("B-2");
    ASSERT_TRUE(watch_->WaitForUpdates(2));
  }

  void Finish() {
    Publish("B-3");
    Publish("B-4");
    ASSERT_TRUE(watch_->WaitForUpdates(4)) << watch_->updates().size();
    watch_->Cancel();
    EXPECT_EQ(watch_->Result().code(), absl::StatusCode::kCancelled);
    const std::vector<v1::WatchDeliveriesResponse> updates = watch_->updates();
    EXPECT_EQ(EventsOf(updates), published_);
    for (size_t i = 0; i < updates.size(); ++i) {
      EXPECT_EQ(updates[i].delivery().state(), v1::DELIVERY_STATE_HELD);
      if (i > 0) {
        EXPECT_GT(updates[i].cursor(), updates[i - 1].cursor());
      }
    }
  }

 private:
  // The watch cursor of the publish (0 on failure).
  int64_t Publish(const std::string& booking) {
    auto response = client_.PublishEvent(BookingCreated(booking));
    EXPECT_TRUE(response.ok()) << response.status();
    if (!response.ok()) return 0;
    published_.push_back(response->event().name());
    return response->watch_cursor();
  }

  Client& client_;
  std::vector<std::string> published_;
  std::unique_ptr<WatchRun> watch_;
};

// Options for a client of `address` with the admin token.
ClientOptions OptionsFor(const std::string& address, const std::string& token = kAdminToken) {
  ClientOptions options;
  options.address = address;
  options.token = token;
  return options;
}

std::unique_ptr<Client> MustCreate(ClientOptions options) {
  auto client = Client::Create(std::move(options));
  EXPECT_TRUE(client.ok()) << client.status();
  return client.ok() ? *std::move(client) : nullptr;
}

// Server configured to deliver to a local HTTPS receiver.
class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto receiver = testing::HttpsReceiver::Start();
    ASSERT_TRUE(receiver.ok()) << receiver.status();
    receiver_ = *std::move(receiver);
    server_ = std::make_unique<TestServer>([&](config::ServerConfig& config) {
      config.add_allow_private_targets("127.0.0.0/8");
      config.add_extra_ca_file(receiver_->ca_file());
    });
    client_ = MustCreate(OptionsFor(server_->server().address()));
  }

  void TearDown() override {
    receiver_->Stop();
    server_.reset();
  }

  // A paused webhook of acme: every event it matches produces exactly one
  // update (HELD), without any delivery attempt.
  v1::Webhook CreatePausedWebhook() {
    v1::CreateWebhookRequest request;
    request.set_parent(kAcme);
    *request.mutable_webhook() = SampleWebhook(receiver_->Url("/hooks/paused"));
    request.mutable_webhook()->set_enabled(false);
    auto created = client_->CreateWebhook(request);
    EXPECT_TRUE(created.ok()) << created.status();
    return created.value_or(v1::Webhook());
  }

  std::unique_ptr<testing::HttpsReceiver> receiver_;
  std::unique_ptr<TestServer> server_;
  std::unique_ptr<Client> client_;
};

TEST_F(ClientTest, EveryMethodRoundTrips) {
  Client& client = *client_;

  v1::ListEventTypesRequest list_types;
  list_types.set_parent(kAcme);
  auto types = client.ListEventTypes(list_types);
  ASSERT_TRUE(types.ok()) << types.status();
  std::vector<std::string> type_names;
  for (const auto& type : types->event_types()) type_names.push_back(type.name());
  EXPECT_THAT(type_names, ::testing::Contains("booking.created"));

  v1::CreateWebhookRequest create;
  create.set_parent(kAcme);
  *create.mutable_webhook() = SampleWebhook(receiver_->Url("/hooks/pms"));
  auto created = client.CreateWebhook(create);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_THAT(created->name(), StartsWith("accounts/acme/webhooks/wh_"));
  EXPECT_THAT(created->secret(), StartsWith("whsec_"));
  EXPECT_TRUE(created->enabled());

  v1::GetWebhookRequest get;
  get.set_name(created->name());
  auto got = client.GetWebhook(get);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->display_name(), "PMS Booking Sync");
  EXPECT_EQ(got->secret(), "");

  v1::ListWebhooksRequest list;
  list.set_parent(kAcme);
  auto listed = client.ListWebhooks(list);
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_THAT(listed->webhooks(), SizeIs(1));
  EXPECT_EQ(listed->webhooks(0).name(), created->name());

  v1::UpdateWebhookRequest update;
  update.mutable_webhook()->set_name(created->name());
  update.mutable_webhook()->set_display_name("PMS v2");
  update.mutable_update_mask()->add_paths("display_name");
  auto updated = client.UpdateWebhook(update);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->display_name(), "PMS v2");

  v1::RotateWebhookSecretRequest rotate;
  rotate.set_name(created->name());
  auto rotated = client.RotateWebhookSecret(rotate);
  ASSERT_TRUE(rotated.ok()) << rotated.status();
  EXPECT_THAT(rotated->secret(), StartsWith("whsec_"));
  EXPECT_NE(rotated->secret(), created->secret());

  auto published = client.PublishEvent(BookingCreated("B-1"));
  ASSERT_TRUE(published.ok()) << published.status();
  ASSERT_THAT(published->event().deliveries(), SizeIs(1));
  EXPECT_FALSE(published->replayed());

  v1::BatchPublishEventsRequest batch;
  batch.set_parent(kAcme);
  *batch.add_requests() = BookingCreated("B-2");
  *batch.add_requests() = BookingCreated("B-3");
  auto batched = client.BatchPublishEvents(batch);
  ASSERT_TRUE(batched.ok()) << batched.status();
  ASSERT_THAT(batched->responses(), SizeIs(2));

  v1::GetEventRequest get_event;
  get_event.set_name(published->event().name());
  auto event = client.GetEvent(get_event);
  ASSERT_TRUE(event.ok()) << event.status();
  EXPECT_EQ(event->data_json(), R"({"booking_id":"B-1"})");
  EXPECT_EQ(event->event_type(), "booking.created");

  v1::ListEventsRequest list_events;
  list_events.set_parent(kAcme);
  auto events = client.ListEvents(list_events);
  ASSERT_TRUE(events.ok()) << events.status();
  EXPECT_THAT(events->events(), SizeIs(3));

  // Watch the first event's delivery until it succeeded; returning false
  // ends the watch with OK.
  v1::WatchDeliveriesRequest watch;
  watch.set_parent(kAcme);
  watch.set_event(published->event().name());
  watch.set_start_cursor(published->watch_cursor());
  std::vector<v1::DeliveryState> states;
  const absl::Status watched = client.WatchDeliveries(
      watch,
      [&](const v1::WatchDeliveriesResponse& response) {
        states.push_back(response.delivery().state());
        return response.delivery().state() != v1::DELIVERY_STATE_SUCCEEDED;
      },
      WatchOptions{nullptr, kWait, 0});
  ASSERT_TRUE(watched.ok()) << watched;
  EXPECT_THAT(states, ElementsAre(v1::DELIVERY_STATE_PENDING, v1::DELIVERY_STATE_SUCCEEDED));

  v1::ListDeliveriesRequest list_deliveries;
  list_deliveries.set_parent(created->name());
  auto deliveries = client.ListDeliveries(list_deliveries);
  ASSERT_TRUE(deliveries.ok()) << deliveries.status();
  EXPECT_THAT(deliveries->deliveries(), SizeIs(3));

  const std::string delivery_name = published->event().deliveries(0).name();
  v1::GetDeliveryRequest get_delivery;
  get_delivery.set_name(delivery_name);
  auto delivery = client.GetDelivery(get_delivery);
  ASSERT_TRUE(delivery.ok()) << delivery.status();
  EXPECT_EQ(delivery->state(), v1::DELIVERY_STATE_SUCCEEDED);
  ASSERT_THAT(delivery->attempts(), SizeIs(1));
  EXPECT_EQ(delivery->attempts(0).http_status(), 200);

  v1::RetryDeliveryRequest retry;
  retry.set_name(delivery_name);
  auto retried = client.RetryDelivery(retry);
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_EQ(retried->name(), delivery_name);
  EXPECT_EQ(retried->state(), v1::DELIVERY_STATE_PENDING);

  v1::DeleteWebhookRequest remove;
  remove.set_name(created->name());
  auto deleted = client.DeleteWebhook(remove);
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  auto gone = client.GetWebhook(get);
  EXPECT_EQ(gone.status().code(), absl::StatusCode::kNotFound) << gone.status();
}

TEST_F(ClientTest, ErrorsKeepTheServersCodeAndMessage) {
  v1::GetWebhookRequest get;
  get.set_name("accounts/acme/webhooks/wh_00000000000000000000000000");
  auto missing = client_->GetWebhook(get);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);

  v1::GetWebhookRequest malformed;
  malformed.set_name("webhooks/x");
  auto invalid = client_->GetWebhook(malformed);
  EXPECT_EQ(invalid.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(invalid.status().message()), HasSubstr("name"));
}

TEST_F(ClientTest, MissingOrUnknownTokenIsUnauthenticated) {
  v1::ListWebhooksRequest list;
  list.set_parent(kAcme);
  auto anonymous = MustCreate(OptionsFor(server_->server().address(), ""));
  EXPECT_EQ(anonymous->ListWebhooks(list).status().code(), absl::StatusCode::kUnauthenticated);

  auto stranger = MustCreate(OptionsFor(server_->server().address(), "no-such-token"));
  EXPECT_EQ(stranger->ListWebhooks(list).status().code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(ClientTest, TokenOfAnotherAccountIsPermissionDenied) {
  auto acme = MustCreate(OptionsFor(server_->server().address(), kAcmeToken));
  v1::ListWebhooksRequest list;
  list.set_parent("accounts/beta");
  EXPECT_EQ(acme->ListWebhooks(list).status().code(), absl::StatusCode::kPermissionDenied);
  list.set_parent(kAcme);
  EXPECT_TRUE(acme->ListWebhooks(list).ok());
}

TEST_F(ClientTest, PublishWithoutKeyGetsAUuidKeyAndRepeatingItReplays) {
  auto first = client_->PublishEvent(BookingCreated("B-1"));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_FALSE(first->replayed());
  const std::string key = first->event().idempotency_key();
  EXPECT_THAT(key, MatchesRegex(kUuidV4Pattern));

  v1::PublishEventRequest again = BookingCreated("B-1");
  again.set_idempotency_key(key);
  auto second = client_->PublishEvent(again);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_TRUE(second->replayed());
  EXPECT_EQ(second->event().name(), first->event().name());

  // A request without a key is a new event every time.
  auto third = client_->PublishEvent(BookingCreated("B-1"));
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_FALSE(third->replayed());
  EXPECT_NE(third->event().idempotency_key(), key);
}

TEST_F(ClientTest, CallerKeyIsKeptAndBatchEntriesGetOneKeyEach) {
  v1::BatchPublishEventsRequest batch;
  batch.set_parent(kAcme);
  *batch.add_requests() = BookingCreated("B-1");
  *batch.add_requests() = BookingCreated("B-2");
  batch.mutable_requests(1)->set_idempotency_key("booking-B-2-created");
  auto published = client_->BatchPublishEvents(batch);
  ASSERT_TRUE(published.ok()) << published.status();
  ASSERT_THAT(published->responses(), SizeIs(2));
  EXPECT_THAT(published->responses(0).event().idempotency_key(), MatchesRegex(kUuidV4Pattern));
  EXPECT_EQ(published->responses(1).event().idempotency_key(), "booking-B-2-created");
}

TEST(IdempotencyKeyTest, IsAFreshUuidV4) {
  const std::string a = NewIdempotencyKey();
  const std::string b = NewIdempotencyKey();
  EXPECT_THAT(a, MatchesRegex(kUuidV4Pattern));
  EXPECT_THAT(b, MatchesRegex(kUuidV4Pattern));
  EXPECT_NE(a, b);
}

// The server commits the publish but its answer is lost: the retry carries
// the key the client chose before the first attempt, so the server replays
// instead of publishing a second event.
TEST_F(ClientTest, PublishRetriedAfterALostResponseReplays) {
  AttemptLog log;
  RetryRecorder retries;
  ClientOptions options = OptionsFor("");
  options.channel = InterceptedChannel(server_->server().address(), &log);
  options.on_retry = retries.Callback();
  auto client = MustCreate(std::move(options));

  log.LoseResponses(WebhookMethod("PublishEvent"), 1);
  auto published = client->PublishEvent(BookingCreated("B-1"));
  ASSERT_TRUE(published.ok()) << published.status();
  EXPECT_TRUE(published->replayed());
  EXPECT_EQ(log.Attempts(WebhookMethod("PublishEvent")), 2);
  EXPECT_THAT(retries.methods(), ElementsAre("PublishEvent"));
  EXPECT_THAT(retries.codes(), ElementsAre(absl::StatusCode::kUnavailable));

  log.LoseResponses(WebhookMethod("BatchPublishEvents"), 1);
  v1::BatchPublishEventsRequest batch;
  batch.set_parent(kAcme);
  *batch.add_requests() = BookingCreated("B-2");
  *batch.add_requests() = BookingCreated("B-3");
  auto batched = client->BatchPublishEvents(batch);
  ASSERT_TRUE(batched.ok()) << batched.status();
  ASSERT_THAT(batched->responses(), SizeIs(2));
  EXPECT_TRUE(batched->responses(0).replayed());
  EXPECT_TRUE(batched->responses(1).replayed());
  EXPECT_EQ(log.Attempts(WebhookMethod("BatchPublishEvents")), 2);

  v1::ListEventsRequest list;
  list.set_parent(kAcme);
  auto events = client_->ListEvents(list);
  ASSERT_TRUE(events.ok()) << events.status();
  EXPECT_THAT(events->events(), SizeIs(3));  // B-1, B-2, B-3: each once
}

// A server that does not listen yet: calls that must not be repeated are
// tried once, reads as often as the policy allows.
TEST(ClientRetryTest, OnlyCallsSafeToRepeatAreRetried) {
  ReservedPort port;
  AttemptLog log;
  ClientOptions options = OptionsFor("");
  options.channel = InterceptedChannel(port.address(), &log);
  options.retry.max_attempts = 3;
  options.retry.initial_backoff = absl::Milliseconds(1);
  options.retry.max_backoff = absl::Milliseconds(5);
  auto client = MustCreate(std::move(options));

  v1::CreateWebhookRequest create;
  create.set_parent(kAcme);
  EXPECT_EQ(client->CreateWebhook(create).status().code(), absl::StatusCode::kUnavailable);
  v1::UpdateWebhookRequest update;
  EXPECT_EQ(client->UpdateWebhook(update).status().code(), absl::StatusCode::kUnavailable);
  v1::DeleteWebhookRequest remove;
  EXPECT_EQ(client->DeleteWebhook(remove).status().code(), absl::StatusCode::kUnavailable);
  v1::RotateWebhookSecretRequest rotate;
  EXPECT_EQ(client->RotateWebhookSecret(rotate).status().code(), absl::StatusCode::kUnavailable);
  v1::RetryDeliveryRequest retry;
  EXPECT_EQ(client->RetryDelivery(retry).status().code(), absl::StatusCode::kUnavailable);
  for (const std::string& method :
       {WebhookMethod("CreateWebhook"), WebhookMethod("UpdateWebhook"),
        WebhookMethod("DeleteWebhook"), WebhookMethod("RotateWebhookSecret"),
        DeliveryMethod("RetryDelivery")}) {
    EXPECT_EQ(log.Attempts(method), 1) << method;
  }

  v1::GetWebhookRequest get;
  EXPECT_EQ(client->GetWebhook(get).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(log.Attempts(WebhookMethod("GetWebhook")), 3);
  EXPECT_EQ(client->PublishEvent(BookingCreated("B-1")).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(log.Attempts(WebhookMethod("PublishEvent")), 3);
  v1::ListDeliveriesRequest list;
  EXPECT_EQ(client->ListDeliveries(list).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(log.Attempts(DeliveryMethod("ListDeliveries")), 3);
}

// With an attempt budget far beyond the deadline, the deadline ends the
// call: no attempt and no backoff wait starts after it.
TEST(ClientRetryTest, NoRetryAfterTheDeadline) {
  ReservedPort port;
  AttemptLog log;
  ClientOptions options = OptionsFor("");
  options.channel = InterceptedChannel(port.address(), &log);
  options.retry.max_attempts = 1000;
  options.retry.initial_backoff = absl::Milliseconds(50);
  auto client = MustCreate(std::move(options));

  v1::ListWebhooksRequest list;
  list.set_parent(kAcme);
  const absl::Status status = client->ListWebhooks(list, {absl::Milliseconds(400)}).status();
  EXPECT_TRUE(absl::IsUnavailable(status)) << status;
  // 50, 100, 200 ms... of backoff fit about four attempts into 400 ms.
  EXPECT_GE(log.Attempts(WebhookMethod("ListWebhooks")), 1);
  EXPECT_LT(log.Attempts(WebhookMethod("ListWebhooks")), 10);
}

// The deadline passing inside a retry (here: the server's port starts
// listening but never answers) is reported as the UNAVAILABLE that caused
// the retries, not as DEADLINE_EXCEEDED: the server was unreachable, not slow.
TEST(ClientRetryTest, ADeadlinePassingInARetryReportsWhyItRetried) {
  ReservedPort port;
  ClientOptions options = OptionsFor(port.address());
  options.retry.max_attempts = 1000;
  options.retry.initial_backoff = absl::Milliseconds(20);
  options.retry.max_backoff = absl::Milliseconds(50);
  std::atomic<bool> listening{false};
  options.on_retry = [&](const RetryEvent&) {
    if (!listening.exchange(true)) port.ListenSilently();
  };
  auto client = MustCreate(std::move(options));

  v1::ListWebhooksRequest list;
  list.set_parent(kAcme);
  const absl::Status status = client->ListWebhooks(list, {absl::Seconds(1)}).status();

  EXPECT_TRUE(listening.load());
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("attempts, then the deadline passed"));
}

TEST(ClientRetryTest, SucceedsOnceTheServerListens) {
  ReservedPort port;
  RetryRecorder retries;
  ClientOptions options = OptionsFor(port.address());
  options.retry.max_attempts = 100;  // the 10 s deadline is the limit
  options.on_retry = retries.Callback();
  auto client = MustCreate(std::move(options));

  v1::ListEventTypesRequest request;
  request.set_parent(kAcme);
  auto call = std::async(std::launch::async, [&] { return client->ListEventTypes(request); });
  ASSERT_TRUE(retries.WaitFor(1));  // the first attempt was refused
  port.Release();
  TestServer server(
      [&](config::ServerConfig& config) { config.set_listen_address(port.address()); });
  auto types = call.get();
  ASSERT_TRUE(types.ok()) << types.status();
  EXPECT_FALSE(types->event_types().empty());
  EXPECT_THAT(retries.codes(), ::testing::Each(absl::StatusCode::kUnavailable));
}

TEST(ClientOptionsTest, InvalidOptionsNameTheField) {
  ClientOptions no_address;
  auto missing = Client::Create(no_address);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(missing.status().message()), StartsWith("address:"));

  ClientOptions spaced = OptionsFor("127.0.0.1:1", "two words");
  EXPECT_THAT(std::string(Client::Create(spaced).status().message()), StartsWith("token:"));

  ClientOptions no_attempts = OptionsFor("127.0.0.1:1");
  no_attempts.retry.max_attempts = 0;
  auto zero = Client::Create(no_attempts);
  EXPECT_EQ(zero.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(zero.status().message()), StartsWith("retry.max_attempts:"));

  ClientOptions jitter = OptionsFor("127.0.0.1:1");
  jitter.retry.jitter = 1.5;
  EXPECT_THAT(std::string(Client::Create(jitter).status().message()), StartsWith("retry.jitter:"));
}

// Against a server that never answers, a call can end only by its deadline:
// the call's own, not the client's default. (A tiny deadline against a live
// server is no test: gRPC rounds deadlines up to its millisecond timers, and
// a local call can finish within one.)
TEST_F(ClientTest, PerCallTimeoutOverridesTheDefault) {
  ReservedPort silent;
  silent.ListenSilently();
  ClientOptions options = OptionsFor(silent.address());
  options.default_timeout = absl::Seconds(120);
  auto unanswered = MustCreate(std::move(options));
  v1::ListWebhooksRequest list;
  list.set_parent(kAcme);

  const absl::Time start = absl::Now();
  EXPECT_EQ(unanswered->ListWebhooks(list, {absl::Milliseconds(200)}).status().code(),
            absl::StatusCode::kDeadlineExceeded);
  EXPECT_LT(absl::Now() - start, absl::Seconds(60)) << "ended by the call's 200 ms, not 120 s";

  auto zero = client_->ListWebhooks(list, {absl::ZeroDuration()});
  EXPECT_EQ(zero.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(zero.status().message()), StartsWith("timeout:"));
  EXPECT_TRUE(client_->ListWebhooks(list, {absl::Seconds(30)}).ok());
}

// A server restarted on the same data directory and port: unary calls and a
// running watch carry on; the watch sees every update once, in order.
TEST(ClientRestartTest, WatchResumesAfterRestartWithoutLossOrRepeats) {
  ReservedPort port;
  port.Release();
  TestServer server(
      [&](config::ServerConfig& config) { config.set_listen_address(port.address()); });
  RetryRecorder retries;
  ClientOptions options = OptionsFor(port.address());
  options.retry.max_attempts = 1000;  // the deadline is the limit
  // Quick reconnects: they also reach the old server while it shuts down,
  // and the port while nothing listens on it.
  options.retry.initial_backoff = absl::Milliseconds(1);
  options.retry.max_backoff = absl::Milliseconds(20);
  options.on_retry = retries.Callback();
  auto client = MustCreate(std::move(options));

  v1::CreateWebhookRequest create;
  create.set_parent(kAcme);
  *create.mutable_webhook() = SampleWebhook("https://pms.example.com/hooks");
  create.mutable_webhook()->set_enabled(false);  // one HELD update per event
  auto webhook = client->CreateWebhook(create);
  ASSERT_TRUE(webhook.ok()) << webhook.status();

  ResumeScenario scenario(*client);
  ASSERT_NO_FATAL_FAILURE(scenario.Start());
  server.Restart();
  scenario.Finish();
  EXPECT_THAT(retries.methods(), ::testing::Contains("WatchDeliveries"));
}

// A connection that breaks without a word from the server: the watch
// resumes after the last update it delivered. The broken stream's status is
// turned into the bare CANCELLED that gRPC gives a call reaching a server
// while it shuts down, which the watch must survive as well.
TEST_F(ClientTest, WatchResumesAfterAConnectionDropWithoutLossOrRepeats) {
  TcpProxy proxy(server_->server().port());
  AttemptLog log;
  log.ReplaceNextFailure(DeliveryMethod("WatchDeliveries"),
                         grpc::Status(grpc::StatusCode::CANCELLED, "CANCELLED"));
  RetryRecorder retries;
  ClientOptions options = OptionsFor("");
  options.channel = InterceptedChannel(proxy.address(), &log);
  options.retry.max_attempts = 100;  // the deadline is the limit
  options.on_retry = retries.Callback();
  auto client = MustCreate(std::move(options));
  CreatePausedWebhook();

  ResumeScenario scenario(*client);
  ASSERT_NO_FATAL_FAILURE(scenario.Start());
  proxy.CutConnections();
  ASSERT_TRUE(retries.WaitFor(1));  // noticed (by the watch or a publish)
  scenario.Finish();
  EXPECT_THAT(retries.methods(), ::testing::Contains("WatchDeliveries"));
  EXPECT_THAT(retries.codes(), ::testing::Contains(absl::StatusCode::kCancelled));
}

TEST_F(ClientTest, CancelEndsAWatchBlockedOnTheStream) {
  CreatePausedWebhook();
  auto first = client_->PublishEvent(BookingCreated("B-1"));
  ASSERT_TRUE(first.ok()) << first.status();
  v1::WatchDeliveriesRequest request;
  request.set_parent(kAcme);
  request.set_start_cursor(first->watch_cursor());
  WatchRun watch(*client_, request);
  ASSERT_TRUE(watch.WaitForUpdates(1));  // connected; now waiting for more
  watch.Cancel();
  EXPECT_EQ(watch.Result().code(), absl::StatusCode::kCancelled);
}

TEST(ClientWatchTest, CancelEndsAWatchWaitingToReconnect) {
  ReservedPort port;
  RetryRecorder retries;
  ClientOptions options = OptionsFor(port.address());
  options.retry.initial_backoff = absl::Minutes(10);  // returning at all proves the wake-up
  options.retry.max_backoff = absl::Minutes(10);
  options.on_retry = retries.Callback();
  auto client = MustCreate(std::move(options));

  v1::WatchDeliveriesRequest request;
  request.set_parent(kAcme);
  WatchRun watch(*client, request);
  ASSERT_TRUE(retries.WaitFor(1));
  watch.Cancel();
  EXPECT_EQ(watch.Result().code(), absl::StatusCode::kCancelled);
}

TEST_F(ClientTest, WatchCancelledBeforeItStartsReturnsAtOnce) {
  WatchCancellation cancellation;
  cancellation.Cancel();
  EXPECT_TRUE(cancellation.cancelled());
  v1::WatchDeliveriesRequest request;
  request.set_parent(kAcme);
  int calls = 0;
  const absl::Status status = client_->WatchDeliveries(
      request, [&](const v1::WatchDeliveriesResponse&) { return ++calls, true; },
      WatchOptions{&cancellation, std::nullopt, 0});
  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(calls, 0);
}

TEST_F(ClientTest, WatchReturnsErrorsOtherThanUnavailable) {
  auto acme = MustCreate(OptionsFor(server_->server().address(), kAcmeToken));
  auto never = [](const v1::WatchDeliveriesResponse&) { return true; };
  v1::WatchDeliveriesRequest request;
  request.set_parent("accounts/beta");
  EXPECT_EQ(acme->WatchDeliveries(request, never).code(), absl::StatusCode::kPermissionDenied);

  request.set_parent(kAcme);
  request.set_start_cursor(int64_t{1} << 40);
  const absl::Status ahead = acme->WatchDeliveries(request, never);
  EXPECT_EQ(ahead.code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(std::string(ahead.message()), HasSubstr("start_cursor"));
}

TEST_F(ClientTest, WatchTimeoutEndsAQuietWatch) {
  v1::WatchDeliveriesRequest request;
  request.set_parent(kAcme);
  const absl::Status status = client_->WatchDeliveries(
      request, [](const v1::WatchDeliveriesResponse&) { return true; },
      WatchOptions{nullptr, absl::Milliseconds(200), 0});
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded);
}

TEST(ClientWatchTest, GivesUpAfterMaxReconnectAttempts) {
  ReservedPort port;
  ClientOptions options = OptionsFor(port.address());
  options.retry.initial_backoff = absl::Milliseconds(1);
  options.retry.max_backoff = absl::Milliseconds(5);
  auto client = MustCreate(std::move(options));
  v1::WatchDeliveriesRequest request;
  request.set_parent(kAcme);
  int calls = 0;
  const absl::Status status = client->WatchDeliveries(
      request, [&](const v1::WatchDeliveriesResponse&) { return ++calls, true; },
      WatchOptions{nullptr, std::nullopt, 3});
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(calls, 0);
}

// ---- ApplicationService ----

class ClientApplicationsTest : public ::testing::Test {
 protected:
  ClientApplicationsTest() : client_(MustCreate(OptionsFor(server_.server().address()))) {}

  // Creates acme's application `id` with `scopes`.
  v1::CreateApplicationResponse Create(const std::string& id, std::vector<v1::Scope> scopes = {}) {
    v1::CreateApplicationRequest request;
    request.set_parent(kAcme);
    request.set_application_id(id);
    request.mutable_application()->set_display_name("Channel manager " + id);
    for (const v1::Scope scope : scopes) request.mutable_application()->add_scopes(scope);
    auto created = client_->CreateApplication(request);
    EXPECT_TRUE(created.ok()) << created.status();
    return created.value_or(v1::CreateApplicationResponse());
  }

  // ListWebhooks of acme with `key` as the token: a SCOPE_READ call.
  absl::Status ListWebhooksWith(const std::string& key) {
    auto client = MustCreate(OptionsFor(server_.server().address(), key));
    v1::ListWebhooksRequest request;
    request.set_parent(kAcme);
    return client->ListWebhooks(request).status();
  }

  TestServer server_;
  std::unique_ptr<Client> client_;
};

TEST_F(ClientApplicationsTest, CreateGetListUpdateRoundTrip) {
  const v1::CreateApplicationResponse created =
      Create("channel-manager", {v1::SCOPE_PUBLISH, v1::SCOPE_READ});
  const v1::Application& application = created.application();
  EXPECT_EQ(application.name(), "accounts/acme/applications/channel-manager");
  EXPECT_EQ(application.display_name(), "Channel manager channel-manager");
  EXPECT_THAT(application.scopes(), ElementsAre(v1::SCOPE_READ, v1::SCOPE_PUBLISH));
  EXPECT_EQ(application.state(), v1::APPLICATION_STATE_ACTIVE);
  EXPECT_THAT(created.api_key(), MatchesRegex("wak_[A-Za-z0-9_-]{43}"));
  EXPECT_EQ(application.key_prefix(), created.api_key().substr(0, 12));
  EXPECT_EQ(application.create_time().seconds(), absl::ToUnixSeconds(server_.clock().Now()));
  // The key works as a token of another client, within its scopes.
  EXPECT_TRUE(ListWebhooksWith(created.api_key()).ok());

  v1::GetApplicationRequest get;
  get.set_name(application.name());
  auto got = client_->GetApplication(get);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->key_prefix(), application.key_prefix());
  EXPECT_EQ(got->DebugString().find(created.api_key()), std::string::npos);

  // Three applications, listed one per page in id order.
  Create("alpha");
  Create("zulu", {v1::SCOPE_MANAGE});
  v1::ListApplicationsRequest list;
  list.set_parent(kAcme);
  list.set_page_size(1);
  std::vector<std::string> names;
  int pages = 0;
  do {
    auto page = client_->ListApplications(list);
    ASSERT_TRUE(page.ok()) << page.status();
    ASSERT_THAT(page->applications(), SizeIs(1));
    names.push_back(page->applications(0).name());
    list.set_page_token(page->next_page_token());
    ASSERT_LE(++pages, 3);
  } while (!list.page_token().empty());
  EXPECT_THAT(names, ElementsAre("accounts/acme/applications/alpha",
                                 "accounts/acme/applications/channel-manager",
                                 "accounts/acme/applications/zulu"));

  v1::UpdateApplicationRequest update;
  update.mutable_application()->set_name(application.name());
  update.mutable_application()->set_description("Publishes bookings");
  update.mutable_update_mask()->add_paths("description");
  auto updated = client_->UpdateApplication(update);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->description(), "Publishes bookings");
  EXPECT_EQ(updated->display_name(), "Channel manager channel-manager");  // not in the mask

  update.mutable_update_mask()->set_paths(0, "scopes");
  const absl::Status fixed = client_->UpdateApplication(update).status();
  EXPECT_EQ(fixed.code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ClientApplicationsTest, RotateRevokeAndDelete) {
  const v1::CreateApplicationResponse created = Create("pms");
  const std::string& name = created.application().name();

  // With an overlap both keys work until it ends.
  v1::RotateApplicationKeyRequest rotate;
  rotate.set_name(name);
  rotate.mutable_previous_key_overlap()->set_seconds(600);
  auto rotated = client_->RotateApplicationKey(rotate);
  ASSERT_TRUE(rotated.ok()) << rotated.status();
  const std::string second = rotated->api_key();
  EXPECT_NE(second, created.api_key());
  EXPECT_EQ(rotated->application().key_prefix(), second.substr(0, 12));
  EXPECT_EQ(rotated->application().previous_key_expire_time().seconds(),
            absl::ToUnixSeconds(server_.clock().Now() + absl::Minutes(10)));
  EXPECT_TRUE(ListWebhooksWith(created.api_key()).ok());
  EXPECT_TRUE(ListWebhooksWith(second).ok());

  // Without one the previous key stops at once.
  rotate.clear_previous_key_overlap();
  rotated = client_->RotateApplicationKey(rotate);
  ASSERT_TRUE(rotated.ok()) << rotated.status();
  const absl::Status old_key = ListWebhooksWith(second);
  EXPECT_EQ(old_key.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(ListWebhooksWith(rotated->api_key()).ok());

  v1::RevokeApplicationRequest revoke;
  revoke.set_name(name);
  auto revoked = client_->RevokeApplication(revoke);
  ASSERT_TRUE(revoked.ok()) << revoked.status();
  EXPECT_EQ(revoked->state(), v1::APPLICATION_STATE_REVOKED);
  EXPECT_EQ(revoked->revoke_time().seconds(), absl::ToUnixSeconds(server_.clock().Now()));
  EXPECT_EQ(ListWebhooksWith(rotated->api_key()).code(), absl::StatusCode::kUnauthenticated);
  // A repeat (what a retry would send) returns the same revoked application.
  auto again = client_->RevokeApplication(revoke);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->revoke_time().seconds(), revoked->revoke_time().seconds());
  const absl::Status rotate_revoked = client_->RotateApplicationKey(rotate).status();
  EXPECT_EQ(rotate_revoked.code(), absl::StatusCode::kFailedPrecondition);

  v1::DeleteApplicationRequest remove;
  remove.set_name(name);
  ASSERT_TRUE(client_->DeleteApplication(remove).ok());
  v1::GetApplicationRequest get;
  get.set_name(name);
  EXPECT_EQ(client_->GetApplication(get).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(client_->DeleteApplication(remove).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(ClientApplicationsTest, ErrorsKeepTheServersCodeAndMessage) {
  Create("pms");
  v1::CreateApplicationRequest request;
  request.set_parent(kAcme);
  request.set_application_id("pms");
  request.mutable_application()->set_display_name("Again");
  EXPECT_EQ(client_->CreateApplication(request).status().code(), absl::StatusCode::kAlreadyExists);
  request.set_application_id("Bad_Id");
  const absl::Status bad_id = client_->CreateApplication(request).status();
  EXPECT_EQ(bad_id.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad_id.message()), StartsWith("application_id:"));

  // A publish-only key may not manage applications.
  const std::string publisher = Create("publisher", {v1::SCOPE_PUBLISH}).api_key();
  auto as_publisher = MustCreate(OptionsFor(server_.server().address(), publisher));
  v1::ListApplicationsRequest list;
  list.set_parent(kAcme);
  const absl::Status denied = as_publisher->ListApplications(list).status();
  EXPECT_EQ(denied.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(denied.message()), HasSubstr("SCOPE_"));
}

TEST(ClientRetryTest, OnlyApplicationCallsSafeToRepeatAreRetried) {
  ReservedPort port;
  AttemptLog log;
  ClientOptions options = OptionsFor("");
  options.channel = InterceptedChannel(port.address(), &log);
  options.retry.max_attempts = 3;
  options.retry.initial_backoff = absl::Milliseconds(1);
  options.retry.max_backoff = absl::Milliseconds(5);
  auto client = MustCreate(std::move(options));

  EXPECT_EQ(client->CreateApplication({}).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(client->UpdateApplication({}).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(client->DeleteApplication({}).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(client->RotateApplicationKey({}).status().code(), absl::StatusCode::kUnavailable);
  for (const char* method :
       {"CreateApplication", "UpdateApplication", "DeleteApplication", "RotateApplicationKey"}) {
    EXPECT_EQ(log.Attempts(ApplicationMethod(method)), 1) << method;
  }

  EXPECT_EQ(client->GetApplication({}).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(client->ListApplications({}).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(client->RevokeApplication({}).status().code(), absl::StatusCode::kUnavailable);
  for (const char* method : {"GetApplication", "ListApplications", "RevokeApplication"}) {
    EXPECT_EQ(log.Attempts(ApplicationMethod(method)), 3) << method;
  }
}

}  // namespace
}  // namespace wink::webhooks
