// KV cache types on nuri-tiny (head_dim 32): the paged cache holds q8_0 rows in 34/64 and q4_0
// rows in 18/64 of the f16 bytes (ggml block sizes); greedy decoding through the engine's paged
// q8_0/q4_0 cache equals the dense Session's with the same types, token for token; a model whose
// head_dim is not a multiple of 32 (stories260K: 8) is refused with a message naming the option.
#include <gtest/gtest.h>

#include "model/context.h"
#include "nuri/nuri.h"
#include "runtime/api_impl.h"
#include "runtime/session.h"
#include "test_util.h"

namespace nuri {
namespace {

std::shared_ptr<Model> tiny() {
  static std::shared_ptr<Model> m = [] {
    auto r = load(std::string(NURI_SOURCE_DIR) + "/models/nuri-tiny.gguf");
    if (!r.ok()) {
      ADD_FAILURE() << r.error();
      std::abort();
    }
    return std::move(r).value();
  }();
  return m;
}

std::vector<int32_t> greedy_session(kernels::KvType t, const std::vector<int32_t>& prompt, int n) {
  model::ContextParams cp;
  cp.n_ctx = 256;
  cp.n_threads = 1;
  cp.k_type = cp.v_type = t;
  auto s = runtime::Session::create(tiny()->impl().lm.model, cp);
  EXPECT_TRUE(s.ok()) << s.error();
  std::vector<model::BatchToken> b;
  for (size_t i = 0; i < prompt.size(); ++i) b.push_back({prompt[i], static_cast<int32_t>(i), 0, i + 1 == prompt.size()});
  std::vector<int32_t> out;
  const int32_t V = tiny()->n_vocab();
  for (int i = 0; i < n; ++i) {
    EXPECT_TRUE((*s)->decode(b).is_ok());
    const float* l = (*s)->logits(0);
    const int32_t t = static_cast<int32_t>(std::max_element(l, l + V) - l);
    out.push_back(t);
    b.assign(1, {t, static_cast<int32_t>(prompt.size()) + i, 0, true});
  }
  return out;
}

TEST(KvTypes, BytesAndPagedEqualsDense) {
  const auto prompt = tiny()->tokenize("<|im_start|>user\nWhat is 17 + 25?<|im_end|>\n<|im_start|>assistant\n");
  int64_t f16_bytes = 0;
  for (auto [ct, kt, ratio] : {std::tuple{engine::KvCacheType::kF16, kernels::KvType::kF16, 1.0},
                               std::tuple{engine::KvCacheType::kQ8_0, kernels::KvType::kQ8_0, 34.0 / 64},
                               std::tuple{engine::KvCacheType::kQ4_0, kernels::KvType::kQ4_0, 18.0 / 64}}) {
    GeneratorOptions go;
    go.n_ctx = 256;
    go.n_threads = 1;
    go.cache_type_k = go.cache_type_v = ct;
    auto gen = Generator::create(tiny(), go);
    ASSERT_TRUE(gen.ok()) << gen.error();
    GenerateOptions o;
    o.max_tokens = 24;
    o.sampling.temperature = 0;
    o.ignore_eos = true;
    auto g = (*gen)->generate(prompt, o);
    ASSERT_TRUE(g.ok()) << g.error();
    const auto st = (*gen)->engine().stats();
    if (ct == engine::KvCacheType::kF16) f16_bytes = st.kv_bytes_total;
    EXPECT_DOUBLE_EQ(static_cast<double>(st.kv_bytes_total) / f16_bytes, ratio) << engine::kv_cache_type_name(ct);
    EXPECT_EQ(g->tokens, greedy_session(kt, prompt, 24)) << engine::kv_cache_type_name(ct) << ": paged != dense";
  }
}

TEST(KvTypes, HeadDimNotAMultipleOf32IsRefused) {
  NURI_REQUIRE_SHARED();
  auto m = load(test::shared_dir() + "/models/stories260K-F32.gguf");
  ASSERT_TRUE(m.ok()) << m.error();
  GeneratorOptions go;
  go.n_ctx = 64;
  go.cache_type_v = engine::KvCacheType::kQ4_0;
  auto gen = Generator::create(*m, go);
  ASSERT_FALSE(gen.ok());
  EXPECT_NE(gen.error().find("--cache-type-v q4_0"), std::string::npos) << gen.error();
  EXPECT_NE(gen.error().find("head_dim is 8"), std::string::npos) << gen.error();
}

}  // namespace
}  // namespace nuri
