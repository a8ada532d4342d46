// `nuri bench --depth` on stories260K: one line and one JSON entry per depth (sorted, distinct),
// the KV bytes at each depth equal to depth x (K + V) x n_layer x kv_dim x 2 bytes (f16) from the
// model's hyper-parameters, decode speeds measured; a bad list exits 1 with a message.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "test_util.h"

namespace {

TEST(BenchDepth, ReportsDecodeAndKvBytesPerDepth) {
  NURI_REQUIRE_SHARED();
  const std::string model = nuri::test::shared_dir() + "/models/stories260K-F32.gguf";
  auto r = nuri::test::run_cmd(nuri::test::nuri_binary() + " bench -m " + nuri::test::shell_quote(model) +
                               " --depth 300,0,64,64 -n 4 -r 1 -t 1 --no-bandwidth 2>/dev/null");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const std::string last = r.out.substr(r.out.rfind('{', r.out.find("\"depths\"")));
  auto j = nlohmann::json::parse(last.substr(0, last.find('\n')));
  ASSERT_TRUE(j.contains("depths")) << r.out;
  const auto& d = j["depths"];
  ASSERT_EQ(d.size(), 3u) << r.out;
  const int depths[3] = {0, 64, 300};
  // stories260K: 5 layers, 4 KV heads of 8 dims; f16 K and V.
  const double per_position = 2.0 * 5 * 4 * 8 * 2;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(d[i]["depth"].get<int>(), depths[i]);
    EXPECT_DOUBLE_EQ(d[i]["kv_bytes"].get<double>(), per_position * depths[i]);
    EXPECT_GT(d[i]["decode_tok_s_median"].get<double>(), 0.0);
    EXPECT_NE(r.out.find("at depth " + std::to_string(depths[i]) + ":"), std::string::npos) << r.out;
  }
  auto bad = nuri::test::run_cmd(nuri::test::nuri_binary() + " bench -m " + nuri::test::shell_quote(model) +
                                 " --depth 0,lots 2>&1");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.out.find("--depth takes a list"), std::string::npos) << bad.out;
}

}  // namespace
