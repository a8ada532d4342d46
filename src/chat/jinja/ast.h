// chat/jinja/ast.h — the parsed form of a template: expression and statement nodes.
// One Node struct serves every kind; each kind documents which fields it uses.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "chat/jinja/value.h"

namespace nuri::chat::jinja {

enum class NodeKind : uint8_t {
  // Expressions.
  kLiteral,   // value
  kName,      // name
  kList,      // items
  kTuple,     // items
  kDict,      // items = k0, v0, k1, v1, ...
  kGetattr,   // a.name
  kGetitem,   // a[b]
  kSlice,     // a[b:c:d], any of b c d may be null
  kCall,      // a(items..., kwargs..., *b, **c)
  kFilter,    // a | name(items..., kwargs...); a is null inside {% filter %} / {% set x | f %}
  kTest,      // a is [not] name(items...)
  kUnary,     // name ('-' or '+') a
  kNot,       // not a
  kBinary,    // a name b, name in + - * / // % **
  kAnd,       // a and b
  kOr,        // a or b
  kCompare,   // a ops[0] items[0] ops[1] items[1] ...
  kConcat,    // items joined with ~
  kCondExpr,  // b if a else c (c may be null)
  // Statements.
  kData,        // name = literal text
  kOutput,      // {{ a }}
  kIf,          // items = conditions, bodies = branch bodies, else_body
  kFor,         // for a in b [if c] body else else_body; flag = recursive
  kSet,         // set a = b
  kSetBlock,    // set a [| filter chain c] body endset
  kMacro,       // macro name(params = defaults in items) body
  kCallBlock,   // call[(params)] a body endcall
  kFilterBlock, // filter a body endfilter
  kWith,        // with params = items; body
  kBreak,
  kContinue,
  kScope,       // body in its own scope ({% generation %})
};

struct Node;
using NodePtr = std::shared_ptr<Node>;

struct Node {
  NodeKind kind = NodeKind::kLiteral;
  int line = 0;
  std::string name;
  Value value;
  NodePtr a, b, c, d;
  std::vector<NodePtr> items;
  std::vector<std::pair<std::string, NodePtr>> kwargs;
  std::vector<std::string> ops;
  std::vector<std::string> params;
  std::vector<std::vector<NodePtr>> bodies;
  std::vector<NodePtr> body;
  std::vector<NodePtr> else_body;
  bool flag = false;         // kTest: negated; kFor: recursive
  bool uses_varargs = false; // kMacro / kCallBlock
  bool uses_kwargs = false;
  bool uses_caller = false;
  bool uses_loop = false;    // kFor: the body mentions `loop`
};

struct Program {
  std::vector<NodePtr> body;
};

bool is_known_filter(const std::string& name);
bool is_known_test(const std::string& name);

}  // namespace nuri::chat::jinja
