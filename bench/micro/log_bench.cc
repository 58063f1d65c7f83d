// What a log line costs the thread that writes it: the line an RPC logs when
// it finishes (UnaryCall::Finish), at INFO (queued for the background
// writer) and at WARN (written before the call returns, as every line was
// before the queue). stderr goes to a file meanwhile, as with
// `wink-webhooks-server 2>>server.log`. The CPU column is the whole
// process's, so it includes the background writer's share.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "service/common/log.h"

namespace wink::webhooks {
namespace {

// Points stderr at a scratch file for one benchmark run.
class StderrToScratchFile {
 public:
  StderrToScratchFile() : path_(absl::StrCat("/tmp/wink-log-bench-", getpid())) {
    FlushLog();
    const int file = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    saved_ = ::dup(STDERR_FILENO);
    if (file >= 0) {
      ::dup2(file, STDERR_FILENO);
      ::close(file);
    }
  }
  ~StderrToScratchFile() {
    FlushLog();
    ::dup2(saved_, STDERR_FILENO);
    ::close(saved_);
    std::remove(path_.c_str());
  }

 private:
  std::string path_;
  int saved_;
};

// Arg: 0 = INFO, 1 = WARN.
void BM_RpcLogLine(benchmark::State& state) {
  const LogLevel level = state.range(0) == 0 ? LogLevel::kInfo : LogLevel::kWarning;
  StderrToScratchFile scratch;
  for (auto _ : state) {
    LogLine(level, "rpc")
        .Field("method", "PublishEvent")
        .Field("principal", "bench")
        .Field("account", "acme")
        .Field("code", "OK")
        .Field("latency_ms", 1.25);
  }
  state.SetLabel(level == LogLevel::kInfo ? "INFO: queued" : "WARN: written at once");
}
BENCHMARK(BM_RpcLogLine)->Arg(0)->Arg(1)->MeasureProcessCPUTime();

}  // namespace
}  // namespace wink::webhooks
