// GGUF reader: validates everything it reads; every failure is one line naming the file and the problem.
#include <cstring>
#include <limits>

#include "io/gguf.h"
#include "io/utf8.h"

namespace nuri::io {

namespace {
constexpr uint32_t kMaxDims = 4;            // GGML_MAX_DIMS
constexpr int kMaxArrayDepth = 8;           // nested arrays deeper than this are refused
constexpr uint64_t kMaxStringLen = 1u << 30;
}  // namespace

class GgufParser {
 public:
  GgufParser(const uint8_t* data, size_t size, const std::string& name)
      : p_(data), size_(size), name_(name) {}

  Status parse(GgufFile* f);

 private:
  Status fail(const std::string& what) const {
    return Error(name_ + ": " + what + " (at byte " + std::to_string(pos_) + ")");
  }
  size_t remaining() const { return size_ - pos_; }
  template <typename T>
  bool read(T* out) {
    if (remaining() < sizeof(T)) return false;
    std::memcpy(out, p_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return true;
  }
  Status read_string(std::string* out, const char* what);
  Status read_value(GgufType type, int depth, GgufValue* out);
  static size_t min_encoded_size(GgufType t);

  const uint8_t* p_;
  size_t size_;
  size_t pos_ = 0;
  std::string name_;
};

static bool valid_type(uint32_t t) { return t <= static_cast<uint32_t>(GgufType::kFloat64); }

size_t GgufParser::min_encoded_size(GgufType t) {
  switch (t) {
    case GgufType::kUint8: case GgufType::kInt8: case GgufType::kBool: return 1;
    case GgufType::kUint16: case GgufType::kInt16: return 2;
    case GgufType::kUint32: case GgufType::kInt32: case GgufType::kFloat32: return 4;
    case GgufType::kUint64: case GgufType::kInt64: case GgufType::kFloat64: return 8;
    case GgufType::kString: return 8;
    case GgufType::kArray: return 12;
  }
  return 1;
}

Status GgufParser::read_string(std::string* out, const char* what) {
  uint64_t len;
  if (!read(&len)) return fail(std::string("truncated file: missing length of ") + what);
  if (len > kMaxStringLen || len > remaining())
    return fail(std::string("length of ") + what + " is " + std::to_string(len) + " bytes, past the end of the file");
  out->assign(reinterpret_cast<const char*>(p_ + pos_), len);
  pos_ += len;
  return Status::ok();
}

Status GgufParser::read_value(GgufType type, int depth, GgufValue* out) {
  out->type = type;
  switch (type) {
#define NURI_GGUF_SCALAR(T, CT, STORE)                                      \
  case GgufType::T: {                                                       \
    CT x;                                                                   \
    if (!read(&x)) return fail("truncated file inside a metadata value");   \
    out->v = STORE(x);                                                      \
    return Status::ok();                                                    \
  }
    NURI_GGUF_SCALAR(kUint8, uint8_t, uint64_t)
    NURI_GGUF_SCALAR(kInt8, int8_t, int64_t)
    NURI_GGUF_SCALAR(kUint16, uint16_t, uint64_t)
    NURI_GGUF_SCALAR(kInt16, int16_t, int64_t)
    NURI_GGUF_SCALAR(kUint32, uint32_t, uint64_t)
    NURI_GGUF_SCALAR(kInt32, int32_t, int64_t)
    NURI_GGUF_SCALAR(kUint64, uint64_t, uint64_t)
    NURI_GGUF_SCALAR(kInt64, int64_t, int64_t)
    NURI_GGUF_SCALAR(kFloat32, float, double)
    NURI_GGUF_SCALAR(kFloat64, double, double)
#undef NURI_GGUF_SCALAR
    case GgufType::kBool: {
      uint8_t b;
      if (!read(&b)) return fail("truncated file inside a bool value");
      if (b > 1) return fail("bool value is " + std::to_string(b) + ", expected 0 or 1");
      out->v = b != 0;
      return Status::ok();
    }
    case GgufType::kString: {
      std::string s;
      NURI_TRY(read_string(&s, "a string value"));
      out->v = std::move(s);
      return Status::ok();
    }
    case GgufType::kArray: {
      if (depth >= kMaxArrayDepth) return fail("arrays nested deeper than " + std::to_string(kMaxArrayDepth));
      uint32_t et;
      uint64_t n;
      if (!read(&et) || !read(&n)) return fail("truncated file in an array header");
      if (!valid_type(et)) return fail("unknown array element type " + std::to_string(et));
      GgufType elem = static_cast<GgufType>(et);
      if (n > remaining() / min_encoded_size(elem))
        return fail("array of " + std::to_string(n) + " elements does not fit in the file");
      auto arr = std::make_shared<GgufArray>();
      arr->elem_type = elem;
      arr->items.resize(n);
      for (uint64_t i = 0; i < n; ++i) NURI_TRY(read_value(elem, depth + 1, &arr->items[i]));
      out->v = std::move(arr);
      return Status::ok();
    }
  }
  return fail("unknown value type " + std::to_string(static_cast<uint32_t>(type)));
}

Status GgufParser::parse(GgufFile* f) {
  if (size_ < 4 || std::memcmp(p_, "GGUF", 4) != 0) {
    return Error(name_ + ": not a GGUF file (bad magic" +
                 (size_ < 4 ? std::string(", file is ") + std::to_string(size_) + " bytes)" : std::string(")")));
  }
  pos_ = 4;
  uint32_t version;
  if (!read(&version)) return fail("truncated file: no version");
  if (version == 1) return fail("GGUF version 1 is not supported (only 2 and 3)");
  if (version != 2 && version != 3) {
    if (version == 0x02000000u || version == 0x03000000u) return fail("big-endian GGUF files are not supported");
    return fail("unsupported GGUF version " + std::to_string(version) + " (expected 2 or 3)");
  }
  f->version_ = version;
  uint64_t n_tensors, n_kv;
  if (!read(&n_tensors) || !read(&n_kv)) return fail("truncated file: header counts missing");
  // Each kv needs at least 8 (key len) + 4 (type) + 1 bytes; each tensor info at least 8+4+8+4+8.
  if (n_kv > remaining() / 13) return fail("metadata count " + std::to_string(n_kv) + " is larger than the file can hold");
  if (n_tensors > remaining() / 32) return fail("tensor count " + std::to_string(n_tensors) + " is larger than the file can hold");

  f->kv_.reserve(n_kv);
  for (uint64_t i = 0; i < n_kv; ++i) {
    std::string key;
    NURI_TRY(read_string(&key, "a metadata key"));
    if (key.empty()) return fail("empty metadata key");
    if (!is_valid_utf8(key)) return fail("metadata key #" + std::to_string(i) + " is not valid UTF-8");
    uint32_t t;
    if (!read(&t)) return fail("truncated file: no type for key '" + key + "'");
    if (!valid_type(t)) return fail("key '" + key + "' has unknown value type " + std::to_string(t));
    GgufValue v;
    NURI_TRY(read_value(static_cast<GgufType>(t), 0, &v).with_context("key '" + key + "'"));
    if (f->kv_index_.count(key)) return fail("duplicate metadata key '" + key + "'");
    f->kv_index_.emplace(key, f->kv_.size());
    f->kv_.emplace_back(std::move(key), std::move(v));
  }

  if (const GgufValue* a = f->find("general.alignment")) {
    auto al = a->as_uint();
    if (!al || *al == 0 || (*al & (*al - 1)) != 0 || *al > (1u << 20))
      return fail("general.alignment must be a power of two, got " + a->to_display());
    f->alignment_ = static_cast<uint32_t>(*al);
  }

  f->tensors_.reserve(n_tensors);
  for (uint64_t i = 0; i < n_tensors; ++i) {
    GgufTensorInfo ti;
    NURI_TRY(read_string(&ti.name, "a tensor name"));
    if (ti.name.empty()) return fail("tensor #" + std::to_string(i) + " has an empty name");
    if (!is_valid_utf8(ti.name)) return fail("tensor #" + std::to_string(i) + " name is not valid UTF-8");
    uint32_t n_dims;
    if (!read(&n_dims)) return fail("truncated file in tensor '" + ti.name + "'");
    if (n_dims == 0 || n_dims > kMaxDims)
      return fail("tensor '" + ti.name + "' has " + std::to_string(n_dims) + " dimensions (expected 1 to 4)");
    ti.ne.resize(n_dims);
    uint64_t n_el = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      if (!read(&ti.ne[d])) return fail("truncated file in tensor '" + ti.name + "' shape");
      if (ti.ne[d] == 0) return fail("tensor '" + ti.name + "' has a zero dimension");
      if (ti.ne[d] > (uint64_t{1} << 48) || n_el > std::numeric_limits<uint64_t>::max() / ti.ne[d])
        return fail("tensor '" + ti.name + "' has an absurd shape");
      n_el *= ti.ne[d];
    }
    if (n_el > (uint64_t{1} << 48)) return fail("tensor '" + ti.name + "' has an absurd element count");
    ti.n_elements = n_el;
    uint32_t type;
    if (!read(&type) || !read(&ti.offset)) return fail("truncated file in tensor '" + ti.name + "'");
    auto info = dtype_info(type);
    if (!info) return fail("tensor '" + ti.name + "' has unknown dtype id " + std::to_string(type));
    ti.dtype = info->type;
    if (ti.ne[0] % info->block_size != 0)
      return fail("tensor '" + ti.name + "' row length " + std::to_string(ti.ne[0]) + " is not a multiple of the " +
                  std::string(info->name) + " block size " + std::to_string(info->block_size));
    ti.n_bytes = static_cast<size_t>(n_el / info->block_size * info->type_size);
    if (ti.offset % f->alignment_ != 0)
      return fail("tensor '" + ti.name + "' offset " + std::to_string(ti.offset) + " is not aligned to " +
                  std::to_string(f->alignment_));
    if (f->tensor_index_.count(ti.name)) return fail("duplicate tensor name '" + ti.name + "'");
    f->tensor_index_.emplace(ti.name, f->tensors_.size());
    f->tensors_.push_back(std::move(ti));
  }

  size_t data_off = (pos_ + f->alignment_ - 1) / f->alignment_ * f->alignment_;
  if (!f->tensors_.empty() && data_off > size_) return fail("truncated file: tensor data section missing");
  f->data_offset_ = data_off;
  const size_t data_size = size_ > data_off ? size_ - data_off : 0;
  for (auto& ti : f->tensors_) {
    if (ti.offset > data_size || ti.n_bytes > data_size - ti.offset)
      return Error(name_ + ": tensor '" + ti.name + "' data (" + std::to_string(ti.n_bytes) + " bytes at offset " +
                   std::to_string(ti.offset) + ") runs past the end of the file");
    ti.data = p_ + data_off + ti.offset;
  }
  f->size_ = size_;
  return Status::ok();
}

Result<GgufFile> GgufFile::parse(const uint8_t* data, size_t size, const std::string& name) {
  GgufFile f;
  f.path_ = name;
  GgufParser parser(data, size, name);
  NURI_TRY(parser.parse(&f));
  return f;
}

Result<GgufFile> GgufFile::open(const std::string& path) {
  NURI_ASSIGN_OR_RETURN(MappedFile m, MappedFile::open(path));
  auto map = std::make_shared<MappedFile>(std::move(m));
  NURI_ASSIGN_OR_RETURN(GgufFile f, parse(map->data(), map->size(), path));
  f.map_ = std::move(map);
  return f;
}

const GgufValue* GgufFile::find(std::string_view key) const {
  auto it = kv_index_.find(std::string(key));
  return it == kv_index_.end() ? nullptr : &kv_[it->second].second;
}

std::optional<uint64_t> GgufFile::get_uint(std::string_view key) const {
  const GgufValue* v = find(key);
  return v ? v->as_uint() : std::nullopt;
}
std::optional<int64_t> GgufFile::get_int(std::string_view key) const {
  const GgufValue* v = find(key);
  return v ? v->as_int() : std::nullopt;
}
std::optional<double> GgufFile::get_float(std::string_view key) const {
  const GgufValue* v = find(key);
  return v ? v->as_float() : std::nullopt;
}
std::optional<bool> GgufFile::get_bool(std::string_view key) const {
  const GgufValue* v = find(key);
  return v ? v->as_bool() : std::nullopt;
}
std::optional<std::string> GgufFile::get_string(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v || !v->as_string()) return std::nullopt;
  return *v->as_string();
}

std::optional<std::vector<std::string>> GgufFile::get_string_array(std::string_view key) const {
  const GgufValue* v = find(key);
  const GgufArray* a = v ? v->as_array() : nullptr;
  if (!a || a->elem_type != GgufType::kString) return std::nullopt;
  std::vector<std::string> out;
  out.reserve(a->items.size());
  for (const auto& it : a->items) out.push_back(*it.as_string());
  return out;
}

std::optional<std::vector<float>> GgufFile::get_f32_array(std::string_view key) const {
  const GgufValue* v = find(key);
  const GgufArray* a = v ? v->as_array() : nullptr;
  if (!a || a->elem_type == GgufType::kString || a->elem_type == GgufType::kArray ||
      a->elem_type == GgufType::kBool)
    return std::nullopt;
  std::vector<float> out;
  out.reserve(a->items.size());
  for (const auto& it : a->items) out.push_back(static_cast<float>(*it.as_float()));
  return out;
}

std::optional<std::vector<int64_t>> GgufFile::get_int_array(std::string_view key) const {
  const GgufValue* v = find(key);
  const GgufArray* a = v ? v->as_array() : nullptr;
  if (!a) return std::nullopt;
  std::vector<int64_t> out;
  out.reserve(a->items.size());
  for (const auto& it : a->items) {
    auto x = it.as_int();
    if (!x) return std::nullopt;
    out.push_back(*x);
  }
  return out;
}

const GgufTensorInfo* GgufFile::tensor(std::string_view name) const {
  auto it = tensor_index_.find(std::string(name));
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

uint64_t GgufTensorInfo::n_rows() const {
  uint64_t r = 1;
  for (size_t i = 1; i < ne.size(); ++i) r *= ne[i];
  return r;
}

}  // namespace nuri::io
