// `nuri chat` driven through a pipe: the KV cache persists across turns, so from the second turn
// on only the new tokens are processed (read from the counters nuri prints on stderr).
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>

#include "test_util.h"

namespace {

TEST(ChatCli, ThreeTurnsReuseTheCache) {
  NURI_REQUIRE_SHARED();
  const std::string err = ::testing::TempDir() + "/nuri_chat_err.txt";
  const std::string model = nuri::test::shared_dir() + "/models/tiny-qwen3moe-8x-qwen2vocab-Q4_K_M.gguf";
  auto r = nuri::test::run_cmd("printf 'Hello there\\nWhat can you do?\\nTell me a story about a cat\\n' | " +
                               nuri::test::nuri_binary() + " chat -m " + nuri::test::shell_quote(model) + " -n 6 2>" +
                               nuri::test::shell_quote(err));
  ASSERT_EQ(r.exit_code, 0);
  std::ifstream in(err);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string log = ss.str();
  std::regex re(R"(\[chat\] turn (\d+): prompt (\d+) tokens, (\d+) new tokens processed, (\d+) reused from cache)");
  std::vector<std::array<int, 3>> turns;  // prompt, new, reused
  for (auto it = std::sregex_iterator(log.begin(), log.end(), re); it != std::sregex_iterator(); ++it)
    turns.push_back({std::stoi((*it)[2]), std::stoi((*it)[3]), std::stoi((*it)[4])});
  ASSERT_EQ(turns.size(), 3u) << log;
  EXPECT_EQ(turns[0][2], 0);  // first turn: nothing cached
  EXPECT_EQ(turns[0][1], turns[0][0]);
  for (int t = 1; t < 3; ++t) {
    // Everything of the previous turn (its prompt and the reply) is reused; only the new
    // user message and the template's markers around it are processed.
    EXPECT_GT(turns[t][2], turns[t - 1][0]) << "turn " << t + 1;
    EXPECT_EQ(turns[t][1] + turns[t][2], turns[t][0]) << "turn " << t + 1;
    EXPECT_LT(turns[t][1], 30) << "turn " << t + 1;
  }
  // Three replies on stdout, each ended by a newline (a random model's reply may hold more).
  EXPECT_GE(std::count(r.out.begin(), r.out.end(), '\n'), 3);
}

TEST(ChatCli, SaveAndLoad) {
  NURI_REQUIRE_SHARED();
  const std::string model = nuri::test::shared_dir() + "/models/tiny-qwen3moe-8x-qwen2vocab-Q4_K_M.gguf";
  const std::string saved = ::testing::TempDir() + "/nuri_chat_saved.json";
  auto r = nuri::test::run_cmd("printf 'Hi\\n/save " + saved + "\\n/reset\\n/load " + saved + "\\nAgain\\n' | " +
                               nuri::test::nuri_binary() + " chat -m " + nuri::test::shell_quote(model) + " -n 4 2>&1");
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("saved " + saved), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("loaded 2 messages"), std::string::npos) << r.out;
  // After /load the cache is empty, so the whole conversation is processed again.
  EXPECT_NE(r.out.find("turn 2:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("0 reused from cache"), std::string::npos) << r.out;
}

}  // namespace
