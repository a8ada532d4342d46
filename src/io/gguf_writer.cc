// GGUF v3 writer: metadata in insertion order, tensors aligned, little-endian.
#include <cstring>

#include "io/gguf.h"

namespace nuri::io {
namespace {

template <typename T>
void put(std::string& out, T x) {
  char b[sizeof(T)];
  std::memcpy(b, &x, sizeof(T));
  out.append(b, sizeof(T));
}

void put_string(std::string& out, const std::string& s) {
  put<uint64_t>(out, s.size());
  out += s;
}

void put_value(std::string& out, const GgufValue& v) {
  switch (v.type) {
    case GgufType::kUint8: put<uint8_t>(out, static_cast<uint8_t>(*v.as_uint())); break;
    case GgufType::kInt8: put<int8_t>(out, static_cast<int8_t>(*v.as_int())); break;
    case GgufType::kUint16: put<uint16_t>(out, static_cast<uint16_t>(*v.as_uint())); break;
    case GgufType::kInt16: put<int16_t>(out, static_cast<int16_t>(*v.as_int())); break;
    case GgufType::kUint32: put<uint32_t>(out, static_cast<uint32_t>(*v.as_uint())); break;
    case GgufType::kInt32: put<int32_t>(out, static_cast<int32_t>(*v.as_int())); break;
    case GgufType::kUint64: put<uint64_t>(out, std::get<uint64_t>(v.v)); break;
    case GgufType::kInt64: put<int64_t>(out, std::get<int64_t>(v.v)); break;
    case GgufType::kFloat32: put<float>(out, static_cast<float>(std::get<double>(v.v))); break;
    case GgufType::kFloat64: put<double>(out, std::get<double>(v.v)); break;
    case GgufType::kBool: put<uint8_t>(out, std::get<bool>(v.v) ? 1 : 0); break;
    case GgufType::kString: put_string(out, std::get<std::string>(v.v)); break;
    case GgufType::kArray: {
      const GgufArray* a = v.as_array();
      put<uint32_t>(out, static_cast<uint32_t>(a->elem_type));
      put<uint64_t>(out, a->items.size());
      for (const auto& it : a->items) put_value(out, it);
      break;
    }
  }
}

void pad_to(std::string& out, size_t alignment) {
  size_t rem = out.size() % alignment;
  if (rem) out.append(alignment - rem, '\0');
}

}  // namespace

void GgufWriter::set(std::string key, GgufValue value) {
  if (key == "general.alignment") {
    if (auto a = value.as_uint()) alignment_ = static_cast<uint32_t>(*a);
  }
  for (auto& kv : kv_) {
    if (kv.first == key) {
      kv.second = std::move(value);
      return;
    }
  }
  kv_.emplace_back(std::move(key), std::move(value));
}

Status GgufWriter::add_tensor(std::string name, DType dtype, const std::vector<uint64_t>& shape, const void* data,
                              size_t n_bytes) {
  if (shape.empty() || shape.size() > 4) return Error("tensor '" + name + "': 1 to 4 dimensions expected");
  uint64_t n = 1;
  for (uint64_t d : shape) n *= d;
  const auto& info = dtype_info(dtype);
  if (shape.back() % info.block_size != 0)
    return Error("tensor '" + name + "': row length not a multiple of the block size");
  if (n / info.block_size * info.type_size != n_bytes)
    return Error("tensor '" + name + "': " + std::to_string(n_bytes) + " bytes given, " +
                 std::to_string(n / info.block_size * info.type_size) + " expected");
  for (const auto& t : tensors_)
    if (t.name == name) return Error("duplicate tensor '" + name + "'");
  PendingTensor t;
  t.name = std::move(name);
  t.dtype = dtype;
  t.ne.assign(shape.rbegin(), shape.rend());
  t.bytes.assign(static_cast<const char*>(data), n_bytes);
  tensors_.push_back(std::move(t));
  return Status::ok();
}

std::string GgufWriter::serialize() const {
  std::string out;
  out += "GGUF";
  put<uint32_t>(out, 3);
  put<uint64_t>(out, tensors_.size());
  put<uint64_t>(out, kv_.size());
  for (const auto& [k, v] : kv_) {
    put_string(out, k);
    put<uint32_t>(out, static_cast<uint32_t>(v.type));
    put_value(out, v);
  }
  uint64_t offset = 0;
  for (const auto& t : tensors_) {
    put_string(out, t.name);
    put<uint32_t>(out, static_cast<uint32_t>(t.ne.size()));
    for (uint64_t d : t.ne) put<uint64_t>(out, d);
    put<uint32_t>(out, static_cast<uint32_t>(t.dtype));
    put<uint64_t>(out, offset);
    offset += (t.bytes.size() + alignment_ - 1) / alignment_ * alignment_;
  }
  pad_to(out, alignment_);
  for (const auto& t : tensors_) {
    out += t.bytes;
    pad_to(out, alignment_);
  }
  return out;
}

Status GgufWriter::write(const std::string& path) const { return write_file(path, serialize()); }

}  // namespace nuri::io
