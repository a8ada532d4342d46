// chat/jinja/parser.cc — recursive-descent parser following Jinja2's grammar and precedence.
#include "chat/jinja/parser.h"

#include <set>

namespace nuri::chat::jinja {
namespace {

class Parser {
 public:
  explicit Parser(std::vector<Token> toks) : t_(std::move(toks)) {}

  Program run() {
    Program p;
    p.body = subparse({});
    if (!unknown_.empty()) raise("TemplateAssertionError", unknown_.front());
    return p;
  }

 private:
  // ---- token helpers ----
  const Token& cur() const { return t_[pos_]; }
  const Token& look(size_t n = 1) const { return t_[std::min(pos_ + n, t_.size() - 1)]; }
  void next() { if (pos_ + 1 < t_.size()) ++pos_; }
  bool is_op(const char* op) const { return cur().kind == Tok::kOp && cur().text == op; }
  bool is_name(const char* n) const { return cur().kind == Tok::kName && cur().text == n; }
  bool skip_op(const char* op) { if (is_op(op)) { next(); return true; } return false; }
  bool skip_name(const char* n) { if (is_name(n)) { next(); return true; } return false; }
  [[noreturn]] void fail(const std::string& msg) const {
    raise("TemplateSyntaxError", msg + " (line " + std::to_string(cur().line) + ")");
  }
  std::string describe(const Token& t) const {
    switch (t.kind) {
      case Tok::kEof: return "end of template";
      case Tok::kBlockEnd: return "end of statement block";
      case Tok::kVarEnd: return "end of print statement";
      case Tok::kData: return "template data";
      default: return "'" + t.text + "'";
    }
  }
  void expect_op(const char* op) {
    if (!skip_op(op)) fail(std::string("expected '") + op + "', got " + describe(cur()));
  }
  std::string expect_name() {
    if (cur().kind != Tok::kName) fail("expected a name, got " + describe(cur()));
    std::string n = cur().text;
    next();
    return n;
  }
  void expect_block_end() {
    if (cur().kind != Tok::kBlockEnd) fail("expected end of statement block, got " + describe(cur()));
    next();
  }
  NodePtr make(NodeKind k) {
    auto n = std::make_shared<Node>();
    n->kind = k;
    n->line = cur().line;
    return n;
  }

  // ---- statements ----
  // Parses until a block tag whose name is in `ends` (left unconsumed: cur() is that name).
  std::vector<NodePtr> subparse(const std::set<std::string>& ends) {
    std::vector<NodePtr> body;
    while (true) {
      const Token& tk = cur();
      if (tk.kind == Tok::kEof) {
        if (!ends.empty()) fail("unexpected end of template, expected one of the closing tags");
        return body;
      }
      if (tk.kind == Tok::kData) {
        auto n = make(NodeKind::kData);
        n->name = tk.text;
        body.push_back(n);
        next();
      } else if (tk.kind == Tok::kVarBegin) {
        next();
        auto n = make(NodeKind::kOutput);
        n->a = parse_tuple(true, false);
        if (cur().kind != Tok::kVarEnd) fail("expected end of print statement, got " + describe(cur()));
        next();
        body.push_back(n);
      } else if (tk.kind == Tok::kBlockBegin) {
        next();
        if (cur().kind == Tok::kName && ends.count(cur().text)) return body;
        body.push_back(parse_statement());
      } else {
        fail("unexpected " + describe(tk));
      }
    }
  }

  // Consumes `{% name %}` of an end tag already at cur().
  void end_tag(const char* name) {
    if (!skip_name(name)) fail(std::string("expected '") + name + "'");
    expect_block_end();
  }

  NodePtr parse_statement() {
    if (cur().kind != Tok::kName) fail("tag name expected");
    std::string tag = cur().text;
    if (tag == "if") return parse_if();
    if (tag == "for") return parse_for();
    if (tag == "set") return parse_set();
    if (tag == "macro") return parse_macro();
    if (tag == "call") return parse_call_block();
    if (tag == "filter") return parse_filter_block();
    if (tag == "with") return parse_with();
    if (tag == "generation") {
      auto n = make(NodeKind::kScope);
      next();
      expect_block_end();
      n->body = subparse({"endgeneration"});
      end_tag("endgeneration");
      return n;
    }
    if (tag == "break" || tag == "continue") {
      if (loop_depth_ == 0) fail("'" + tag + "' outside of a loop");
      auto n = make(tag == "break" ? NodeKind::kBreak : NodeKind::kContinue);
      next();
      expect_block_end();
      return n;
    }
    fail("Encountered unknown tag '" + tag + "'");
  }

  NodePtr parse_if() {
    auto n = make(NodeKind::kIf);
    bool saved = soft_;
    soft_ = true;
    next();
    while (true) {
      n->items.push_back(parse_tuple(false, false));
      expect_block_end();
      n->bodies.push_back(subparse({"elif", "else", "endif"}));
      if (skip_name("elif")) continue;
      if (skip_name("else")) {
        expect_block_end();
        n->else_body = subparse({"endif"});
      }
      end_tag("endif");
      break;
    }
    soft_ = saved;
    return n;
  }

  NodePtr parse_for() {
    auto n = make(NodeKind::kFor);
    next();
    n->a = parse_assign_target(true, false);
    if (!skip_name("in")) fail("expected 'in'");
    n->b = parse_tuple(false, true, {"recursive"});
    if (skip_name("if")) n->c = parse_expression(true);
    n->flag = skip_name("recursive");
    expect_block_end();
    bool saved = soft_;
    soft_ = false;
    ++loop_depth_;
    std::set<std::string> names;
    sinks_.push_back(&names);
    n->body = subparse({"endfor", "else"});
    sinks_.pop_back();
    n->uses_loop = names.count("loop") > 0;
    --loop_depth_;
    if (skip_name("else")) {
      expect_block_end();
      n->else_body = subparse({"endfor"});
    }
    soft_ = saved;
    end_tag("endfor");
    return n;
  }

  NodePtr parse_set() {
    next();
    NodePtr target = parse_assign_target(true, true);
    if (skip_op("=")) {
      auto n = make(NodeKind::kSet);
      n->a = target;
      n->b = parse_tuple(true, false);
      expect_block_end();
      return n;
    }
    auto n = make(NodeKind::kSetBlock);
    n->a = target;
    if (is_op("|")) n->c = parse_filter_chain(nullptr);
    expect_block_end();
    n->body = subparse({"endset"});
    end_tag("endset");
    return n;
  }

  void parse_signature(Node* n) {
    expect_op("(");
    while (!is_op(")")) {
      if (!n->params.empty()) expect_op(",");
      if (is_op(")")) break;
      n->params.push_back(expect_name());
      n->items.push_back(skip_op("=") ? parse_expression(true) : nullptr);
    }
    expect_op(")");
  }

  template <typename F>
  void with_name_sink(Node* n, F&& body) {
    std::set<std::string> names;
    sinks_.push_back(&names);
    bool saved = soft_;
    soft_ = false;
    int saved_loop = loop_depth_;
    loop_depth_ = 0;
    body();
    loop_depth_ = saved_loop;
    soft_ = saved;
    sinks_.pop_back();
    n->uses_varargs = names.count("varargs") > 0;
    n->uses_kwargs = names.count("kwargs") > 0;
    n->uses_caller = names.count("caller") > 0;
  }

  NodePtr parse_macro() {
    auto n = make(NodeKind::kMacro);
    next();
    n->name = expect_name();
    parse_signature(n.get());
    expect_block_end();
    with_name_sink(n.get(), [&] { n->body = subparse({"endmacro"}); });
    end_tag("endmacro");
    return n;
  }

  NodePtr parse_call_block() {
    auto n = make(NodeKind::kCallBlock);
    next();
    if (is_op("(")) parse_signature(n.get());
    n->a = parse_expression(true);
    if (n->a->kind != NodeKind::kCall) fail("expected call");
    expect_block_end();
    with_name_sink(n.get(), [&] { n->body = subparse({"endcall"}); });
    end_tag("endcall");
    return n;
  }

  NodePtr parse_filter_block() {
    auto n = make(NodeKind::kFilterBlock);
    next();
    n->a = parse_filter_chain(nullptr, true);
    expect_block_end();
    bool saved = soft_;
    soft_ = false;
    n->body = subparse({"endfilter"});
    soft_ = saved;
    end_tag("endfilter");
    return n;
  }

  NodePtr parse_with() {
    auto n = make(NodeKind::kWith);
    next();
    while (cur().kind != Tok::kBlockEnd) {
      if (!n->params.empty()) expect_op(",");
      n->params.push_back(expect_name());
      expect_op("=");
      n->items.push_back(parse_expression(true));
    }
    expect_block_end();
    bool saved = soft_;
    soft_ = false;
    n->body = subparse({"endwith"});
    soft_ = saved;
    end_tag("endwith");
    return n;
  }

  NodePtr parse_assign_target(bool with_tuple, bool with_namespace) {
    if (with_namespace && cur().kind == Tok::kName && look().kind == Tok::kOp && look().text == ".") {
      auto n = make(NodeKind::kGetattr);
      auto base = make(NodeKind::kName);
      base->name = expect_name();
      next();
      n->a = base;
      n->name = expect_name();
      return n;
    }
    bool parens = skip_op("(");
    std::vector<NodePtr> names;
    bool comma = parens;
    while (true) {
      auto n = make(NodeKind::kName);
      n->name = expect_name();
      names.push_back(n);
      if (!with_tuple || !is_op(",")) break;
      comma = true;
      next();
      if (cur().kind != Tok::kName || is_name("in")) break;
    }
    if (parens) expect_op(")");
    if (!comma) return names[0];
    auto t = make(NodeKind::kTuple);
    t->items = names;
    return t;
  }

  // ---- expressions ----
  bool is_tuple_end(const std::set<std::string>& extra) const {
    if (cur().kind == Tok::kVarEnd || cur().kind == Tok::kBlockEnd || cur().kind == Tok::kEof || is_op(")"))
      return true;
    return cur().kind == Tok::kName && extra.count(cur().text);
  }

  NodePtr parse_tuple(bool with_condexpr, bool explicit_parens, const std::set<std::string>& extra = {}) {
    std::vector<NodePtr> args;
    bool is_tuple = false;
    int line = cur().line;
    while (true) {
      if (!args.empty()) expect_op(",");
      if (is_tuple_end(extra)) break;
      args.push_back(parse_expression(with_condexpr));
      if (is_op(",")) is_tuple = true;
      else break;
    }
    if (!is_tuple) {
      if (!args.empty()) return args[0];
      if (!explicit_parens) fail("Expected an expression, got " + describe(cur()));
    }
    auto t = make(NodeKind::kTuple);
    t->line = line;
    t->items = std::move(args);
    return t;
  }

  NodePtr parse_expression(bool with_condexpr) { return with_condexpr ? parse_condexpr() : parse_or(); }

  NodePtr parse_condexpr() {
    size_t mark = unknown_.size();
    NodePtr e1 = parse_or();
    bool any = false;
    while (skip_name("if")) {
      any = true;
      auto n = make(NodeKind::kCondExpr);
      n->a = parse_or();
      n->b = e1;
      if (skip_name("else")) n->c = parse_condexpr();
      e1 = n;
    }
    if (any) unknown_.resize(mark);  // CondExpr is a soft frame: unknown filters fail at runtime
    return e1;
  }

  NodePtr parse_or() {
    NodePtr l = parse_and();
    while (skip_name("or")) {
      auto n = make(NodeKind::kOr);
      n->a = l;
      n->b = parse_and();
      l = n;
    }
    return l;
  }
  NodePtr parse_and() {
    NodePtr l = parse_not();
    while (skip_name("and")) {
      auto n = make(NodeKind::kAnd);
      n->a = l;
      n->b = parse_not();
      l = n;
    }
    return l;
  }
  NodePtr parse_not() {
    if (is_name("not")) {
      auto n = make(NodeKind::kNot);
      next();
      n->a = parse_not();
      return n;
    }
    return parse_compare();
  }
  NodePtr parse_compare() {
    NodePtr e = parse_math1();
    NodePtr cmp;
    while (true) {
      std::string op;
      if (cur().kind == Tok::kOp && (cur().text == "==" || cur().text == "!=" || cur().text == "<" ||
                                     cur().text == "<=" || cur().text == ">" || cur().text == ">=")) {
        op = cur().text;
        next();
      } else if (is_name("in")) {
        op = "in";
        next();
      } else if (is_name("not") && look().kind == Tok::kName && look().text == "in") {
        op = "notin";
        next();
        next();
      } else {
        break;
      }
      if (!cmp) {
        cmp = make(NodeKind::kCompare);
        cmp->a = e;
      }
      cmp->ops.push_back(op);
      cmp->items.push_back(parse_math1());
    }
    return cmp ? cmp : e;
  }
  NodePtr binary(const std::string& op, NodePtr l, NodePtr r) {
    auto n = make(NodeKind::kBinary);
    n->name = op;
    n->a = std::move(l);
    n->b = std::move(r);
    return n;
  }
  NodePtr parse_math1() {
    NodePtr l = parse_concat();
    while (is_op("+") || is_op("-")) {
      std::string op = cur().text;
      next();
      l = binary(op, l, parse_concat());
    }
    return l;
  }
  NodePtr parse_concat() {
    NodePtr first = parse_math2();
    if (!is_op("~")) return first;
    auto n = make(NodeKind::kConcat);
    n->items.push_back(first);
    while (skip_op("~")) n->items.push_back(parse_math2());
    return n;
  }
  NodePtr parse_math2() {
    NodePtr l = parse_pow();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      std::string op = cur().text;
      next();
      l = binary(op, l, parse_pow());
    }
    return l;
  }
  NodePtr parse_pow() {
    NodePtr l = parse_unary(true);
    while (skip_op("**")) l = binary("**", l, parse_unary(true));
    return l;
  }
  NodePtr parse_unary(bool with_filter) {
    NodePtr node;
    if (is_op("-") || is_op("+")) {
      auto n = make(NodeKind::kUnary);
      n->name = cur().text;
      next();
      n->a = parse_unary(false);
      node = n;
    } else {
      node = parse_primary();
    }
    node = parse_postfix(node);
    if (with_filter) node = parse_filter_expr(node);
    return node;
  }

  NodePtr parse_primary() {
    const Token& tk = cur();
    if (tk.kind == Tok::kName) {
      auto n = make(NodeKind::kLiteral);
      const std::string& s = tk.text;
      if (s == "true" || s == "True") n->value = Value::boolean(true);
      else if (s == "false" || s == "False") n->value = Value::boolean(false);
      else if (s == "none" || s == "None") n->value = Value::none();
      else {
        n->kind = NodeKind::kName;
        n->name = s;
        for (auto* sink : sinks_) sink->insert(s);
      }
      next();
      return n;
    }
    if (tk.kind == Tok::kString) {
      auto n = make(NodeKind::kLiteral);
      std::string s;
      while (cur().kind == Tok::kString) {
        s += cur().text;
        next();
      }
      n->value = Value::str(std::move(s));
      return n;
    }
    if (tk.kind == Tok::kInt || tk.kind == Tok::kFloat) {
      auto n = make(NodeKind::kLiteral);
      n->value = tk.kind == Tok::kInt ? Value::integer(tk.ival) : Value::number(tk.fval);
      next();
      return n;
    }
    if (is_op("(")) {
      next();
      NodePtr n = parse_tuple(true, true);
      expect_op(")");
      return n;
    }
    if (is_op("[")) {
      auto n = make(NodeKind::kList);
      next();
      while (!is_op("]")) {
        if (!n->items.empty()) expect_op(",");
        if (is_op("]")) break;
        n->items.push_back(parse_expression(true));
      }
      expect_op("]");
      return n;
    }
    if (is_op("{")) {
      auto n = make(NodeKind::kDict);
      next();
      while (!is_op("}")) {
        if (!n->items.empty()) expect_op(",");
        if (is_op("}")) break;
        n->items.push_back(parse_expression(true));
        expect_op(":");
        n->items.push_back(parse_expression(true));
      }
      expect_op("}");
      return n;
    }
    fail("unexpected " + describe(tk));
  }

  NodePtr parse_postfix(NodePtr node) {
    while (true) {
      if (is_op(".") || is_op("[")) node = parse_subscript(node);
      else if (is_op("(")) node = parse_call(node);
      else return node;
    }
  }

  NodePtr parse_filter_expr(NodePtr node) {
    while (true) {
      if (is_op("|")) node = parse_filter_chain(node);
      else if (is_name("is")) node = parse_test(node);
      else if (is_op("(")) node = parse_call(node);
      else return node;
    }
  }

  NodePtr parse_subscript(NodePtr node) {
    if (skip_op(".")) {
      if (cur().kind == Tok::kName) {
        auto n = make(NodeKind::kGetattr);
        n->a = node;
        n->name = expect_name();
        return n;
      }
      if (cur().kind == Tok::kInt) {
        auto n = make(NodeKind::kGetitem);
        n->a = node;
        auto k = make(NodeKind::kLiteral);
        k->value = Value::integer(cur().ival);
        n->b = k;
        next();
        return n;
      }
      fail("expected name or number");
    }
    expect_op("[");
    std::vector<NodePtr> args;
    while (!is_op("]")) {
      if (!args.empty()) expect_op(",");
      args.push_back(parse_subscribed());
    }
    expect_op("]");
    if (args.size() == 1 && args[0]->kind == NodeKind::kSlice) {
      args[0]->a = node;
      return args[0];
    }
    auto n = make(NodeKind::kGetitem);
    n->a = node;
    if (args.size() == 1) {
      n->b = args[0];
    } else {
      auto t = make(NodeKind::kTuple);
      t->items = args;
      n->b = t;
    }
    return n;
  }

  NodePtr parse_subscribed() {
    NodePtr start;
    if (!is_op(":")) {
      start = parse_expression(true);
      if (!is_op(":")) return start;
    }
    next();  // ':'
    auto s = make(NodeKind::kSlice);
    s->b = start;
    if (!is_op("]") && !is_op(",") && !is_op(":")) s->c = parse_expression(true);
    if (skip_op(":")) {
      if (!is_op("]") && !is_op(",")) s->d = parse_expression(true);
    }
    return s;
  }

  void parse_call_args(Node* n) {
    expect_op("(");
    bool first = true;
    while (!is_op(")")) {
      if (!first) expect_op(",");
      first = false;
      if (is_op(")")) break;
      if (skip_op("*")) {
        n->b = parse_expression(true);
      } else if (skip_op("**")) {
        n->c = parse_expression(true);
      } else if (cur().kind == Tok::kName && look().kind == Tok::kOp && look().text == "=") {
        std::string key = expect_name();
        next();
        n->kwargs.emplace_back(key, parse_expression(true));
      } else {
        n->items.push_back(parse_expression(true));
      }
    }
    expect_op(")");
  }

  NodePtr parse_call(NodePtr node) {
    auto n = make(NodeKind::kCall);
    n->a = node;
    parse_call_args(n.get());
    return n;
  }

  std::string dotted_name() {
    std::string name = expect_name();
    while (is_op(".") && look().kind == Tok::kName) {
      next();
      name += "." + expect_name();
    }
    return name;
  }

  // `| f(args) | g ...` applied to node (null for filter blocks).
  NodePtr parse_filter_chain(NodePtr node, bool start_inline = false) {
    while (start_inline || is_op("|")) {
      if (!start_inline) next();
      start_inline = false;
      auto n = make(NodeKind::kFilter);
      n->a = node;
      n->name = dotted_name();
      if (!is_known_filter(n->name) && !soft_) unknown_.push_back("No filter named '" + n->name + "'.");
      if (is_op("(")) parse_call_args(n.get());
      node = n;
    }
    return node;
  }

  NodePtr parse_test(NodePtr node) {
    next();  // 'is'
    bool negated = skip_name("not");
    auto n = make(NodeKind::kTest);
    n->a = node;
    n->name = dotted_name();
    if (!is_known_test(n->name) && !soft_) unknown_.push_back("No test named '" + n->name + "'.");
    if (is_op("(")) {
      parse_call_args(n.get());
    } else if ((cur().kind == Tok::kName || cur().kind == Tok::kString || cur().kind == Tok::kInt ||
                cur().kind == Tok::kFloat || is_op("(") || is_op("[") || is_op("{")) &&
               !is_name("else") && !is_name("or") && !is_name("and")) {
      if (is_name("is")) fail("You cannot chain multiple tests with is");
      NodePtr arg = parse_postfix(parse_primary());
      n->items.push_back(arg);
    }
    if (!negated) return n;
    auto nn = make(NodeKind::kNot);
    nn->a = n;
    return nn;
  }

  std::vector<Token> t_;
  size_t pos_ = 0;
  bool soft_ = false;
  int loop_depth_ = 0;
  std::vector<std::string> unknown_;
  std::vector<std::set<std::string>*> sinks_;
};

}  // namespace

Program parse_template(std::string_view source, const LexOptions& opt) {
  return Parser(tokenize(source, opt)).run();
}

}  // namespace nuri::chat::jinja
