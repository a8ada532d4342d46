#include "store/pull.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "base/mmap.h"
#include "store/model_info.h"
#include "store/sha256.h"
#include "store/store.h"

namespace nuri::store {
namespace fs = std::filesystem;

namespace {

constexpr int kMaxRedirects = 10;

struct Url {
  std::string origin;  // scheme://host[:port]
  std::string path;    // starts with '/'
};

Result<Url> parse_url(const std::string& s) {
  const auto k = s.find("://");
  if (k == std::string::npos || (s.compare(0, k, "http") != 0 && s.compare(0, k, "https") != 0))
    return Error("not an http(s) URL: " + s);
  const auto slash = s.find('/', k + 3);
  Url u;
  u.origin = s.substr(0, slash);
  u.path = slash == std::string::npos ? "/" : s.substr(slash);
  if (u.origin.size() <= k + 3) return Error("URL without a host: " + s);
  return u;
}

// Location may be absolute or relative to the current origin.
Result<Url> follow(const Url& from, const std::string& location) {
  if (location.empty()) return Error("redirect without a Location header from " + from.origin + from.path);
  if (location.rfind("http://", 0) == 0 || location.rfind("https://", 0) == 0) return parse_url(location);
  Url u = from;
  if (location[0] == '/') u.path = location;
  else u.path = from.path.substr(0, from.path.find_last_of('/') + 1) + location;
  return u;
}

std::unique_ptr<httplib::Client> make_client(const std::string& origin) {
  auto cli = std::make_unique<httplib::Client>(origin);
  cli->set_connection_timeout(15);
  cli->set_read_timeout(60);
  cli->set_follow_location(false);  // redirects are followed by hand: metadata lives on the first hop
#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
  if (path_exists("/etc/ssl/certs/ca-certificates.crt")) cli->set_ca_cert_path("/etc/ssl/certs/ca-certificates.crt");
#endif
  return cli;
}

std::string http_error(const std::string& origin, httplib::Error e) {
  return "cannot reach " + origin + " (" + httplib::to_string(e) + ")";
}

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

// An ETag as the Hub sends it: W/"abc" or "abc" -> abc.
std::string normalize_etag(std::string e) {
  e = trim(e);
  if (e.rfind("W/", 0) == 0) e = e.substr(2);
  if (e.size() >= 2 && e.front() == '"' && e.back() == '"') e = e.substr(1, e.size() - 2);
  return e;
}

bool is_sha256_hex(const std::string& s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

bool safe_blob_name(const std::string& s) {
  return !s.empty() && s.size() < 200 &&
         std::all_of(s.begin(), s.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'; });
}

bool safe_rfilename(const std::string& f) {
  if (f.empty() || f[0] == '/' || f.find('\\') != std::string::npos) return false;
  for (const auto& part : fs::path(f))
    if (part == ".." || part == ".") return false;
  return true;
}

// Percent-encodes a file path for a URL (keeps '/' and unreserved characters).
std::string encode_path(const std::string& p) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : p) {
    if (std::isalnum(c) || c == '/' || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string fmt_eta(double s) {
  if (!(s >= 0) || s > 360000) return "--:--";
  const int t = static_cast<int>(s + 0.5);
  char buf[32];
  if (t >= 3600) std::snprintf(buf, sizeof(buf), "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60);
  else std::snprintf(buf, sizeof(buf), "%d:%02d", t / 60, t % 60);
  return buf;
}

// Progress of one file on stderr: a redrawn bar on a TTY, a line per 10 % otherwise.
class Progress {
 public:
  Progress(bool on, std::string name, uint64_t total, uint64_t start)
      : on_(on), tty_(::isatty(2)), name_(std::move(name)), total_(total), start_(start),
        t0_(std::chrono::steady_clock::now()) {}
  void update(uint64_t now, bool final = false) {
    if (!on_) return;
    const auto t = std::chrono::steady_clock::now();
    const double el = std::chrono::duration<double>(t - t0_).count();
    const double rate = el > 0 ? (now - start_) / el : 0;
    const int pct = total_ ? static_cast<int>(100.0 * now / total_) : 100;
    if (tty_) {
      if (!final && std::chrono::duration<double>(t - last_).count() < 0.1) return;
      last_ = t;
      const int w = 24, fill = total_ ? static_cast<int>(w * static_cast<double>(now) / total_) : w;
      std::string bar(std::min(fill, w), '#');
      bar.resize(w, '.');
      std::fprintf(stderr, "\r%s [%s] %3d%% %s / %s  %s/s  ETA %s   ", name_.c_str(), bar.c_str(), pct,
                   human_bytes(now).c_str(), human_bytes(total_).c_str(), human_bytes(static_cast<uint64_t>(rate)).c_str(),
                   fmt_eta(rate > 0 ? (total_ - now) / rate : -1).c_str());
      if (final) std::fputc('\n', stderr);
    } else {
      const int step = pct / 10;
      if (step <= last_step_) return;
      last_step_ = step;
      std::fprintf(stderr, "nuri pull: %s %d%% (%s of %s, %s/s)\n", name_.c_str(), pct, human_bytes(now).c_str(),
                   human_bytes(total_).c_str(), human_bytes(static_cast<uint64_t>(rate)).c_str());
    }
  }

 private:
  bool on_, tty_;
  std::string name_;
  uint64_t total_, start_;
  std::chrono::steady_clock::time_point t0_, last_{};
  int last_step_ = -1;
};

struct Session {
  Url endpoint;
  std::string token;
  bool progress = true;
  httplib::Headers headers_for(const Url& u) const {
    httplib::Headers h{{"User-Agent", "nuri/0.1"}};
    // The token goes to the Hub only, not to the storage host a redirect points at.
    if (!token.empty() && u.origin == endpoint.origin) h.emplace("Authorization", "Bearer " + token);
    return h;
  }
};

struct FileMeta {
  std::string etag;     // blob name
  uint64_t size = 0;
  std::string commit;   // X-Repo-Commit
  Url download;         // where GET starts
};

// HEAD on the resolve URL, following same-origin redirects, keeping the Hub's metadata headers.
Result<FileMeta> head_file(const Session& s, const std::string& repo, const std::string& rev, const std::string& file) {
  Url u = s.endpoint;
  u.path = (u.path == "/" ? "" : u.path) + "/" + repo + "/resolve/" + rev + "/" + encode_path(file);
  FileMeta m;
  for (int hop = 0; hop < kMaxRedirects; ++hop) {
    auto cli = make_client(u.origin);
    auto r = cli->Head(u.path, s.headers_for(u));
    if (!r) return Error(http_error(u.origin, r.error()));
    auto hv = [&](const char* k) { return r->has_header(k) ? r->get_header_value(k) : std::string(); };
    if (m.etag.empty()) m.etag = normalize_etag(hv("X-Linked-Etag"));
    if (m.size == 0 && !hv("X-Linked-Size").empty()) m.size = std::strtoull(hv("X-Linked-Size").c_str(), nullptr, 10);
    if (m.commit.empty()) m.commit = trim(hv("X-Repo-Commit"));
    if (r->status >= 300 && r->status < 400) {
      NURI_ASSIGN_OR_RETURN(Url next, follow(u, hv("Location")));
      if (next.origin != u.origin || !m.etag.empty()) {  // off to the storage host: GET starts there
        m.download = next;
        break;
      }
      u = next;
      continue;
    }
    if (r->status == 401 || r->status == 403 || r->status == 404)
      return Error(file + " not found in " + repo + " at revision " + rev + " (HTTP " + std::to_string(r->status) + ")");
    if (r->status != 200) return Error("HEAD " + u.origin + u.path + " answered HTTP " + std::to_string(r->status));
    if (m.etag.empty()) m.etag = normalize_etag(hv("ETag"));
    if (m.size == 0 && !hv("Content-Length").empty()) m.size = std::strtoull(hv("Content-Length").c_str(), nullptr, 10);
    m.download = u;
    break;
  }
  if (m.download.origin.empty()) return Error("too many redirects for " + file);
  if (!safe_blob_name(m.etag)) return Error("the server sent no usable ETag for " + file + " ('" + m.etag + "')");
  return m;
}

uint64_t free_bytes(const std::string& dir) {
  struct statvfs v {};
  if (::statvfs(dir.c_str(), &v) != 0) return UINT64_MAX;
  return static_cast<uint64_t>(v.f_bavail) * v.f_frsize;
}

// An exclusive flock on hub/.locks/models--OWNER--NAME/ETAG.lock, the lock file huggingface_hub
// takes for the same blob, so nuri and Hugging Face tools never write one blob at once.
class BlobLock {
 public:
  ~BlobLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  Status acquire(const std::string& path, const std::string& file, bool verbose) {
    std::error_code ec;
    fs::create_directories(fs::path(path).parent_path(), ec);
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) return Error("cannot create the lock file " + path + ": " + std::strerror(errno));
    if (::flock(fd_, LOCK_EX | LOCK_NB) == 0) return Status::ok();
    if (verbose) std::fprintf(stderr, "nuri pull: waiting for another download of %s (%s)\n", file.c_str(), path.c_str());
    if (::flock(fd_, LOCK_EX) != 0) return Error("cannot lock " + path + ": " + std::strerror(errno));
    return Status::ok();
  }

 private:
  int fd_ = -1;
};

// Downloads one file into blobs/ETAG (resuming blobs/ETAG.incomplete); returns the blob name.
Result<std::string> fetch_blob(const Session& s, const std::string& blobs, const std::string& repo,
                               const std::string& rev, const std::string& file, std::string* commit,
                               uint64_t* downloaded) {
  NURI_ASSIGN_OR_RETURN(FileMeta m, head_file(s, repo, rev, file));
  if (commit->empty()) *commit = m.commit;
  const std::string blob = blobs + "/" + m.etag, temp = blob + ".incomplete";
  const fs::path repo_folder = fs::path(blobs).parent_path();
  BlobLock lock;
  NURI_TRY(lock.acquire((repo_folder.parent_path() / ".locks" / repo_folder.filename() / (m.etag + ".lock")).string(),
                        file, s.progress));
  std::error_code ec;
  if (fs::is_regular_file(blob, ec) && (m.size == 0 || fs::file_size(blob, ec) == m.size)) {
    if (s.progress) std::fprintf(stderr, "nuri pull: %s already in the store\n", file.c_str());
    return m.etag;
  }
  uint64_t have = fs::is_regular_file(temp, ec) ? fs::file_size(temp, ec) : 0;
  if (m.size > 0 && have > m.size) {  // not a prefix of this file: start over
    fs::remove(temp, ec);
    have = 0;
  }
  const uint64_t need = m.size > have ? m.size - have : 0;
  if (const uint64_t avail = free_bytes(blobs); need > avail)
    return Error("not enough disk space in " + blobs + ": " + file + " needs " + human_bytes(need) + " more, " +
                 human_bytes(avail) + " free");
  if (have > 0 && s.progress)
    std::fprintf(stderr, "nuri pull: resuming %s at %s of %s\n", file.c_str(), human_bytes(have).c_str(),
                 human_bytes(m.size).c_str());

  Url u = m.download;
  bool complete = m.size > 0 && have == m.size;
  for (int hop = 0; !complete && hop < kMaxRedirects; ++hop) {
    auto cli = make_client(u.origin);
    httplib::Headers h = s.headers_for(u);
    if (have > 0) h.emplace("Range", "bytes=" + std::to_string(have) + "-");
    int status = 0;
    std::string location, write_error;
    FILE* out = nullptr;
    uint64_t got = have;
    Progress prog(s.progress, file, m.size, have);
    auto r = cli->Get(
        u.path, h,
        [&](const httplib::Response& res) {
          status = res.status;
          if (res.status >= 300 && res.status < 400) {
            location = res.get_header_value("Location");
            return false;  // no body wanted
          }
          if (res.status == 200) got = 0;  // the server ignored Range: start over
          if (res.status != 200 && res.status != 206) return false;
          out = std::fopen(temp.c_str(), res.status == 206 ? "ab" : "wb");
          if (!out) write_error = "cannot write " + temp + ": " + std::strerror(errno);
          return out != nullptr;
        },
        [&](const char* data, size_t n) {
          if (std::fwrite(data, 1, n, out) != n) {
            write_error = errno == ENOSPC ? "disk full while writing " + temp + " (" + human_bytes(got) + " of " +
                                                human_bytes(m.size) + "); free space and run nuri pull again to resume"
                                          : "cannot write " + temp + ": " + std::strerror(errno);
            return false;
          }
          got += n;
          *downloaded += n;
          prog.update(got);
          return true;
        });
    if (out && std::fclose(out) != 0 && write_error.empty())
      write_error = (errno == ENOSPC ? "disk full while writing " : "cannot write ") + temp;
    if (!write_error.empty()) return Error(write_error);
    if (status >= 300 && status < 400) {
      NURI_ASSIGN_OR_RETURN(u, follow(u, location));
      continue;
    }
    if (status == 416 && have > 0) {  // our partial file does not fit this file: start over next time
      fs::remove(temp, ec);
      return Error("the server refused to resume " + file + "; the partial download was removed, run nuri pull again");
    }
    if (status != 0 && status != 200 && status != 206)
      return Error("downloading " + file + ": " + u.origin + " answered HTTP " + std::to_string(status));
    if (!r || (m.size > 0 && got < m.size)) {
      if (s.progress) std::fputc('\n', stderr);
      return Error("download of " + file + " interrupted at " + human_bytes(got) + " of " + human_bytes(m.size) +
                   (r ? std::string() : " (connection error: " + httplib::to_string(r.error()) + ")") +
                   "; run the same nuri pull again to resume");
    }
    prog.update(got, /*final=*/true);
    complete = true;
  }
  if (!complete) return Error("too many redirects downloading " + file);
  const uint64_t size = fs::file_size(temp, ec);
  if (ec) return Error("downloading " + file + ": nothing was written to " + temp);
  if (m.size > 0 && size != m.size) {
    fs::remove(temp, ec);
    return Error(file + ": got " + std::to_string(size) + " bytes, the server announced " + std::to_string(m.size) +
                 "; the download was removed, run nuri pull again");
  }
  // LFS files are named by their SHA-256; small git files by a git SHA-1, which is not checked.
  if (is_sha256_hex(m.etag)) {
    NURI_ASSIGN_OR_RETURN(std::string got, sha256_file(temp));
    std::string want = m.etag;
    std::transform(want.begin(), want.end(), want.begin(), ::tolower);
    if (got != want) {
      fs::remove(temp, ec);
      return Error("checksum mismatch for " + file + ": expected sha256 " + want + ", got " + got +
                   "; the download was removed (run nuri pull again; if it repeats, the server's copy is corrupt)");
    }
  }
  fs::rename(temp, blob, ec);
  if (ec) return Error("cannot move " + temp + " to " + blob + ": " + ec.message());
  return m.etag;
}

Status write_atomically(const std::string& path, const std::string& data) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  NURI_TRY(write_file(tmp, data));
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return Error("cannot write " + path + ": " + ec.message());
  return Status::ok();
}

Status link_into_snapshot(const std::string& snap, const std::string& file, const std::string& etag) {
  const fs::path link = fs::path(snap) / file;
  std::error_code ec;
  fs::create_directories(link.parent_path(), ec);
  if (ec) return Error("cannot create " + link.parent_path().string() + ": " + ec.message());
  std::string target = "../../blobs/" + etag;
  for (char c : file)
    if (c == '/') target = "../" + target;
  const std::string tmp = link.string() + ".tmp." + std::to_string(::getpid());
  fs::remove(tmp, ec);
  fs::create_symlink(target, tmp, ec);
  if (!ec) fs::rename(tmp, link, ec);
  if (ec) return Error("cannot link " + link.string() + ": " + ec.message());
  return Status::ok();
}

std::string token_from_env() {
  if (const char* t = std::getenv("HF_TOKEN"); t && *t) return t;
  if (auto f = read_file(hf_home() + "/token"); f.ok()) return trim(*f);
  return "";
}

bool is_tokenizer_or_config(const std::string& f) {
  static const char* kNames[] = {"config.json",          "generation_config.json", "tokenizer.json",
                                 "tokenizer_config.json", "tokenizer.model",        "special_tokens_map.json",
                                 "vocab.json",           "merges.txt",             "added_tokens.json",
                                 "model.safetensors.index.json"};
  for (const char* n : kNames)
    if (f == n) return true;
  return false;
}

std::string join(const std::vector<std::string>& xs) {
  std::string s;
  for (const auto& x : xs) s += (s.empty() ? "" : ", ") + x;
  return s.empty() ? "(none)" : s;
}

bool ends_with(const std::string& s, const char* suf) {
  const size_t n = std::strlen(suf);
  return s.size() >= n && s.compare(s.size() - n, n, suf) == 0;
}

}  // namespace

Result<std::vector<std::string>> select_files(const std::string& repo, const std::vector<std::string>& siblings,
                                              const std::string& selector) {
  std::vector<std::string> ggufs, st;
  for (const auto& f : siblings) {
    if (ends_with(f, ".gguf")) ggufs.push_back(f);
    if (ends_with(f, ".safetensors") && f.find('/') == std::string::npos) st.push_back(f);
  }
  auto base = [](const std::string& f) { return f.substr(f.find_last_of('/') + 1); };
  std::vector<std::string> hits;
  if (!selector.empty()) {
    const bool by_name = ends_with(selector, ".gguf");
    for (const auto& f : ggufs)
      if (by_name ? (f == selector || base(f) == selector) : quant_matches(base(f), selector)) hits.push_back(f);
    if (hits.empty())
      return Error("no file matching '" + selector + "' in " + repo + "; GGUF files there: " + join(ggufs));
    if (hits.size() > 1 && !by_name)
      return Error("'" + selector + "' matches several files in " + repo + ": " + join(hits) + "; name one as " +
                   repo + ":FILE.gguf");
    return std::vector<std::string>{hits[0]};
  }
  if (ggufs.size() == 1) return ggufs;
  if (ggufs.size() > 1) {
    for (const auto& f : ggufs)
      if (quant_matches(base(f), "Q4_K_M")) hits.push_back(f);
    if (hits.size() == 1) return hits;
    return Error(repo + " has several GGUF files: " + join(ggufs) + "; pick one as " + repo + ":QUANT or " + repo +
                 ":FILE.gguf");
  }
  bool config = std::find(siblings.begin(), siblings.end(), "config.json") != siblings.end();
  if (config && !st.empty()) {
    std::vector<std::string> out = st;
    for (const auto& f : siblings)
      if (is_tokenizer_or_config(f)) out.push_back(f);
    return out;
  }
  return Error(repo + " has no GGUF file and no config.json + safetensors; files there: " + join(siblings));
}

Result<PullResult> pull(const std::string& name, const PullOptions& opts) {
  auto ref = parse_model_ref(name);
  if (!ref) return Error("'" + name + "' is not a model name; expected OWNER/NAME, OWNER/NAME:QUANT or OWNER/NAME:FILE.gguf");
  if (opts.revision.empty() || opts.revision.find("..") != std::string::npos || opts.revision[0] == '/')
    return Error("bad revision '" + opts.revision + "'");
  Session s;
  std::string ep = opts.endpoint;
  if (ep.empty()) {
    const char* e = std::getenv("HF_ENDPOINT");
    ep = e && *e ? e : "https://huggingface.co";
  }
  while (ep.size() > 1 && ep.back() == '/') ep.pop_back();
  NURI_ASSIGN_OR_RETURN(s.endpoint, parse_url(ep));
  s.token = opts.token.empty() ? token_from_env() : opts.token;
  s.progress = opts.progress;

  // File list and commit from the API.
  Url api = s.endpoint;
  api.path = (api.path == "/" ? "" : api.path) + "/api/models/" + ref->repo + "/revision/" + opts.revision;
  std::string body;
  int status = 0;
  for (int hop = 0; hop < kMaxRedirects; ++hop) {
    auto cli = make_client(api.origin);
    auto r = cli->Get(api.path, s.headers_for(api));
    if (!r) return Error(http_error(api.origin, r.error()));
    status = r->status;
    if (status >= 300 && status < 400) {
      NURI_ASSIGN_OR_RETURN(api, follow(api, r->get_header_value("Location")));
      continue;
    }
    body = r->body;
    break;
  }
  if (status == 401 || status == 404)
    return Error("repository " + ref->repo + " (revision " + opts.revision + ") not found at " + ep + " (HTTP " +
                 std::to_string(status) + "); check the name, or set HF_TOKEN for a private or gated repo");
  if (status == 403)
    return Error("access to " + ref->repo + " was refused at " + ep +
                 " (HTTP 403): it is gated or private; accept its terms on the Hub and set HF_TOKEN");
  if (status != 200) return Error(ep + " answered HTTP " + std::to_string(status) + " for " + ref->repo);
  auto j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || !j.contains("siblings") || !j["siblings"].is_array())
    return Error(ep + ": the model info for " + ref->repo + " is not Hub JSON with a siblings list");
  std::vector<std::string> siblings;
  for (const auto& sib : j["siblings"])
    if (sib.is_object() && sib.contains("rfilename") && sib["rfilename"].is_string() &&
        safe_rfilename(sib["rfilename"].get<std::string>()))
      siblings.push_back(sib["rfilename"].get<std::string>());
  PullResult res;
  res.repo = ref->repo;
  if (j.contains("sha") && j["sha"].is_string() && safe_blob_name(j["sha"].get<std::string>()))
    res.commit = j["sha"].get<std::string>();
  NURI_ASSIGN_OR_RETURN(res.files, select_files(ref->repo, siblings, ref->selector));

  const std::string dir = repo_dir(ref->repo), blobs = dir + "/blobs";
  std::error_code ec;
  fs::create_directories(blobs, ec);
  if (ec) return Error("cannot create " + blobs + ": " + ec.message());
  // Phase 1: every blob complete and verified. Phase 2: link them all into the snapshot.
  std::vector<std::string> etags;
  for (const auto& f : res.files) {
    std::string commit = res.commit;
    auto etag = fetch_blob(s, blobs, ref->repo, opts.revision, f, &commit, &res.bytes_downloaded);
    if (!etag.ok()) return etag.status();
    if (res.commit.empty()) res.commit = commit;
    etags.push_back(*etag);
  }
  if (res.commit.empty()) res.commit = opts.revision;
  if (!safe_blob_name(res.commit)) return Error("the server sent an unusable commit id '" + res.commit + "'");
  const std::string snap = dir + "/snapshots/" + res.commit;
  for (size_t i = 0; i < res.files.size(); ++i) NURI_TRY(link_into_snapshot(snap, res.files[i], etags[i]));
  if (opts.revision != res.commit && safe_blob_name(opts.revision)) {  // branch names like main; not refs/pr/N
    fs::create_directories(dir + "/refs", ec);
    NURI_TRY(write_atomically(dir + "/refs/" + opts.revision, res.commit));
  }
  auto p = resolve_model(name);
  res.path = p.ok() ? *p : snap;
  return res;
}

}  // namespace nuri::store
