// ttc/sample.cc — one round of sampling through the engine's public API.
#include "ttc/sample.h"

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

namespace nuri::ttc {

namespace {

struct Collector {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::vector<Candidate>> cands;  // [request][choice]
  std::vector<int32_t> open;                  // choices without a done event, per request
  int32_t open_total = 0;
  int64_t tokens = 0;
  int64_t cap = -1;  // wake the waiter as soon as this many tokens were generated
};

}  // namespace

Result<RoundResult> sample_round(engine::Engine& engine, const std::vector<SampleRequest>& requests,
                                 const RoundLimits& limits) {
  auto col = std::make_shared<Collector>();
  col->cands.resize(requests.size());
  col->open.assign(requests.size(), 0);
  col->cap = limits.max_tokens;
  std::vector<std::shared_ptr<engine::RequestHandle>> handles;
  auto cancel_all = [&] {
    for (auto& h : handles) h->cancel();
  };
  auto wait_all = [&] {
    std::unique_lock lk(col->mu);
    col->cv.wait(lk, [&] { return col->open_total == 0; });
  };
  for (size_t r = 0; r < requests.size(); ++r) {
    const SampleRequest& sr = requests[r];
    engine::Request req;
    req.prompt = sr.prompt;
    req.n_choices = sr.n;
    req.max_tokens = sr.max_tokens;
    req.sampling = sr.sampling;
    req.stop = sr.stop;
    req.top_logprobs = 0;
    {
      std::lock_guard lk(col->mu);
      col->cands[r].resize(sr.n);
      col->open[r] = sr.n;
      col->open_total += sr.n;
    }
    req.on_event = [col, r](const engine::Event& ev) {
      std::lock_guard lk(col->mu);
      Candidate& c = col->cands[r][ev.choice];
      if (ev.kind == engine::Event::Kind::kToken) {
        c.tokens.push_back(ev.token);
        c.text += ev.text;
        c.sum_logprob += ev.logprob;
        ++c.n_tokens;
        ++col->tokens;
        if (col->tokens == col->cap) col->cv.notify_all();
        return;
      }
      c.text += ev.text;
      c.finished = ev.finish == engine::FinishReason::kStop;
      c.cancelled = ev.finish == engine::FinishReason::kCancelled || ev.finish == engine::FinishReason::kError;
      if (--col->open_total == 0) col->cv.notify_all();
    };
    while (true) {
      engine::SubmitResult sub = engine.submit(req);
      if (sub.code == engine::SubmitCode::kOk) {
        handles.push_back(std::move(sub.handle));
        break;
      }
      if (sub.code == engine::SubmitCode::kQueueFull && std::chrono::steady_clock::now() < limits.deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        continue;
      }
      // Refused: nothing of this request runs; cancel the rest and report.
      {
        std::lock_guard lk(col->mu);
        col->open_total -= sr.n;
      }
      cancel_all();
      wait_all();
      return Error("sampling request refused: " + sub.message);
    }
  }
  RoundResult out;
  {
    std::unique_lock lk(col->mu);
    while (col->open_total > 0) {
      col->cv.wait_for(lk, std::chrono::milliseconds(20));
      const bool late = std::chrono::steady_clock::now() >= limits.deadline;
      const bool over = limits.max_tokens >= 0 && col->tokens >= limits.max_tokens;
      if ((late || over) && !out.cut) {
        out.cut = true;
        for (auto& h : handles) h->cancel();
      }
    }
    out.candidates = std::move(col->cands);
    out.tokens = col->tokens;
  }
  return out;
}

}  // namespace nuri::ttc
