// io/gguf.h — GGUF v2/v3 reader (mmap, zero-copy) and writer.
// Purpose: parse the header, every metadata value type (nested arrays included) and the tensor
// directory; give tensor data as pointers into the mapping. Non-goals: interpreting metadata
// (model/, tokenizer/ do that) or converting dtypes.
// Invariants: a GgufFile that parsed is fully validated: every key is valid UTF-8 and unique,
// every tensor has a known dtype, a valid shape, an aligned offset and data inside the file.
// Shapes: GgufTensorInfo::ne is GGUF order (innermost first); shape() is nuri order (outermost first).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "base/mmap.h"
#include "base/status.h"
#include "tensor/dtype.h"

namespace nuri::io {

enum class GgufType : uint32_t {
  kUint8 = 0, kInt8 = 1, kUint16 = 2, kInt16 = 3, kUint32 = 4, kInt32 = 5, kFloat32 = 6,
  kBool = 7, kString = 8, kArray = 9, kUint64 = 10, kInt64 = 11, kFloat64 = 12,
};
std::string_view gguf_type_name(GgufType t);

struct GgufValue;
struct GgufArray {
  GgufType elem_type = GgufType::kUint8;
  std::vector<GgufValue> items;
};

// One metadata value. Integers keep their exact type; accessors convert where lossless.
struct GgufValue {
  GgufType type = GgufType::kUint8;
  std::variant<uint64_t, int64_t, double, bool, std::string, std::shared_ptr<GgufArray>> v;

  static GgufValue u8(uint8_t x) { return {GgufType::kUint8, uint64_t{x}}; }
  static GgufValue i8(int8_t x) { return {GgufType::kInt8, int64_t{x}}; }
  static GgufValue u16(uint16_t x) { return {GgufType::kUint16, uint64_t{x}}; }
  static GgufValue i16(int16_t x) { return {GgufType::kInt16, int64_t{x}}; }
  static GgufValue u32(uint32_t x) { return {GgufType::kUint32, uint64_t{x}}; }
  static GgufValue i32(int32_t x) { return {GgufType::kInt32, int64_t{x}}; }
  static GgufValue u64(uint64_t x) { return {GgufType::kUint64, x}; }
  static GgufValue i64(int64_t x) { return {GgufType::kInt64, x}; }
  static GgufValue f32(float x) { return {GgufType::kFloat32, double{x}}; }
  static GgufValue f64(double x) { return {GgufType::kFloat64, x}; }
  static GgufValue boolean(bool x) { return {GgufType::kBool, x}; }
  static GgufValue str(std::string x) { return {GgufType::kString, std::move(x)}; }
  static GgufValue array(GgufType elem, std::vector<GgufValue> items);
  static GgufValue strings(const std::vector<std::string>& xs);
  static GgufValue f32s(const std::vector<float>& xs);
  static GgufValue i32s(const std::vector<int32_t>& xs);

  bool is_integer() const;
  bool is_float() const { return type == GgufType::kFloat32 || type == GgufType::kFloat64; }
  std::optional<uint64_t> as_uint() const;  // any integer type with a non-negative value
  std::optional<int64_t> as_int() const;    // any integer type that fits
  std::optional<double> as_float() const;   // floats and integers
  std::optional<bool> as_bool() const;
  const std::string* as_string() const;
  const GgufArray* as_array() const;
  std::string to_display(size_t max_items = 8) const;  // short human form for inspect
  bool operator==(const GgufValue& o) const;
};

struct GgufTensorInfo {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<uint64_t> ne;  // GGUF order, innermost first
  uint64_t offset = 0;       // relative to the start of the data section
  uint64_t n_elements = 0;
  size_t n_bytes = 0;
  const uint8_t* data = nullptr;  // into the mapping (or the parsed buffer)

  std::vector<uint64_t> shape() const { return {ne.rbegin(), ne.rend()}; }  // outermost first
  uint64_t n_rows() const;  // product of all dims but ne[0]
  uint64_t row_len() const { return ne.empty() ? 1 : ne[0]; }
};

class GgufFile {
 public:
  static Result<GgufFile> open(const std::string& path);
  // Parse a buffer that outlives the GgufFile (used by the fuzzer and tests). `name` is for errors.
  static Result<GgufFile> parse(const uint8_t* data, size_t size, const std::string& name);

  GgufFile() = default;
  GgufFile(GgufFile&&) = default;
  GgufFile& operator=(GgufFile&&) = default;

  uint32_t version() const { return version_; }
  uint32_t alignment() const { return alignment_; }
  const std::string& path() const { return path_; }
  size_t file_size() const { return size_; }
  size_t data_offset() const { return data_offset_; }

  // Metadata in file order.
  const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return kv_; }
  const GgufValue* find(std::string_view key) const;
  std::optional<uint64_t> get_uint(std::string_view key) const;
  std::optional<int64_t> get_int(std::string_view key) const;
  std::optional<double> get_float(std::string_view key) const;
  std::optional<bool> get_bool(std::string_view key) const;
  std::optional<std::string> get_string(std::string_view key) const;
  // Typed array views; nullopt if absent or of another element type.
  std::optional<std::vector<std::string>> get_string_array(std::string_view key) const;
  std::optional<std::vector<float>> get_f32_array(std::string_view key) const;
  std::optional<std::vector<int64_t>> get_int_array(std::string_view key) const;
  std::string architecture() const { return get_string("general.architecture").value_or(""); }

  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* tensor(std::string_view name) const;

 private:
  friend class GgufParser;
  std::shared_ptr<MappedFile> map_;
  std::string path_;
  size_t size_ = 0;
  uint32_t version_ = 0;
  uint32_t alignment_ = 32;
  size_t data_offset_ = 0;
  std::vector<std::pair<std::string, GgufValue>> kv_;
  std::unordered_map<std::string, size_t> kv_index_;
  std::vector<GgufTensorInfo> tensors_;
  std::unordered_map<std::string, size_t> tensor_index_;
};

// Builds a GGUF v3 file in memory. Tensor data is copied; shapes are nuri order (outermost first).
class GgufWriter {
 public:
  void set(std::string key, GgufValue value);  // replaces an existing key, keeps order
  Status add_tensor(std::string name, DType dtype, const std::vector<uint64_t>& shape,
                    const void* data, size_t n_bytes);
  void set_alignment(uint32_t a) { alignment_ = a; }
  std::string serialize() const;
  Status write(const std::string& path) const;

 private:
  struct PendingTensor {
    std::string name;
    DType dtype;
    std::vector<uint64_t> ne;
    std::string bytes;
  };
  uint32_t alignment_ = 32;
  std::vector<std::pair<std::string, GgufValue>> kv_;
  std::vector<PendingTensor> tensors_;
};

}  // namespace nuri::io
