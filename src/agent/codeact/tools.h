// agent/codeact/tools.h — the registry of workspace tools the agent may use.
//
// Purpose: a small set of file tools (read a workspace file, list files, write a file), each with
//   a host-side implementation (C++, confined to the workspace: for callers that run tools
//   outside the sandbox, e.g. OpenAI-style tool calls) and the same tool as a Python helper that
//   programs call inside the sandbox (nuri_tools.py, preloaded as builtins by the step runner).
// Invariants: a tool never touches a path outside the workspace (host side: lexical and
//   symlink-resolved checks; inside the sandbox the kernel enforces it anyway); tool output is
//   data: the loop quotes it in observations and never interprets it.
// Non-goals: network tools, shell tools (python's subprocess in the sandbox covers that).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace nuri::agent {

struct ToolSpec {
  std::string name;
  std::string signature;    // python signature, e.g. "read_file(path)"
  std::string description;  // one line
  nlohmann::json parameters;  // JSON schema of the arguments (OpenAI "parameters")
};

const std::vector<ToolSpec>& tool_specs();

// OpenAI-style tool list ([{"type":"function","function":{name, description, parameters}}]).
nlohmann::json tools_openai_json();

// Host-side call; `args` is the JSON object of arguments. Errors name the tool and the problem.
Result<std::string> call_tool(const std::string& workspace, const std::string& name, const nlohmann::json& args);

// The Python module (nuri_tools.py) with the same tools, for the sandboxed step runner.
std::string tools_python_module();

// The step runner (runner.py): chdir to the workspace, preload the tools, run the step file and
// print a short traceback of the step's own frames.
std::string step_runner_python();

}  // namespace nuri::agent
