#include "io/safetensors.h"

#include <sys/stat.h>

#include <cstring>
#include <set>

namespace nuri::io {
namespace {

std::string dirname_of(const std::string& p) {
  auto k = p.find_last_of('/');
  return k == std::string::npos ? "." : p.substr(0, k);
}

std::optional<DType> st_dtype(const std::string& s) {
  if (s == "F32") return DType::kF32;
  if (s == "F16") return DType::kF16;
  if (s == "BF16") return DType::kBF16;
  if (s == "F64") return DType::kF64;
  if (s == "I8") return DType::kI8;
  if (s == "I16") return DType::kI16;
  if (s == "I32") return DType::kI32;
  if (s == "I64") return DType::kI64;
  return std::nullopt;
}

}  // namespace

Status write_safetensors(const std::string& path, const std::vector<SafetensorOut>& tensors,
                         const std::vector<std::pair<std::string, std::string>>& metadata) {
  nlohmann::ordered_json h = nlohmann::ordered_json::object();
  if (!metadata.empty()) {
    nlohmann::ordered_json md = nlohmann::ordered_json::object();
    for (const auto& [k, v] : metadata) md[k] = v;
    h["__metadata__"] = md;
  }
  uint64_t off = 0;
  for (const auto& t : tensors) {
    const char* dt = t.dtype == DType::kF32 ? "F32" : t.dtype == DType::kF16 ? "F16" : t.dtype == DType::kBF16 ? "BF16"
                   : t.dtype == DType::kI32 ? "I32" : t.dtype == DType::kI64 ? "I64" : nullptr;
    if (!dt) return Error(path + ": tensor '" + t.name + "' has a dtype safetensors cannot hold");
    h[t.name] = {{"dtype", dt}, {"shape", t.shape}, {"data_offsets", {off, off + t.bytes.size()}}};
    off += t.bytes.size();
  }
  std::string hs = h.dump();
  while ((8 + hs.size()) % 8) hs += ' ';
  std::string out(8, '\0');
  const uint64_t n = hs.size();
  std::memcpy(out.data(), &n, 8);
  out += hs;
  for (const auto& t : tensors) out += t.bytes;
  return write_file(path, out);
}

Result<nlohmann::json> read_json_file(const std::string& path) {
  NURI_ASSIGN_OR_RETURN(std::string text, read_file(path));
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Error(path + ": invalid JSON");
  return j;
}

Status Safetensors::add_file(const std::string& path) {
  NURI_ASSIGN_OR_RETURN(MappedFile m, MappedFile::open(path));
  auto map = std::make_shared<MappedFile>(std::move(m));
  const size_t size = map->size();
  if (size < 8) return Error(path + ": not a safetensors file (shorter than 8 bytes)");
  uint64_t hlen;
  std::memcpy(&hlen, map->data(), 8);
  if (hlen > size - 8 || hlen > (100u << 20)) return Error(path + ": header length " + std::to_string(hlen) + " is past the end of the file");
  std::string_view htext(reinterpret_cast<const char*>(map->data() + 8), hlen);
  nlohmann::json h = nlohmann::json::parse(htext, nullptr, false);
  if (h.is_discarded() || !h.is_object()) return Error(path + ": header is not a JSON object");
  const uint8_t* base = map->data() + 8 + hlen;
  const size_t data_size = size - 8 - hlen;
  for (auto it = h.begin(); it != h.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (it->is_object())
        for (auto m2 = it->begin(); m2 != it->end(); ++m2)
          if (m2->is_string()) metadata_[m2.key()] = m2->get<std::string>();
      continue;
    }
    const auto& e = *it;
    const std::string& name = it.key();
    if (!e.is_object() || !e.contains("dtype") || !e.contains("shape") || !e.contains("data_offsets") ||
        !e["dtype"].is_string() || !e["shape"].is_array() || !e["data_offsets"].is_array() ||
        e["data_offsets"].size() != 2)
      return Error(path + ": tensor '" + name + "' has a malformed header entry");
    SafetensorInfo ti;
    ti.name = name;
    ti.file = path;
    auto dt = st_dtype(e["dtype"].get<std::string>());
    if (!dt) return Error(path + ": tensor '" + name + "' has unsupported dtype " + e["dtype"].get<std::string>());
    ti.dtype = *dt;
    uint64_t n = 1;
    for (const auto& d : e["shape"]) {
      if (!d.is_number_unsigned()) return Error(path + ": tensor '" + name + "' has a bad shape");
      ti.shape.push_back(d.get<uint64_t>());
      if (__builtin_mul_overflow(n, ti.shape.back(), &n))
        return Error(path + ": tensor '" + name + "' has more elements than 64 bits can count");
    }
    uint64_t want_bytes = 0;
    if (__builtin_mul_overflow(n, uint64_t{dtype_info(ti.dtype).type_size}, &want_bytes))
      return Error(path + ": tensor '" + name + "' is larger than 64 bits can address");
    const auto& off = e["data_offsets"];
    if (!off[0].is_number_unsigned() || !off[1].is_number_unsigned())
      return Error(path + ": tensor '" + name + "' has bad data_offsets");
    uint64_t b = off[0].get<uint64_t>(), en = off[1].get<uint64_t>();
    if (b > en || en > data_size) return Error(path + ": tensor '" + name + "' data runs past the end of the file");
    if (en - b != want_bytes)
      return Error(path + ": tensor '" + name + "' has " + std::to_string(en - b) + " bytes for " + std::to_string(n) +
                   " elements");
    ti.data = base + b;
    ti.n_bytes = en - b;
    if (index_.count(name)) return Error(path + ": duplicate tensor '" + name + "'");
    index_[name] = tensors_.size();
    tensors_.push_back(std::move(ti));
  }
  maps_.push_back(std::move(map));
  return Status::ok();
}

Result<Safetensors> Safetensors::open(const std::string& path) {
  std::string p = path;
  if (is_directory(p)) {
    if (path_exists(p + "/model.safetensors.index.json")) p += "/model.safetensors.index.json";
    else if (path_exists(p + "/model.safetensors")) p += "/model.safetensors";
    else return Error(path + ": no model.safetensors or model.safetensors.index.json in this directory");
  }
  Safetensors st;
  const std::string suffix = ".index.json";
  if (p.size() > suffix.size() && p.compare(p.size() - suffix.size(), suffix.size(), suffix) == 0) {
    NURI_ASSIGN_OR_RETURN(nlohmann::json idx, read_json_file(p));
    if (!idx.contains("weight_map") || !idx["weight_map"].is_object())
      return Error(p + ": no weight_map object");
    std::set<std::string> files;
    for (auto it = idx["weight_map"].begin(); it != idx["weight_map"].end(); ++it) {
      if (!it->is_string()) return Error(p + ": weight_map entry '" + it.key() + "' is not a file name");
      std::string f = it->get<std::string>();
      if (f.find('/') != std::string::npos || f.find("..") != std::string::npos)
        return Error(p + ": shard name '" + f + "' must be a plain file name");
      files.insert(f);
    }
    const std::string dir = dirname_of(p);
    for (const auto& f : files) NURI_TRY(st.add_file(dir + "/" + f));
    for (auto it = idx["weight_map"].begin(); it != idx["weight_map"].end(); ++it)
      if (!st.tensor(it.key())) return Error(p + ": tensor '" + it.key() + "' listed in weight_map is missing from its shard");
  } else {
    NURI_TRY(st.add_file(p));
  }
  return st;
}

const SafetensorInfo* Safetensors::tensor(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

}  // namespace nuri::io
