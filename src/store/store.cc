#include "store/store.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "base/mmap.h"

namespace nuri::store {
namespace fs = std::filesystem;

namespace {

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

bool ends_with_ci(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && upper(s.substr(s.size() - suffix.size())) == upper(suffix);
}

bool valid_part(const std::string& s) {
  if (s.empty() || s == "." || s == "..") return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
  return true;
}

std::string base_name(const std::string& p) {
  auto k = p.find_last_of('/');
  return k == std::string::npos ? p : p.substr(k + 1);
}

// Regular files (symlinks followed) under `dir`, as paths relative to it, sorted.
std::vector<std::string> snapshot_files(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code ec2;
    if (fs::is_regular_file(it->path(), ec2)) out.push_back(it->path().lexically_relative(dir).string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string join(const std::vector<std::string>& xs) {
  std::string s;
  for (const auto& x : xs) s += (s.empty() ? "" : ", ") + x;
  return s.empty() ? "(none)" : s;
}

bool is_safetensors_dir(const std::vector<std::string>& files) {
  bool config = false, weights = false;
  for (const auto& f : files) {
    if (f == "config.json") config = true;
    if (ends_with_ci(f, ".safetensors")) weights = true;
  }
  return config && weights;
}

std::vector<std::string> gguf_files(const std::vector<std::string>& files) {
  std::vector<std::string> out;
  for (const auto& f : files)
    if (ends_with_ci(f, ".gguf")) out.push_back(f);
  return out;
}

// Picks the file (or the directory, for safetensors) of `snap` that `selector` names.
Result<std::string> choose(const std::string& repo, const std::string& snap, const std::string& selector) {
  const auto files = snapshot_files(snap);
  const auto ggufs = gguf_files(files);
  const std::string rev = base_name(snap);
  if (selector.empty()) {
    if (is_safetensors_dir(files)) return snap;
    if (ggufs.size() == 1) return snap + "/" + ggufs[0];
    if (ggufs.empty())
      return Error(repo + " (snapshot " + rev + ") holds no GGUF file and no config.json + safetensors; files: " +
                   join(files));
    return Error(repo + " holds several GGUF files (" + join(ggufs) + "); pick one as " + repo + ":QUANT or " + repo +
                 ":FILE.gguf");
  }
  std::vector<std::string> hits;
  if (ends_with_ci(selector, ".gguf")) {
    for (const auto& f : ggufs)
      if (f == selector || base_name(f) == selector) hits.push_back(f);
  } else {
    for (const auto& f : ggufs)
      if (quant_matches(base_name(f), selector)) hits.push_back(f);
  }
  if (hits.size() == 1) return snap + "/" + hits[0];
  if (hits.empty())
    return Error("no file matching '" + selector + "' in " + repo + " (snapshot " + rev + "); GGUF files: " +
                 join(ggufs) + " (nuri pull " + repo + ":" + selector + " downloads it)");
  return Error("'" + selector + "' matches several files in " + repo + ": " + join(hits) + "; name one as " + repo +
               ":FILE.gguf");
}

constexpr const char* kQuants[] = {
    "IQ2_XXS", "IQ3_XXS", "IQ2_XS", "IQ3_XS", "IQ4_XS", "IQ4_NL", "Q2_K_S", "Q3_K_S", "Q3_K_M", "Q3_K_L",
    "Q4_K_S",  "Q4_K_M",  "Q5_K_S", "Q5_K_M", "IQ1_S",  "IQ1_M",  "IQ2_S",  "IQ2_M",  "IQ3_S",  "IQ3_M",
    "TQ1_0",   "TQ2_0",   "Q2_K",   "Q3_K",   "Q4_K",   "Q5_K",   "Q6_K",   "Q8_K",   "Q4_0",   "Q4_1",
    "Q5_0",    "Q5_1",    "Q8_0",   "BF16",   "F16",    "F32"};

uint64_t file_size_or_zero(const std::string& p) {
  std::error_code ec;
  auto n = fs::file_size(p, ec);
  return ec ? 0 : n;
}

}  // namespace

std::string hf_home() {
  const std::string home = env_or("HOME", "/root");
  return env_or("HF_HOME", env_or("XDG_CACHE_HOME", home + "/.cache") + "/huggingface");
}

std::string hub_dir() { return env_or("HF_HUB_CACHE", env_or("HUGGINGFACE_HUB_CACHE", hf_home() + "/hub")); }

std::vector<std::string> extra_dirs() {
  std::vector<std::string> out;
  const std::string v = env_or("NURI_MODELS", "");
  size_t start = 0;
  while (start <= v.size()) {
    size_t k = v.find(':', start);
    if (k == std::string::npos) k = v.size();
    if (k > start) out.push_back(v.substr(start, k - start));
    start = k + 1;
  }
  return out;
}

std::optional<ModelRef> parse_model_ref(const std::string& s) {
  const auto slash = s.find('/');
  if (slash == std::string::npos) return std::nullopt;
  const auto colon = s.find(':', slash);
  const std::string repo = s.substr(0, colon);
  const std::string owner = repo.substr(0, slash), name = repo.substr(slash + 1);
  if (!valid_part(owner) || !valid_part(name) || repo.find("--") != std::string::npos) return std::nullopt;
  ModelRef r;
  r.repo = repo;
  if (colon != std::string::npos) {
    r.selector = s.substr(colon + 1);
    if (r.selector.empty() || r.selector.find('/') != std::string::npos) return std::nullopt;
  }
  return r;
}

std::string repo_dir(const std::string& repo) {
  std::string d = repo;
  const auto slash = d.find('/');
  if (slash != std::string::npos) d.replace(slash, 1, "--");
  return hub_dir() + "/models--" + d;
}

bool quant_matches(const std::string& file_name, const std::string& quant) {
  if (quant.empty()) return false;
  const std::string f = upper(file_name), q = upper(quant);
  for (size_t pos = f.find(q); pos != std::string::npos; pos = f.find(q, pos + 1)) {
    const size_t end = pos + q.size();
    const bool left = pos == 0 || !std::isalnum(static_cast<unsigned char>(f[pos - 1]));
    const bool right = end == f.size() || (!std::isalnum(static_cast<unsigned char>(f[end])) && f[end] != '_');
    if (left && right) return true;
  }
  return false;
}

std::string quant_from_name(const std::string& file_name) {
  for (const char* q : kQuants)
    if (quant_matches(file_name, q)) return q;
  return "";
}

Result<std::string> current_snapshot(const std::string& repo) {
  const std::string dir = repo_dir(repo);
  if (!is_directory(dir)) return Error(repo + " is not in the store (" + hub_dir() + ")");
  if (auto ref = read_file(dir + "/refs/main"); ref.ok()) {
    std::string commit = *ref;
    while (!commit.empty() && std::isspace(static_cast<unsigned char>(commit.back()))) commit.pop_back();
    if (!commit.empty() && is_directory(dir + "/snapshots/" + commit)) return dir + "/snapshots/" + commit;
  }
  std::string best;
  fs::file_time_type best_time{};
  std::error_code ec;
  for (fs::directory_iterator it(dir + "/snapshots", ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code ec2;
    if (!it->is_directory(ec2)) continue;
    const auto t = it->last_write_time(ec2);
    if (best.empty() || t > best_time) {
      best = it->path().string();
      best_time = t;
    }
  }
  if (best.empty()) return Error(repo + " has no snapshot in " + dir + " (an interrupted pull? run nuri pull " + repo + ")");
  return best;
}

Result<std::string> resolve_model(const std::string& s) {
  if (s.empty()) return Error("empty model name");
  if (path_exists(s)) return s;
  if (auto ref = parse_model_ref(s)) {
    if (!is_directory(repo_dir(ref->repo)))
      return Error("model '" + s + "' not found: no such file, and " + ref->repo + " is not in the store (" +
                   hub_dir() + "); run `nuri pull " + s + "`");
    NURI_ASSIGN_OR_RETURN(std::string snap, current_snapshot(ref->repo));
    return choose(ref->repo, snap, ref->selector);
  }
  if (s.find('/') != std::string::npos) return Error(s + ": no such file or directory");
  const auto dirs = extra_dirs();
  {
    for (const auto& d : dirs) {
      for (const std::string& p : {d + "/" + s, d + "/" + s + ".gguf"})
        if (path_exists(p) && !is_directory(p)) return p;
    }
  }
  std::string where = dirs.empty() ? "NURI_MODELS is not set" : "not a model in NURI_MODELS (" + join(dirs) + ")";
  return Error("model '" + s + "' not found: no such file, and " + where + " (store names are OWNER/NAME, see nuri list)");
}

std::vector<StoreEntry> list_entries() {
  std::vector<StoreEntry> out;
  std::vector<std::string> repos;
  std::error_code ec;
  for (fs::directory_iterator it(hub_dir(), ec), end; !ec && it != end; it.increment(ec)) {
    const std::string n = it->path().filename().string();
    if (n.rfind("models--", 0) != 0) continue;
    std::string repo = n.substr(8);
    const auto k = repo.find("--");
    if (k == std::string::npos) continue;  // a repo without owner: not addressable as OWNER/NAME
    repo.replace(k, 2, "/");
    repos.push_back(repo);
  }
  std::sort(repos.begin(), repos.end());
  for (const auto& repo : repos) {
    auto snap = current_snapshot(repo);
    if (!snap.ok()) continue;
    const auto files = snapshot_files(*snap);
    const auto ggufs = gguf_files(files);
    const bool st = is_safetensors_dir(files);
    const size_t count = ggufs.size() + (st ? 1 : 0);
    if (st) {
      StoreEntry e{repo, repo, "", *snap, base_name(*snap), 0, false};
      for (const auto& f : files) e.size_bytes += file_size_or_zero(*snap + "/" + f);
      out.push_back(std::move(e));
    }
    for (const auto& f : ggufs) {
      StoreEntry e{repo, repo, f, *snap + "/" + f, base_name(*snap), file_size_or_zero(*snap + "/" + f), true};
      if (count > 1) {
        const std::string q = quant_from_name(base_name(f));
        int same = 0;
        for (const auto& g : ggufs) same += !q.empty() && quant_matches(base_name(g), q);
        e.name = repo + ":" + (same == 1 ? q : base_name(f));
      }
      out.push_back(std::move(e));
    }
  }
  for (const auto& d : extra_dirs()) {
    std::vector<std::string> names;
    for (fs::directory_iterator it(d, ec), end; !ec && it != end; it.increment(ec)) {
      const std::string n = it->path().filename().string();
      std::error_code ec2;
      if (ends_with_ci(n, ".gguf") && fs::is_regular_file(it->path(), ec2)) names.push_back(n);
    }
    std::sort(names.begin(), names.end());
    for (const auto& n : names) {
      StoreEntry e;
      e.name = n.substr(0, n.size() - 5);
      e.file = n;
      e.path = d + "/" + n;
      e.size_bytes = file_size_or_zero(e.path);
      e.is_gguf = true;
      out.push_back(std::move(e));
    }
  }
  return out;
}

Status remove_model(const std::string& name, std::vector<std::string>* removed) {
  auto ref = parse_model_ref(name);
  if (!ref) {
    auto p = resolve_model(name);
    if (p.ok()) return Error(name + " is the file " + *p + ", not a model in the store; nuri rm only removes models under " + hub_dir());
    return p.status();
  }
  const std::string dir = repo_dir(ref->repo);
  if (!is_directory(dir)) return Error(ref->repo + " is not in the store (" + hub_dir() + ")");
  std::error_code ec;
  if (ref->selector.empty()) {
    fs::remove_all(dir, ec);
    if (ec) return Error("removing " + dir + ": " + ec.message());
    if (removed) removed->push_back(dir);
    return Status::ok();
  }
  NURI_ASSIGN_OR_RETURN(std::string snap, current_snapshot(ref->repo));
  NURI_ASSIGN_OR_RETURN(std::string file, choose(ref->repo, snap, ref->selector));
  const fs::path blob = fs::weakly_canonical(file, ec);
  fs::remove(file, ec);
  if (ec) return Error("removing " + file + ": " + ec.message());
  if (removed) removed->push_back(file);
  // Drop the blob when no snapshot links to it any more; then empty snapshots and the repo.
  bool linked = false;
  for (fs::recursive_directory_iterator it(dir + "/snapshots", ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code ec2;
    if (it->is_symlink(ec2) && fs::weakly_canonical(it->path(), ec2) == blob) linked = true;
  }
  const fs::path blobs = fs::weakly_canonical(dir + "/blobs", ec);
  if (!linked && blob.parent_path() == blobs && fs::remove(blob, ec)) {
    if (removed) removed->push_back(blob.string());
  }
  if (snapshot_files(snap).empty()) {
    fs::remove_all(snap, ec);
    bool any = false;
    for (fs::directory_iterator it(dir + "/snapshots", ec), end; !ec && it != end; it.increment(ec)) any = true;
    if (!any) {
      fs::remove_all(dir, ec);
      if (removed) removed->push_back(dir);
    }
  }
  return Status::ok();
}

}  // namespace nuri::store
