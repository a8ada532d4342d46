// nuri template — render a chat template exactly as Hugging Face's apply_chat_template would.
//   nuri template (-m MODEL | --template-file FILE.jinja) --messages JSON [--tools JSON]
//                 [--bos-token S] [--eos-token S] [--no-generation-prompt]
//                 [--now "YYYY-MM-DD HH:MM:SS"] [--context JSON] [--template-name NAME]
// JSON arguments are inline JSON text, a file path, or "-" for stdin. stdout gets exactly the
// rendered prompt (no trailing newline added); a template error goes to stderr with exit code 1.
// The strftime_now() clock is --now, else $NURI_FIXED_TIME, else the local time.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>

#include "chat/chat_template.h"
#include "command.h"
#include "store/store.h"

namespace {

// Reads a JSON argument: inline text, "-" (stdin) or a file path.
nuri::Result<nlohmann::ordered_json> read_json_arg(const std::string& what, const std::string& arg) {
  std::string text;
  size_t first = arg.find_first_not_of(" \t\r\n");
  if (arg == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else if (first != std::string::npos && (arg[first] == '[' || arg[first] == '{' || arg[first] == '"' ||
                                            arg.compare(first, 4, "null") == 0)) {
    text = arg;
  } else {
    std::ifstream f(arg, std::ios::binary);
    if (!f) return nuri::Error(what + ": not JSON and not a readable file: " + arg);
    std::ostringstream ss;
    ss << f.rdbuf();
    text = ss.str();
  }
  nlohmann::ordered_json j = nlohmann::ordered_json::parse(text, nullptr, false);
  if (j.is_discarded()) return nuri::Error(what + ": invalid JSON");
  return j;
}

int run_template(int argc, char** argv) {
  CLI::App app{"Render a chat template to stdout exactly as Hugging Face would", "nuri template"};
  std::string model, template_file, messages_arg, tools_arg, context_arg, now_arg, template_name;
  std::optional<std::string> bos, eos;
  bool no_gen = false;
  auto* m = app.add_option("-m,--model", model, "model: .gguf, tokenizer_config.json or HF model directory");
  auto* tf = app.add_option("--template-file", template_file, "Jinja template file");
  m->excludes(tf);
  app.add_option("--messages", messages_arg, "messages: JSON text, a file, or - for stdin")->required();
  app.add_option("--tools", tools_arg, "tools: JSON text or a file (omitted: tools is undefined)");
  app.add_option("--bos-token", bos, "bos_token (default: the model's, else empty)");
  app.add_option("--eos-token", eos, "eos_token (default: the model's, else empty)");
  app.add_flag("--no-generation-prompt", no_gen, "render with add_generation_prompt=false");
  app.add_option("--now", now_arg, "fixed clock for strftime_now, \"YYYY-MM-DD HH:MM:SS\"");
  app.add_option("--context", context_arg, "extra template variables as a JSON object (e.g. enable_thinking)");
  app.add_option("--template-name", template_name, "named template in the model (e.g. tool_use)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (model.empty() == template_file.empty()) {
    std::fprintf(stderr, "nuri template: give exactly one of -m MODEL or --template-file FILE\n");
    return 2;
  }

  nuri::chat::ModelChatInfo info;
  if (!model.empty()) {
    if (auto p = nuri::store::resolve_model(model); p.ok()) model = *p;  // store names too
    auto r = nuri::chat::load_model_chat_info(model, template_name);
    if (!r.ok()) {
      std::fprintf(stderr, "nuri template: %s\n", r.error().c_str());
      return 1;
    }
    info = std::move(r).value();
  } else {
    std::ifstream f(template_file, std::ios::binary);
    if (!f) {
      std::fprintf(stderr, "nuri template: cannot open %s\n", template_file.c_str());
      return 1;
    }
    std::ostringstream ss;
    ss << f.rdbuf();
    info.template_source = ss.str();
  }

  nuri::chat::ChatInputs in;
  auto msgs = read_json_arg("--messages", messages_arg);
  if (!msgs.ok()) {
    std::fprintf(stderr, "nuri template: %s\n", msgs.error().c_str());
    return 1;
  }
  in.messages = std::move(msgs).value();
  if (!tools_arg.empty()) {
    auto tools = read_json_arg("--tools", tools_arg);
    if (!tools.ok()) {
      std::fprintf(stderr, "nuri template: %s\n", tools.error().c_str());
      return 1;
    }
    if (!tools->is_null()) in.tools = std::move(tools).value();
  }
  if (!context_arg.empty()) {
    auto ctx = read_json_arg("--context", context_arg);
    if (!ctx.ok() || !ctx->is_object()) {
      std::fprintf(stderr, "nuri template: --context must be a JSON object\n");
      return 1;
    }
    in.extra_context = std::move(ctx).value();
  }
  in.add_generation_prompt = !no_gen;
  in.bos_token = bos.value_or(info.bos_token);
  in.eos_token = eos.value_or(info.eos_token);
  if (now_arg.empty())
    if (const char* env = std::getenv("NURI_FIXED_TIME")) now_arg = env;
  if (!now_arg.empty()) {
    in.now = nuri::chat::jinja::parse_time(now_arg);
    if (!in.now) {
      std::fprintf(stderr, "nuri template: --now must look like \"2026-01-02 03:04:05\"\n");
      return 2;
    }
  }

  auto tmpl = nuri::chat::template_for_model(info);
  if (!tmpl.ok()) {
    std::fprintf(stderr, "nuri template: %s\n", tmpl.error().c_str());
    return 1;
  }
  auto out = tmpl->apply(in);
  if (!out.ok()) {
    std::fprintf(stderr, "nuri template: %s\n", out.error().c_str());
    return 1;
  }
  std::fwrite(out->data(), 1, out->size(), stdout);
  std::fflush(stdout);
  return 0;
}

}  // namespace

NURI_COMMAND("template", "render a chat template for messages (exactly like HF apply_chat_template)", run_template);
