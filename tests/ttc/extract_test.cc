// Extractors and verifiers on hand-written texts (expected values written by hand).
#include <gtest/gtest.h>

#include "ttc/extract.h"

namespace nuri::ttc {
namespace {

TEST(Extract, AnswerLineTakesTheLastOne) {
  EXPECT_EQ(extract_answer_line("3 + 4 = 7\nAnswer: 7"), "7");
  EXPECT_EQ(extract_answer_line("Answer: 5\nno wait\nAnswer: -12"), "-12");
  EXPECT_EQ(extract_answer_line("Answer: 1,234 apples"), "1234");
  EXPECT_EQ(extract_answer_line("Answer: Paris."), "Paris");
  EXPECT_EQ(extract_answer_line("Answer:   +2.50\n"), "2.5");
  EXPECT_EQ(extract_answer_line("no answer here"), std::nullopt);
  EXPECT_EQ(extract_answer_line("Answer:\n"), std::nullopt);
}

TEST(Extract, LastNumber) {
  EXPECT_EQ(extract_last_number("we have 3 cats and 12 dogs"), "12");
  EXPECT_EQ(extract_last_number("5 - 8 = -3"), "-3");
  EXPECT_EQ(extract_last_number("pages 3-4"), "4");  // a hyphen after a digit is no sign
  EXPECT_EQ(extract_last_number("total: 1,000,000."), "1000000");
  EXPECT_EQ(extract_last_number("pi is 3.140"), "3.14");
  EXPECT_EQ(extract_last_number("none"), std::nullopt);
}

TEST(Extract, Boxed) {
  EXPECT_EQ(extract_boxed("so \\boxed{42}."), "42");
  EXPECT_EQ(extract_boxed("\\boxed{1} then \\boxed{\\frac{1}{2}}"), "\\frac{1}{2}");
  EXPECT_EQ(extract_boxed("\\boxed{7} and an unclosed \\boxed{3"), "7");
  EXPECT_EQ(extract_boxed("\\boxed{}"), std::nullopt);
  EXPECT_EQ(extract_boxed("nothing"), std::nullopt);
}

TEST(Extract, Normalize) {
  EXPECT_EQ(normalize_answer(" 007 "), "7");
  EXPECT_EQ(normalize_answer("-0"), "0");
  EXPECT_EQ(normalize_answer("3.000"), "3");
  EXPECT_EQ(normalize_answer("x = 3"), "x = 3");
}

TEST(Extract, ByName) {
  for (const char* n : {"answer", "number", "boxed", "python"}) {
    auto e = make_extractor(n);
    ASSERT_TRUE(e.ok()) << n;
    EXPECT_STREQ((*e)->name(), n);
  }
  auto bad = make_extractor("regex");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().find("answer, number, boxed or python"), std::string::npos);
}

TEST(Extract, PythonBlock) {
  EXPECT_EQ(python_block("text\n```python\nprint(1)\n```\nmore"), "print(1)\n");
  EXPECT_EQ(python_block("```\nprint(2)\n```"), "print(2)\n");
  EXPECT_EQ(python_block("```python\nprint(3)"), "print(3)");  // cut off: runs to the end
  EXPECT_EQ(python_block("```python\n  \n```"), std::nullopt);
  EXPECT_EQ(python_block("no code"), std::nullopt);
}

TEST(Extract, PythonRunsInTheSandbox) {
  auto runner = std::make_shared<PythonRunner>();
  PythonExtractor ex(runner);
  EXPECT_EQ(ex.extract("```python\nprint(sum(i * i for i in range(1, 11)))\n```"), "385");
  EXPECT_EQ(ex.extract("```python\nraise SystemExit(3)\n```"), std::nullopt);
  EXPECT_EQ(ex.extract("```python\nprint(open('/etc/shadow').read())\n```"), std::nullopt);  // not readable inside
  EXPECT_EQ(ex.extract("plain text"), std::nullopt);
  // Tests: stdin in, stdout compared.
  ExecutionVerifier v(runner, {{"3\n", "9"}, {"5\n", "25"}, {"2\n", "5"}});
  EXPECT_DOUBLE_EQ(*v.score("```python\nn = int(input())\nprint(n * n)\n```"), 2.0 / 3.0);
  ExecutionVerifier runs(runner, {});
  EXPECT_DOUBLE_EQ(*runs.score("```python\nprint('hi')\n```"), 1.0);
  EXPECT_DOUBLE_EQ(*runs.score("```python\n1/0\n```"), 0.0);
}

TEST(Verify, ArithmeticSteps) {
  EXPECT_EQ(check_arithmetic_steps("29 + 1 = 30\n30 x 2 = 60\nAnswer: 60"), std::make_pair(2, 2));
  EXPECT_EQ(check_arithmetic_steps("29 + 1 = 31\nAnswer: 31"), std::make_pair(1, 0));
  EXPECT_EQ(check_arithmetic_steps("64 // 3 = 21\n64 % 3 = 1\n-7 // 2 = -4\n9 - 12 = -3"), std::make_pair(4, 4));
  EXPECT_EQ(check_arithmetic_steps("13 < 144\n36 < 15\n5 >= 5"), std::make_pair(3, 2));
  EXPECT_EQ(check_arithmetic_steps("Answer: 5"), std::make_pair(0, 0));
  ArithmeticStepVerifier v;
  EXPECT_DOUBLE_EQ(*v.score("22 x 9 = 198\n198 - 42 = 156\n47 + 58 = 105\n156 > 105"), 1.0);
  EXPECT_DOUBLE_EQ(*v.score("22 x 9 = 184\n184 - 42 = 142"), 0.5);
  EXPECT_EQ(v.score("Answer: 3"), std::nullopt);
}

TEST(Verify, GroundedLiterals) {
  const std::string req = "Reverse the words of: lazy book over, then sort [74, 2, 83].";
  EXPECT_EQ(grounded_literals("print(\" \".join(\"lazy book over\".split()[::-1]))", req), std::make_pair(1, 1));
  EXPECT_EQ(grounded_literals("print(\" \".join(\"quick open river\".split()[::-1]))", req), std::make_pair(1, 0));
  EXPECT_EQ(grounded_literals("print(sorted([74, 2, 83]))", req), std::make_pair(3, 3));
  EXPECT_EQ(grounded_literals("print(sorted([74, 7, 83]))", req), std::make_pair(3, 2));  // 7 is only inside 74
  EXPECT_EQ(grounded_literals("print(date.strftime(\"%A\"))", req), std::make_pair(0, 0));
}

}  // namespace
}  // namespace nuri::ttc
