// chat/jinja/interpreter.cc — statement execution and expression evaluation.
#include "chat/jinja/interpreter.h"

#include <cmath>

#include "chat/jinja/text.h"

namespace nuri::chat::jinja {

namespace {
struct DepthGuard {
  DepthGuard(int& d, int max) : d_(d) {
    if (++d_ > max) raise("RecursionError", "maximum template recursion depth exceeded");
  }
  ~DepthGuard() { --d_; }
  int& d_;
};
}  // namespace

Interp::Interp(const Program& program, std::tm now, Limits limits)
    : program_(program), now_(now), limits_(limits) {}

Interp::~Interp() {
  for (auto& s : captured_) s->vars.clear();
  for (auto& d : objects_) d->items.clear();
}

std::string Interp::render(const Value& context) {
  scope_ = std::make_shared<Scope>();
  if (context.is_dict())
    for (const auto& kv : context.dict->items)
      if (kv.first.is_string()) scope_->set(kv.first.s, kv.second);
  std::string out;
  out_ = &out;
  exec_body(program_.body);
  out_ = nullptr;
  return out;
}

void Interp::step() {
  if (++steps_ > limits_.max_steps) raise("TemplateRuntimeError", "template exceeded the execution step limit");
}

void Interp::write(const std::string& s) {
  out_->append(s);
  if (out_->size() > limits_.max_output) raise("TemplateRuntimeError", "template output exceeded the size limit");
}

Interp::Flow Interp::exec_body(const std::vector<NodePtr>& body) {
  for (const auto& n : body) {
    Flow f = exec(*n);
    if (f != Flow::kNormal) return f;
  }
  return Flow::kNormal;
}

std::string Interp::capture(const std::vector<NodePtr>& body, ScopePtr scope) {
  std::string buf;
  std::string* saved_out = out_;
  ScopePtr saved_scope = scope_;
  out_ = &buf;
  scope_ = std::move(scope);
  try {
    exec_body(body);
  } catch (...) {
    out_ = saved_out;
    scope_ = saved_scope;
    throw;
  }
  out_ = saved_out;
  scope_ = saved_scope;
  return buf;
}

Interp::Flow Interp::exec(const Node& n) {
  step();
  switch (n.kind) {
    case NodeKind::kData: write(n.name); return Flow::kNormal;
    case NodeKind::kOutput: write(to_str(eval(*n.a))); return Flow::kNormal;
    case NodeKind::kIf:
      for (size_t k = 0; k < n.items.size(); ++k)
        if (truthy(eval(*n.items[k]))) return exec_body(n.bodies[k]);
      return exec_body(n.else_body);
    case NodeKind::kFor: return exec_for(n);
    case NodeKind::kSet: assign(*n.a, eval(*n.b)); return Flow::kNormal;
    case NodeKind::kSetBlock: {
      Value v = Value::str(capture(n.body, std::make_shared<Scope>(Scope{scope_, {}})));
      if (n.c) v = eval_filter_chain(*n.c, &v);
      assign(*n.a, v);
      return Flow::kNormal;
    }
    case NodeKind::kMacro: scope_->set(n.name, make_macro(n, scope_, n.name)); return Flow::kNormal;
    case NodeKind::kCallBlock: {
      Value caller = make_macro(n, scope_, "caller");
      write(to_str(eval_call(*n.a, &caller)));
      return Flow::kNormal;
    }
    case NodeKind::kFilterBlock: {
      Value body = Value::str(capture(n.body, std::make_shared<Scope>(Scope{scope_, {}})));
      write(to_str(eval_filter_chain(*n.a, &body)));
      return Flow::kNormal;
    }
    case NodeKind::kWith: {
      auto sc = std::make_shared<Scope>(Scope{scope_, {}});
      for (size_t k = 0; k < n.params.size(); ++k) sc->set(n.params[k], eval(*n.items[k]));
      write(capture(n.body, sc));
      return Flow::kNormal;
    }
    case NodeKind::kScope: write(capture(n.body, std::make_shared<Scope>(Scope{scope_, {}}))); return Flow::kNormal;
    case NodeKind::kBreak: return Flow::kBreak;
    case NodeKind::kContinue: return Flow::kContinue;
    default: raise("TemplateRuntimeError", "unexpected node in statement position");
  }
}

void Interp::assign(const Node& target, const Value& v) {
  if (target.kind == NodeKind::kName) {
    scope_->set(target.name, v);
  } else if (target.kind == NodeKind::kTuple) {
    std::vector<Value> items = iterate(v);
    if (items.size() < target.items.size())
      raise("ValueError", "not enough values to unpack (expected " + std::to_string(target.items.size()) + ", got " +
                              std::to_string(items.size()) + ")");
    if (items.size() > target.items.size())
      raise("ValueError", "too many values to unpack (expected " + std::to_string(target.items.size()) + ")");
    for (size_t k = 0; k < items.size(); ++k) assign(*target.items[k], items[k]);
  } else if (target.kind == NodeKind::kGetattr) {
    Value ns = lookup(target.a->name);
    if (!ns.is_namespace()) raise("TemplateRuntimeError", "cannot assign attribute on non-namespace object");
    ns.dict->set(Value::str(target.name), v);
  } else {
    raise("TemplateRuntimeError", "cannot assign to this expression");
  }
}

Interp::Flow Interp::exec_for(const Node& n) {
  Value iterable = eval(*n.b);
  if (iterable.is_none()) raise("TypeError", "'NoneType' object is not iterable");
  std::vector<Value> items = iterate(iterable);
  ScopePtr outer = scope_;
  if (n.c) {
    std::vector<Value> kept;
    for (auto& it : items) {
      step();
      scope_ = std::make_shared<Scope>(Scope{outer, {}});
      assign(*n.a, it);
      bool keep = truthy(eval(*n.c));
      scope_ = outer;
      if (keep) kept.push_back(it);
    }
    items = std::move(kept);
  }
  if (items.empty()) return exec_body(n.else_body);
  const int64_t len = static_cast<int64_t>(items.size());
  auto last_changed = std::make_shared<std::optional<Value>>();
  try {
    for (int64_t k = 0; k < len; ++k) {
      step();
      scope_ = std::make_shared<Scope>(Scope{outer, {}});
      if (!n.uses_loop) {
        assign(*n.a, items[k]);
        if (exec_body(n.body) == Flow::kBreak) break;
        continue;
      }
      Value loop = Value::new_dict();
      auto& d = *loop.dict;
      auto put = [&](const char* key, Value v) { d.items.emplace_back(Value::str(key), std::move(v)); };
      put("index", Value::integer(k + 1));
      put("index0", Value::integer(k));
      put("revindex", Value::integer(len - k));
      put("revindex0", Value::integer(len - k - 1));
      put("first", Value::boolean(k == 0));
      put("last", Value::boolean(k == len - 1));
      put("length", Value::integer(len));
      put("depth", Value::integer(1));
      put("depth0", Value::integer(0));
      put("previtem", k > 0 ? items[k - 1] : Value::undefined("there is no previous item"));
      put("nextitem", k + 1 < len ? items[k + 1] : Value::undefined("there is no next item"));
      put("cycle", Value::function("cycle", [k](Args& a) {
            if (a.pos.empty()) raise("TypeError", "no items for cycling given");
            return a.pos[k % static_cast<int64_t>(a.pos.size())];
          }));
      put("changed", Value::function("changed", [last_changed](Args& a) {
            Value cur = Value::new_list(a.pos);
            bool changed = !last_changed->has_value() || !equals(**last_changed, cur);
            *last_changed = cur;
            return Value::boolean(changed);
          }));
      scope_->set("loop", loop);
      assign(*n.a, items[k]);
      Flow f = exec_body(n.body);
      if (f == Flow::kBreak) break;
    }
  } catch (...) {
    scope_ = outer;
    throw;
  }
  scope_ = outer;
  return Flow::kNormal;
}

Value Interp::make_macro(const Node& n, ScopePtr closure, const std::string& name) {
  const Node* node = &n;
  captured_.push_back(closure);
  Value v = Value::function(name, [this, node, closure, name](Args& args) {
    return call_macro(*node, closure, name, args);
  });
  v.fn->is_macro = true;
  return v;
}

Value Interp::call_macro(const Node& n, const ScopePtr& closure, const std::string& name, Args& args) {
  DepthGuard guard(depth_, limits_.max_depth);
  auto sc = std::make_shared<Scope>(Scope{closure, {}});
  ScopePtr saved = scope_;
  scope_ = sc;
  try {
    std::vector<bool> bound(n.params.size(), false);
    for (size_t k = 0; k < args.pos.size() && k < n.params.size(); ++k) {
      sc->set(n.params[k], args.pos[k]);
      bound[k] = true;
    }
    std::vector<Value> extra_pos;
    for (size_t k = n.params.size(); k < args.pos.size(); ++k) extra_pos.push_back(args.pos[k]);
    Value extra_kw = Value::new_dict();
    for (auto& [key, v] : args.kw) {
      size_t idx = 0;
      while (idx < n.params.size() && n.params[idx] != key) ++idx;
      if (idx < n.params.size()) {
        if (bound[idx]) raise("TypeError", "macro '" + name + "' got multiple values for argument '" + key + "'");
        sc->set(key, v);
        bound[idx] = true;
      } else if (key == "caller") {
        sc->set("caller", v);
      } else if (n.uses_kwargs) {
        extra_kw.dict->set(Value::str(key), v);
      } else {
        raise("TypeError", "macro '" + name + "' takes no keyword argument '" + key + "'");
      }
    }
    if (!extra_pos.empty() && !n.uses_varargs)
      raise("TypeError", "macro '" + name + "' takes not more than " + std::to_string(n.params.size()) + " argument(s)");
    for (size_t k = 0; k < n.params.size(); ++k) {
      if (bound[k]) continue;
      sc->set(n.params[k], n.items[k] ? eval(*n.items[k])
                                      : Value::undefined("parameter '" + n.params[k] + "' was not provided"));
    }
    if (n.uses_varargs) sc->set("varargs", Value::new_tuple(std::move(extra_pos)));
    if (n.uses_kwargs) sc->set("kwargs", extra_kw);
  } catch (...) {
    scope_ = saved;
    throw;
  }
  scope_ = saved;
  return Value::str(capture(n.body, sc));
}

Value Interp::lookup(const std::string& name) {
  if (Value* v = scope_->find(name)) return *v;
  return global(name);
}

Args Interp::eval_args(const Node& n) {
  Args args;
  for (const auto& a : n.items) args.pos.push_back(eval(*a));
  if (n.b) for (auto& v : iterate(eval(*n.b))) args.pos.push_back(v);
  for (const auto& [k, e] : n.kwargs) args.kw.emplace_back(k, eval(*e));
  if (n.c) {
    Value d = eval(*n.c);
    if (!d.is_dict()) raise("TypeError", "argument after ** must be a mapping, not " + type_name(d));
    for (auto& kv : d.dict->items) args.kw.emplace_back(to_str(kv.first), kv.second);
  }
  return args;
}

Value Interp::eval_call(const Node& n, Value* caller) {
  Value callee = eval(*n.a);
  Args args = eval_args(n);
  if (caller) args.kw.emplace_back("caller", *caller);
  return call(callee, args);
}

Value Interp::call(const Value& callee, Args& args) {
  if (callee.type == Type::kFunction) {
    DepthGuard guard(depth_, limits_.max_depth);
    return callee.fn->fn(args);
  }
  if (callee.is_undefined()) callee.fail_undefined();
  raise("TypeError", "'" + type_name(callee) + "' object is not callable");
}

Value Interp::eval_filter_chain(const Node& n, const Value* input) {
  if (n.kind != NodeKind::kFilter) return eval(n);
  Value operand = n.a ? eval_filter_chain(*n.a, input) : *input;
  Args args = eval_args(n);
  return call_filter(n.name, operand, args);
}

Value Interp::eval(const Node& n) {
  DepthGuard guard(depth_, limits_.max_depth * 4);
  switch (n.kind) {
    case NodeKind::kLiteral: return n.value;
    case NodeKind::kName: return lookup(n.name);
    case NodeKind::kList:
    case NodeKind::kTuple: {
      std::vector<Value> items;
      items.reserve(n.items.size());
      for (const auto& e : n.items) items.push_back(eval(*e));
      return n.kind == NodeKind::kList ? Value::new_list(std::move(items)) : Value::new_tuple(std::move(items));
    }
    case NodeKind::kDict: {
      Value d = Value::new_dict();
      for (size_t k = 0; k + 1 < n.items.size(); k += 2) d.dict->set(eval(*n.items[k]), eval(*n.items[k + 1]));
      return d;
    }
    case NodeKind::kGetattr: return getattr(eval(*n.a), n.name);
    case NodeKind::kGetitem: return getitem(eval(*n.a), eval(*n.b));
    case NodeKind::kSlice: {
      // A slice nested in a tuple subscript (x[:1, 2]) has no object of its own.
      if (!n.a) raise("TypeError", "slices are only supported directly inside [ ]");
      Value obj = eval(*n.a);
      auto opt = [&](const NodePtr& e) -> std::optional<int64_t> {
        if (!e) return std::nullopt;
        Value v = eval(*e);
        if (v.is_none()) return std::nullopt;
        if (v.type == Type::kInt) return v.i;
        if (v.type == Type::kBool) return v.b ? 1 : 0;
        raise("TypeError", "slice indices must be integers or None");
      };
      std::optional<int64_t> start = opt(n.b), stop = opt(n.c), stepv = opt(n.d);
      int64_t st = stepv.value_or(1);
      if (st == 0) raise("ValueError", "slice step cannot be zero");
      auto slice_idx = [&](int64_t len) {
        auto norm = [&](std::optional<int64_t> x, int64_t dflt) {
          if (!x) return dflt;
          int64_t v = *x < 0 ? *x + len : *x;
          if (st > 0) return std::clamp<int64_t>(v, 0, len);
          return std::clamp<int64_t>(v, -1, len - 1);
        };
        int64_t b = norm(start, st > 0 ? 0 : len - 1);
        int64_t e = norm(stop, st > 0 ? len : -1);
        std::vector<int64_t> idx;
        for (int64_t k = b; st > 0 ? k < e : k > e; k += st) idx.push_back(k);
        return idx;
      };
      if (obj.is_string()) {
        std::u32string u = text::decode(obj.s);
        std::u32string r;
        for (int64_t k : slice_idx(static_cast<int64_t>(u.size()))) r.push_back(u[k]);
        return Value::str(text::encode(r));
      }
      if (obj.is_list() && !obj.is_generator()) {
        std::vector<Value> r;
        for (int64_t k : slice_idx(static_cast<int64_t>(obj.list->items.size()))) r.push_back(obj.list->items[k]);
        return obj.is_tuple() ? Value::new_tuple(std::move(r)) : Value::new_list(std::move(r));
      }
      if (obj.is_undefined()) obj.fail_undefined();
      raise("TypeError", "'" + type_name(obj) + "' object is not subscriptable");
    }
    case NodeKind::kCall: return eval_call(n, nullptr);
    case NodeKind::kFilter: return eval_filter_chain(n, nullptr);
    case NodeKind::kTest: {
      Value v = eval(*n.a);
      if (n.name == "defined") return Value::boolean(!v.is_undefined());
      if (n.name == "undefined") return Value::boolean(v.is_undefined());
      Args args = eval_args(n);
      return Value::boolean(call_test(n.name, v, args));
    }
    case NodeKind::kUnary: {
      Value v = eval(*n.a);
      if (v.type == Type::kInt || v.type == Type::kBool) {
        int64_t x = v.type == Type::kBool ? v.b : v.i;
        return Value::integer(n.name == "-" ? -x : x);
      }
      if (v.type == Type::kFloat) return Value::number(n.name == "-" ? -v.f : v.f);
      if (v.is_undefined()) v.fail_undefined();
      raise("TypeError", "bad operand type for unary " + n.name + ": '" + type_name(v) + "'");
    }
    case NodeKind::kNot: return Value::boolean(!truthy(eval(*n.a)));
    case NodeKind::kAnd: {
      Value l = eval(*n.a);
      return truthy(l) ? eval(*n.b) : l;
    }
    case NodeKind::kOr: {
      Value l = eval(*n.a);
      return truthy(l) ? l : eval(*n.b);
    }
    case NodeKind::kBinary: {
      Value l = eval(*n.a);
      Value r = eval(*n.b);
      return eval_binary(n.name, l, r);
    }
    case NodeKind::kCompare: return eval_compare(n);
    case NodeKind::kConcat: {
      std::string s;
      for (const auto& e : n.items) s += to_str(eval(*e));
      return Value::str(std::move(s));
    }
    case NodeKind::kCondExpr:
      if (truthy(eval(*n.a))) return eval(*n.b);
      return n.c ? eval(*n.c) : Value::undefined("the inline if-expression on line " + std::to_string(n.line) +
                                                 " evaluated to false and no else section was defined.");
    default: raise("TemplateRuntimeError", "unexpected node in expression position");
  }
}

static bool contains(const Value& container, const Value& item) {
  switch (container.type) {
    case Type::kString:
      if (!item.is_string()) {
        if (item.is_undefined()) item.fail_undefined();
        raise("TypeError", "'in <string>' requires string as left operand, not " + type_name(item));
      }
      return container.s.find(item.s) != std::string::npos;
    case Type::kDict:
      if (container.dict->ns) raise("TypeError", "argument of type 'Namespace' is not iterable");
      return container.dict->find(item) != nullptr;
    case Type::kList:
    case Type::kUndefined:
      for (const auto& v : iterate(container))
        if (equals(v, item)) return true;
      return false;
    default: raise("TypeError", "argument of type '" + type_name(container) + "' is not iterable");
  }
}

Value Interp::eval_compare(const Node& n) {
  Value left = eval(*n.a);
  for (size_t k = 0; k < n.ops.size(); ++k) {
    Value right = eval(*n.items[k]);
    const std::string& op = n.ops[k];
    bool r;
    if (op == "==") r = equals(left, right);
    else if (op == "!=") r = !equals(left, right);
    else if (op == "<") r = less(left, right, "<");
    else if (op == ">") r = less(right, left, ">");
    else if (op == "<=") r = !less(right, left, "<=");
    else if (op == ">=") r = !less(left, right, ">=");
    else if (op == "in") r = contains(right, left);
    else r = !contains(right, left);
    if (!r) return Value::boolean(false);
    left = std::move(right);
  }
  return Value::boolean(true);
}

Value Interp::eval_binary(const std::string& op, const Value& a, const Value& b) {
  if (a.is_undefined()) a.fail_undefined();
  if (b.is_undefined()) b.fail_undefined();
  auto unsupported = [&]() -> Value {
    raise("TypeError", "unsupported operand type(s) for " + op + ": '" + type_name(a) + "' and '" + type_name(b) + "'");
  };
  const bool nums = a.is_number() && b.is_number();
  const bool ints = nums && a.type != Type::kFloat && b.type != Type::kFloat;
  auto ai = [](const Value& v) { return v.type == Type::kBool ? int64_t{v.b} : v.i; };
  auto af = [](const Value& v) { return v.type == Type::kFloat ? v.f : v.type == Type::kBool ? double(v.b) : double(v.i); };
  // 64-bit integer arithmetic; Python's integers do not overflow, so a result past 64 bits is an
  // error here rather than a wrapped value.
  auto checked = [&](char op, int64_t x, int64_t y) -> int64_t {
    int64_t r;
    const bool over = op == '+' ? __builtin_add_overflow(x, y, &r)
                      : op == '-' ? __builtin_sub_overflow(x, y, &r) : __builtin_mul_overflow(x, y, &r);
    if (over) raise("OverflowError", "integer result does not fit in 64 bits");
    return r;
  };
  if (op == "+") {
    if (ints) return Value::integer(checked('+', ai(a), ai(b)));
    if (nums) return Value::number(af(a) + af(b));
    if (a.is_string() && b.is_string()) {
      if (a.b || b.b) return Value::markup((a.b ? a.s : html_escape(a.s)) + (b.b ? b.s : html_escape(b.s)));
      return Value::str(a.s + b.s);
    }
    if (a.is_string()) raise("TypeError", "can only concatenate str (not \"" + type_name(b) + "\") to str");
    if (a.is_list() && b.is_list() && !a.is_generator() && !b.is_generator() && a.is_tuple() == b.is_tuple()) {
      std::vector<Value> items = a.list->items;
      items.insert(items.end(), b.list->items.begin(), b.list->items.end());
      return a.is_tuple() ? Value::new_tuple(std::move(items)) : Value::new_list(std::move(items));
    }
    if (a.is_list() && !a.is_generator())
      raise("TypeError", "can only concatenate " + type_name(a) + " (not \"" + type_name(b) + "\") to " + type_name(a));
    return unsupported();
  }
  if (op == "-") {
    if (ints) return Value::integer(checked('-', ai(a), ai(b)));
    if (nums) return Value::number(af(a) - af(b));
    return unsupported();
  }
  if (op == "*") {
    if (ints) return Value::integer(checked('*', ai(a), ai(b)));
    if (nums) return Value::number(af(a) * af(b));
    const Value* seq = a.is_string() || a.is_list() ? &a : &b;
    const Value* cnt = seq == &a ? &b : &a;
    if ((seq->is_string() || (seq->is_list() && !seq->is_generator())) &&
        (cnt->type == Type::kInt || cnt->type == Type::kBool)) {
      int64_t times = ai(*cnt);
      if (times > 0 && (seq->is_string() ? seq->s.size() : seq->list->items.size()) * times > limits_.max_output)
        raise("MemoryError", "repeated sequence is too large");
      if (seq->is_string()) {
        std::string r;
        for (int64_t k = 0; k < times; ++k) r += seq->s;
        Value out = Value::str(std::move(r));
        out.b = seq->b;
        return out;
      }
      std::vector<Value> r;
      for (int64_t k = 0; k < times; ++k) r.insert(r.end(), seq->list->items.begin(), seq->list->items.end());
      return seq->is_tuple() ? Value::new_tuple(std::move(r)) : Value::new_list(std::move(r));
    }
    return unsupported();
  }
  if (op == "/") {
    if (!nums) return unsupported();
    if (af(b) == 0) raise("ZeroDivisionError", "division by zero");
    return Value::number(af(a) / af(b));
  }
  if (op == "//") {
    if (!nums) return unsupported();
    if (af(b) == 0) raise("ZeroDivisionError", "integer division or modulo by zero");
    if (ints) {
      int64_t x = ai(a), y = ai(b), q = x / y;
      if ((x % y != 0) && ((x < 0) != (y < 0))) --q;
      return Value::integer(q);
    }
    return Value::number(std::floor(af(a) / af(b)));
  }
  if (op == "%") {
    if (a.is_string()) {
      if (!a.b) return Value::str(percent_format(a.s, b));
      auto esc = [](const Value& x) { return x.is_string() && !x.b ? Value::markup(html_escape(x.s)) : x; };
      Value args = b;
      if (b.is_tuple()) {
        std::vector<Value> items;
        for (const auto& x : b.list->items) items.push_back(esc(x));
        args = Value::new_tuple(std::move(items));
      } else if (b.is_mapping()) {
        args = Value::new_dict();
        for (const auto& kv : b.dict->items) args.dict->set(kv.first, esc(kv.second));
      } else {
        args = esc(b);
      }
      return Value::markup(percent_format(a.s, args));
    }
    if (!nums) return unsupported();
    if (af(b) == 0) raise("ZeroDivisionError", "integer division or modulo by zero");
    if (ints) {
      int64_t x = ai(a), y = ai(b), r = x % y;
      if (r != 0 && ((r < 0) != (y < 0))) r += y;
      return Value::integer(r);
    }
    double r = std::fmod(af(a), af(b));
    if (r != 0 && ((r < 0) != (af(b) < 0))) r += af(b);
    return Value::number(r);
  }
  if (op == "**") {
    if (!nums) return unsupported();
    if (ints && ai(b) >= 0) {
      int64_t base = ai(a), e = ai(b), r = 1;
      for (int64_t k = 0; k < e && k < 64; ++k) r = checked('*', r, base);
      return Value::integer(r);
    }
    return Value::number(std::pow(af(a), af(b)));
  }
  return unsupported();
}

}  // namespace nuri::chat::jinja
