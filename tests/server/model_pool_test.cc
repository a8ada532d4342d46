// server/model_pool.h with real engines (stories260K): a lease pins its model; a load that needs
// the memory of a busy model waits (503 when the wait runs out) while that model takes no new
// leases, and goes ahead, unloading the idle one, once the lease ends; a model larger than the cap is refused (507); lookups by id and name.
#include "server/model_pool.h"

#include <gtest/gtest.h>

#include <thread>

#include "chat/chat_template.h"
#include "runtime/loaded_model.h"
#include "test_util.h"

namespace nuri::server {
namespace {

using namespace std::chrono_literals;

ModelPool::Loader stories_loader(std::atomic<int>* loads) {
  return [loads](const ModelEntry& e) -> Result<std::unique_ptr<ServedModel>> {
    ++*loads;
    NURI_ASSIGN_OR_RETURN(runtime::LoadedModel lm, runtime::load_model(e.path));
    engine::EngineParams p;
    p.n_parallel = 1;
    p.n_ctx = 64;
    p.n_threads = 1;
    NURI_ASSIGN_OR_RETURN(auto eng, engine::Engine::create(lm.model, lm.tokenizer, p));
    return std::make_unique<ServedModel>(std::move(eng), chat::ChatTemplate::chatml(), "<s>", "</s>");
  };
}

std::vector<ModelEntry> two_entries() {
  const std::string path = test::shared_dir() + "/models/stories260K-F32.gguf";
  return {ModelEntry{"a", path, {"alpha"}, 100, 64}, ModelEntry{"b", path, {"beta"}, 100, 64}};
}

TEST(ModelPool, LeasesPinModelsUnderTheCap) {
  NURI_REQUIRE_SHARED();
  std::atomic<int> loads{0};
  ModelPool pool(two_entries(), stories_loader(&loads), 150);  // room for one
  EXPECT_EQ(pool.find("a"), 0);
  EXPECT_EQ(pool.find("beta"), 1);
  EXPECT_EQ(pool.find("gamma"), -1);
  int status = 0;
  auto la = pool.acquire(0, 1s, &status);
  ASSERT_TRUE(la.ok()) << la.error();
  EXPECT_EQ(loads.load(), 1);
  // b needs a's memory while a is leased: the wait runs out.
  auto lb = pool.acquire(1, 100ms, &status);
  EXPECT_FALSE(lb.ok());
  EXPECT_EQ(status, 503);
  EXPECT_EQ(pool.unloads(), 0u);
  // A request on a keeps working meanwhile.
  engine::Request r;
  r.prompt = (*la)->engine->tokenizer().encode("Once upon a time", true, true);
  r.max_tokens = 4;
  r.sampling.temperature = 0;
  auto sub = (*la)->engine->submit(r);
  ASSERT_EQ(sub.code, engine::SubmitCode::kOk);
  // b waits; the lease on a ends after 200 ms; then a is unloaded and b loaded.
  bool drained = false;
  int drained_status = 0;
  std::thread t([&] {
    std::this_thread::sleep_for(200ms);
    // While b waits for a's memory, a takes no new leases (b cannot be starved by a stream of a requests).
    auto more = pool.acquire(0, 50ms, &drained_status);
    drained = !more.ok();
    engine::Event ev;
    while (!sub.handle->finished()) sub.handle->next(&ev, 50ms);
    la->reset();
  });
  const auto t0 = std::chrono::steady_clock::now();
  auto lb2 = pool.acquire(1, 10s, &status);
  const auto waited = std::chrono::steady_clock::now() - t0;
  t.join();
  ASSERT_TRUE(lb2.ok()) << lb2.error();
  EXPECT_GE(waited, 150ms);
  EXPECT_TRUE(drained);
  EXPECT_EQ(drained_status, 503);
  EXPECT_TRUE(sub.handle->finished());
  EXPECT_EQ(pool.unloads(), 1u);
  EXPECT_EQ(loads.load(), 2);
  const auto st = pool.states();
  EXPECT_FALSE(st[0].loaded);
  EXPECT_TRUE(st[1].loaded);
  EXPECT_EQ(st[1].leases, 1);
  EXPECT_EQ(pool.retired().requests_finished, 1u);  // a's counters survive its unload
  // A second lease on the loaded model needs no load.
  auto lb3 = pool.acquire(1, 1s, &status);
  ASSERT_TRUE(lb3.ok());
  EXPECT_EQ(loads.load(), 2);
}

TEST(ModelPool, TooLargeForTheCap) {
  NURI_REQUIRE_SHARED();
  std::atomic<int> loads{0};
  ModelPool pool(two_entries(), stories_loader(&loads), 50);
  int status = 0;
  auto l = pool.acquire(0, 1s, &status);
  EXPECT_FALSE(l.ok());
  EXPECT_EQ(status, 507);
  EXPECT_EQ(loads.load(), 0);
}

TEST(ModelPool, SingleModelTakesAnyName) {
  NURI_REQUIRE_SHARED();
  std::atomic<int> loads{0};
  auto e = two_entries();
  e.resize(1);
  ModelPool pool(e, stories_loader(&loads), 0);
  EXPECT_EQ(pool.find("gpt-4o"), 0);
  EXPECT_EQ(pool.find(""), 0);
}

}  // namespace
}  // namespace nuri::server
