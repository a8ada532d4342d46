// chat/jinja/value.h — the dynamic values a Jinja template computes with, with Python semantics.
// Purpose: one Value type (undefined, none, bool, int, float, str, list/tuple, dict/namespace,
// callable) whose printing, comparison, truthiness and JSON form follow Python 3 exactly as Jinja2
// running under Hugging Face's apply_chat_template shows them (str([1, 'a']) == "[1, 'a']").
// Non-goals: arbitrary-precision ints, Python sets, bytes.
// Invariants: lists and dicts are shared by reference like Python objects, but only namespaces
// are ever mutated (the sandbox forbids in-place mutation of lists and dicts). Strings are UTF-8.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace nuri::chat::jinja {

// A template failure: `kind` is the Python exception name (TypeError, UndefinedError, ...).
struct JinjaError {
  std::string kind;
  std::string message;
  std::string what() const { return kind + ": " + message; }
};
[[noreturn]] void raise(std::string kind, std::string message);

struct Value;
struct ListData;
struct DictData;
struct FunctionData;

enum class Type : uint8_t { kUndefined, kNone, kBool, kInt, kFloat, kString, kList, kDict, kFunction };

struct Value {
  Type type = Type::kUndefined;
  bool b = false;  // bool value; for str: a Markup ("safe") string
  int64_t i = 0;   // int value; for undefined: 1 when touching it is a SecurityError
  double f = 0;
  std::string s;   // str value; for undefined: the message raised when it is used
  std::shared_ptr<ListData> list;
  std::shared_ptr<DictData> dict;
  std::shared_ptr<FunctionData> fn;

  Value() = default;
  static Value undefined(std::string hint = {}, bool security = false);
  static Value none();
  static Value boolean(bool v);
  static Value integer(int64_t v);
  static Value number(double v);
  static Value str(std::string v);
  static Value markup(std::string v);  // markupsafe.Markup: `+` and `%` escape plain str operands
  static Value new_list(std::vector<Value> items = {});
  static Value new_tuple(std::vector<Value> items);
  static Value generator(std::vector<Value> items, std::string type_name = "generator");
  static Value new_dict();
  static Value new_namespace();
  static Value function(std::string name, std::function<Value(struct Args&)> fn);

  bool is_undefined() const { return type == Type::kUndefined; }
  bool is_none() const { return type == Type::kNone; }
  bool is_string() const { return type == Type::kString; }
  bool is_markup() const { return type == Type::kString && b; }
  bool is_list() const { return type == Type::kList; }
  bool is_dict() const { return type == Type::kDict; }
  bool is_number() const { return type == Type::kInt || type == Type::kFloat || type == Type::kBool; }
  bool is_namespace() const;
  bool is_mapping() const;    // a dict (not a namespace)
  bool is_generator() const;  // a one-shot iterator (map/select/items results)
  bool is_tuple() const;

  // Raises the UndefinedError (or SecurityError) this undefined stands for.
  [[noreturn]] void fail_undefined() const;
};

struct ListData {
  std::vector<Value> items;
  bool tuple = false;
  bool generator = false;
  bool consumed = false;          // generators iterate once
  std::string type_name = "list";  // Python type name for messages
  std::vector<std::string> fields;  // namedtuple field names (groupby results)
};

struct DictData {
  std::vector<std::pair<Value, Value>> items;  // insertion order, like a Python dict
  bool ns = false;                             // a Jinja namespace() object

  const Value* find(const Value& key) const;
  const Value* find(std::string_view key) const;
  void set(Value key, Value value);
};

struct Args {
  std::vector<Value> pos;
  std::vector<std::pair<std::string, Value>> kw;

  // Python-style binding of `names` (positional or keyword); missing ones stay undefined.
  // Raises TypeError for too many positional or unknown keyword arguments.
  std::vector<Value> bind(std::string_view fn_name, const std::vector<std::string_view>& names) const;
};

struct FunctionData {
  std::string name;
  std::function<Value(Args&)> fn;
  bool is_macro = false;
};

// Python type name: "str", "int", "dict", "list", "NoneType", "Namespace", ...
std::string type_name(const Value& v);
bool truthy(const Value& v);
bool equals(const Value& a, const Value& b);
bool less(const Value& a, const Value& b, std::string_view op = "<");  // raises TypeError like Python
int compare(const Value& a, const Value& b);                           // for sorting

std::string to_str(const Value& v);   // Python str()
std::string to_repr(const Value& v);  // Python repr()
std::string repr_string(std::string_view s);
std::string html_escape(std::string_view s);  // markupsafe.escape
std::string format_float(double d);   // Python repr(float)

// Iterating a value the way Python's `for` does: list items, dict keys, string characters.
// Undefined iterates as empty; none, numbers raise TypeError. Generators are consumed.
std::vector<Value> iterate(const Value& v);
int64_t length(const Value& v);  // Python len(); raises TypeError where Python does

struct JsonOptions {
  std::optional<std::string> indent;  // nullopt: single line
  std::string item_sep = ", ";
  std::string key_sep = ": ";
  bool sort_keys = false;
  bool ensure_ascii = false;
};
std::string to_json(const Value& v, const JsonOptions& opt);  // Python json.dumps
std::string json_escape(std::string_view s, bool ensure_ascii);

Value from_json(const nlohmann::ordered_json& j);

}  // namespace nuri::chat::jinja
