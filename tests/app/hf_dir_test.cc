// A Hugging Face directory (config.json + model.safetensors + tokenizer.json) written by
// `nuri gen --format safetensors` runs through `nuri run` exactly like the GGUF of the same
// weights, and `nuri convert` of that directory gives the same text again.
#include <gtest/gtest.h>

#include "test_util.h"

namespace {

using nuri::test::nuri_binary;
using nuri::test::run_cmd;
using nuri::test::shell_quote;

TEST(HfDir, RunMatchesGgufAndConvert) {
  NURI_REQUIRE_SHARED();
  const std::string vocab = nuri::test::shared_dir() + "/vocab/ggml-vocab-gpt-2.gguf";
  const std::string tmp = ::testing::TempDir();
  for (const char* arch : {"llama", "qwen2", "qwen3"}) {
    SCOPED_TRACE(arch);
    const std::string gguf = tmp + "/nuri_hfdir_" + arch + ".gguf", dir = tmp + "/nuri_hfdir_" + arch,
                      conv = tmp + "/nuri_hfdir_" + arch + "_conv.gguf";
    const std::string common = std::string(" --arch ") + arch + " --vocab " + shell_quote(vocab) + " --shape tiny --seed 7";
    ASSERT_EQ(run_cmd(nuri_binary() + " gen" + common + " -o " + shell_quote(gguf) + " 2>/dev/null").exit_code, 0);
    ASSERT_EQ(run_cmd(nuri_binary() + " gen" + common + " --format safetensors -o " + shell_quote(dir) + " 2>/dev/null").exit_code, 0);
    auto c = run_cmd(nuri_binary() + " convert " + shell_quote(dir) + " -o " + shell_quote(conv) + " --dtype f32 2>&1");
    ASSERT_EQ(c.exit_code, 0) << c.out;
    const std::string args = " -p 'Hello world, this is a test' -n 12 --temp 0 2>/dev/null";
    auto a = run_cmd(nuri_binary() + " run -m " + shell_quote(gguf) + args);
    auto b = run_cmd(nuri_binary() + " run -m " + shell_quote(dir) + args);
    auto d = run_cmd(nuri_binary() + " run -m " + shell_quote(conv) + args);
    ASSERT_EQ(a.exit_code, 0);
    ASSERT_EQ(b.exit_code, 0);
    ASSERT_EQ(d.exit_code, 0);
    EXPECT_GT(a.out.size(), std::string("Hello world, this is a test").size());
    EXPECT_EQ(b.out, a.out);
    EXPECT_EQ(d.out, a.out);
  }
}

}  // namespace
