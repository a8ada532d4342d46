// nuri tool-calls — parse a model's raw output into content, reasoning and OpenAI tool_calls.
//   nuri tool-calls (--template-file F.jinja | -m MODEL) [--text-file F] [--tools JSON|FILE]
//                   [--syntax] [--template-name NAME]
// The call syntax is detected from the chat template (the same detection the server uses). The
// text comes from --text-file or stdin; stdout gets one JSON object
// {"content", "reasoning_content", "tool_calls": [{"id", "type", "function": {"name", "arguments"}}]}
// with `arguments` a JSON string, as the server returns it. --syntax prints the family name only.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>

#include "chat/chat_template.h"
#include "chat/tool_calls.h"
#include "command.h"

namespace {

bool slurp(const std::string& path, std::string* out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  std::ostringstream ss;
  ss << f.rdbuf();
  *out = ss.str();
  return true;
}

int fail(const std::string& msg) {
  std::fprintf(stderr, "nuri tool-calls: %s\n", msg.c_str());
  return 1;
}

int run_tool_calls(int argc, char** argv) {
  CLI::App app{"Parse a model's raw output into content, reasoning and tool_calls (JSON on stdout)",
               "nuri tool-calls"};
  std::string model, template_file, text_file, tools_arg, template_name;
  bool syntax_only = false;
  auto* m = app.add_option("-m,--model", model, "model: .gguf, tokenizer_config.json or HF model directory");
  auto* tf = app.add_option("--template-file", template_file, "Jinja chat template file");
  m->excludes(tf);
  app.add_option("--text-file", text_file, "the model's raw output (default: stdin)");
  app.add_option("--tools", tools_arg, "OpenAI tools array (JSON text or a file): types XML-style parameters");
  app.add_option("--template-name", template_name, "named template in the model (e.g. tool_use)");
  app.add_flag("--syntax", syntax_only, "print the detected call-syntax family and exit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (model.empty() == template_file.empty()) {
    std::fprintf(stderr, "nuri tool-calls: give exactly one of -m MODEL or --template-file FILE\n");
    return 2;
  }
  std::string source;
  if (!model.empty()) {
    auto r = nuri::chat::load_model_chat_info(model, template_name);
    if (!r.ok()) return fail(r.error());
    source = r->template_source;
  } else if (!slurp(template_file, &source)) {
    return fail("cannot open " + template_file);
  }
  nuri::chat::ToolCallSyntax syn = nuri::chat::detect_tool_call_syntax(source);
  if (syntax_only) {
    std::printf("%s\n", syn.name.c_str());
    return 0;
  }
  nlohmann::ordered_json tools = nullptr;
  if (!tools_arg.empty()) {
    std::string t = tools_arg;
    if (t.find_first_of("[{") != 0 && !slurp(tools_arg, &t)) return fail("--tools: not JSON and not a readable file");
    tools = nlohmann::ordered_json::parse(t, nullptr, false);
    if (tools.is_discarded()) return fail("--tools: invalid JSON");
    if (nuri::Status s = nuri::chat::validate_tools(tools); !s) return fail("--tools: " + s.message());
  }
  std::string text;
  if (text_file.empty()) text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  else if (!slurp(text_file, &text)) return fail("cannot open " + text_file);
  nuri::chat::ParsedOutput p = nuri::chat::parse_tool_calls(syn, text, tools);
  nlohmann::ordered_json j = nuri::chat::to_openai_fields(p, "0");
  if (!j.contains("reasoning_content")) j["reasoning_content"] = nullptr;
  if (!j.contains("tool_calls")) j["tool_calls"] = nlohmann::ordered_json::array();
  std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace).c_str());
  return 0;
}

}  // namespace

NURI_COMMAND("tool-calls", "parse a model's raw output into content, reasoning and OpenAI tool_calls",
             run_tool_calls);
