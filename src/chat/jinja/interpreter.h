// chat/jinja/interpreter.h — evaluates a parsed Program against a context (internal to the engine).
// Scoping follows Jinja2: `for` iterations, macros, `with` and block `set` bodies get their own
// scope; `if` does not; `namespace()` objects are the only mutable values.
// Limits keep hostile templates from hanging: recursion depth, loop steps, output size.
#pragma once

#include <ctime>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "chat/jinja/ast.h"
#include "chat/jinja/value.h"

namespace nuri::chat::jinja {

struct Limits {
  int max_depth = 256;                 // nested macro calls / expression depth
  int64_t max_steps = 20'000'000;      // statements + loop iterations (real templates: thousands)
  size_t max_output = 256u << 20;      // bytes
};

class Interp {
 public:
  Interp(const Program& program, std::tm now, Limits limits);
  // Breaks the reference cycles macros and namespaces can form (a scope holding a macro that
  // holds the scope), so nothing outlives the render.
  ~Interp();
  Interp(const Interp&) = delete;
  Interp& operator=(const Interp&) = delete;
  // Renders with `context` (a dict) as the template's globals. Throws JinjaError.
  std::string render(const Value& context);

  // Used by the builtins (filters, tests, methods).
  Value getattr(const Value& obj, const std::string& name);
  Value getitem(const Value& obj, const Value& key);
  Value call(const Value& callee, Args& args);
  Value call_filter(const std::string& name, const Value& v, Args& args);
  bool call_test(const std::string& name, const Value& v, Args& args);
  Value call_method(const Value& obj, const std::string& name, Args& args);
  Value global(const std::string& name);
  const std::tm& now() const { return now_; }
  void track(const Value& v) { if (v.is_dict()) objects_.push_back(v.dict); }

 private:
  struct Scope {
    std::shared_ptr<Scope> parent;
    std::vector<std::pair<std::string, Value>> vars;
    Value* find(const std::string& name) {
      for (Scope* s = this; s; s = s->parent.get())
        for (auto& kv : s->vars)
          if (kv.first == name) return &kv.second;
      return nullptr;
    }
    void set(const std::string& name, Value v) {
      for (auto& kv : vars)
        if (kv.first == name) { kv.second = std::move(v); return; }
      vars.emplace_back(name, std::move(v));
    }
  };
  using ScopePtr = std::shared_ptr<Scope>;
  enum class Flow { kNormal, kBreak, kContinue };

  Flow exec_body(const std::vector<NodePtr>& body);
  Flow exec(const Node& n);
  Flow exec_for(const Node& n);
  void exec_set(const Node& n);
  void assign(const Node& target, const Value& v);
  std::string capture(const std::vector<NodePtr>& body, ScopePtr scope);
  Value eval(const Node& n);
  Value eval_filter_chain(const Node& n, const Value* input);
  Value eval_compare(const Node& n);
  Value eval_binary(const std::string& op, const Value& a, const Value& b);
  Value eval_call(const Node& n, Value* caller);
  Args eval_args(const Node& n);
  Value make_macro(const Node& n, ScopePtr closure, const std::string& name);
  Value call_macro(const Node& n, const ScopePtr& closure, const std::string& name, Args& args);
  Value lookup(const std::string& name);
  void step();
  void write(const std::string& s);

  const Program& program_;
  std::tm now_;
  Limits limits_;
  ScopePtr scope_;
  std::string* out_ = nullptr;
  std::vector<ScopePtr> captured_;                 // scopes closed over by macros
  std::vector<std::shared_ptr<DictData>> objects_;  // namespaces created while rendering
  int depth_ = 0;
  int64_t steps_ = 0;
};

// Python's `str % args` and `str.format(*args, **kwargs)`.
std::string percent_format(const std::string& fmt, const Value& args);
std::string format_method(const std::string& fmt, const Args& args, Interp& interp);
// Python strftime for the fixed clock.
std::string strftime_py(const std::string& fmt, const std::tm& tm);

}  // namespace nuri::chat::jinja
