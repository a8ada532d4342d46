// GgufValue helpers: construction, lossless conversions, display, equality.
#include <cmath>
#include <limits>
#include <sstream>

#include "io/gguf.h"

namespace nuri::io {

std::string_view gguf_type_name(GgufType t) {
  switch (t) {
    case GgufType::kUint8: return "u8";
    case GgufType::kInt8: return "i8";
    case GgufType::kUint16: return "u16";
    case GgufType::kInt16: return "i16";
    case GgufType::kUint32: return "u32";
    case GgufType::kInt32: return "i32";
    case GgufType::kFloat32: return "f32";
    case GgufType::kBool: return "bool";
    case GgufType::kString: return "str";
    case GgufType::kArray: return "arr";
    case GgufType::kUint64: return "u64";
    case GgufType::kInt64: return "i64";
    case GgufType::kFloat64: return "f64";
  }
  return "?";
}

GgufValue GgufValue::array(GgufType elem, std::vector<GgufValue> items) {
  auto a = std::make_shared<GgufArray>();
  a->elem_type = elem;
  a->items = std::move(items);
  return {GgufType::kArray, std::move(a)};
}

GgufValue GgufValue::strings(const std::vector<std::string>& xs) {
  std::vector<GgufValue> items;
  items.reserve(xs.size());
  for (const auto& s : xs) items.push_back(str(s));
  return array(GgufType::kString, std::move(items));
}

GgufValue GgufValue::f32s(const std::vector<float>& xs) {
  std::vector<GgufValue> items;
  items.reserve(xs.size());
  for (float x : xs) items.push_back(f32(x));
  return array(GgufType::kFloat32, std::move(items));
}

GgufValue GgufValue::i32s(const std::vector<int32_t>& xs) {
  std::vector<GgufValue> items;
  items.reserve(xs.size());
  for (int32_t x : xs) items.push_back(i32(x));
  return array(GgufType::kInt32, std::move(items));
}

bool GgufValue::is_integer() const {
  switch (type) {
    case GgufType::kUint8: case GgufType::kInt8: case GgufType::kUint16: case GgufType::kInt16:
    case GgufType::kUint32: case GgufType::kInt32: case GgufType::kUint64: case GgufType::kInt64:
      return true;
    default:
      return false;
  }
}

std::optional<uint64_t> GgufValue::as_uint() const {
  if (!is_integer()) return std::nullopt;
  if (auto* u = std::get_if<uint64_t>(&v)) return *u;
  int64_t i = std::get<int64_t>(v);
  if (i < 0) return std::nullopt;
  return static_cast<uint64_t>(i);
}

std::optional<int64_t> GgufValue::as_int() const {
  if (!is_integer()) return std::nullopt;
  if (auto* i = std::get_if<int64_t>(&v)) return *i;
  uint64_t u = std::get<uint64_t>(v);
  if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
  return static_cast<int64_t>(u);
}

std::optional<double> GgufValue::as_float() const {
  if (auto* d = std::get_if<double>(&v)) return *d;
  if (auto* u = std::get_if<uint64_t>(&v)) return static_cast<double>(*u);
  if (auto* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
  return std::nullopt;
}

std::optional<bool> GgufValue::as_bool() const {
  if (auto* b = std::get_if<bool>(&v)) return *b;
  return std::nullopt;
}

const std::string* GgufValue::as_string() const { return std::get_if<std::string>(&v); }

const GgufArray* GgufValue::as_array() const {
  if (auto* a = std::get_if<std::shared_ptr<GgufArray>>(&v)) return a->get();
  return nullptr;
}

static std::string quote_short(const std::string& s, size_t max_len) {
  std::string out = "\"";
  size_t n = 0;
  for (char c : s) {
    if (n++ >= max_len) {
      out += "...";
      break;
    }
    if (c == '\n') out += "\\n";
    else if (c == '"') out += "\\\"";
    else if (static_cast<unsigned char>(c) < 0x20) out += '?';
    else out += c;
  }
  return out + "\"";
}

std::string GgufValue::to_display(size_t max_items) const {
  std::ostringstream os;
  if (auto* a = as_array()) {
    os << "[" << gguf_type_name(a->elem_type) << " x " << a->items.size() << "]";
    if (max_items > 0 && !a->items.empty()) {
      os << " {";
      for (size_t i = 0; i < a->items.size() && i < max_items; ++i) {
        if (i) os << ", ";
        os << a->items[i].to_display(0);
      }
      if (a->items.size() > max_items) os << ", ...";
      os << "}";
    }
    return os.str();
  }
  if (auto* s = as_string()) return quote_short(*s, 60);
  if (auto* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
  if (auto* d = std::get_if<double>(&v)) {
    os << *d;
    return os.str();
  }
  if (auto* u = std::get_if<uint64_t>(&v)) return std::to_string(*u);
  return std::to_string(std::get<int64_t>(v));
}

bool GgufValue::operator==(const GgufValue& o) const {
  if (type != o.type) return false;
  if (type == GgufType::kArray) {
    const auto* a = as_array();
    const auto* b = o.as_array();
    if (a->elem_type != b->elem_type || a->items.size() != b->items.size()) return false;
    for (size_t i = 0; i < a->items.size(); ++i)
      if (!(a->items[i] == b->items[i])) return false;
    return true;
  }
  if (type == GgufType::kFloat32 || type == GgufType::kFloat64) {
    double x = std::get<double>(v), y = std::get<double>(o.v);
    return x == y || (std::isnan(x) && std::isnan(y));
  }
  return v == o.v;
}

}  // namespace nuri::io
