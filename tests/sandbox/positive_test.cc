// tests/sandbox/positive_test.cc — ordinary programs print exactly what they print unsandboxed.
//
// Each program runs directly on the host and under `nuri sandbox` (default limits) with the
// same stdin; stdout and the exit status must be identical. Programs avoid anything that differs
// by design (paths of the working dir, pids, user names): they use tempfile and relative paths.
#include <atomic>
#include <thread>

#include "sandbox_test_util.h"

namespace nuri::sandbox_test {
namespace {

struct Program {
  std::string name;
  std::vector<std::string> argv;
  std::string stdin_data;
  std::string must_contain;  // a value computed by hand, so both runs are also checked for sense
  int expect_status = 0;
};

struct Result2 {
  SbRun direct, boxed;
};

std::vector<Program> programs() {
  std::vector<Program> v;
  v.push_back({"stdlib-heavy",
               py("import json, re, hashlib, collections, itertools, decimal, fractions, statistics, textwrap, base64, struct, heapq, bisect, datetime\n"
                  "d = {'b': [1, 2, 3], 'a': {'x': 1.5}}\n"
                  "print(json.dumps(d, sort_keys=True))\n"
                  "print(re.findall(r'\\d+', 'a1b22c333'))\n"
                  "print(hashlib.sha256(b'nuri').hexdigest())\n"
                  "print(collections.Counter('mississippi').most_common(2))\n"
                  "print(list(itertools.permutations('abc', 2))[:3])\n"
                  "print(decimal.Decimal('0.1') + decimal.Decimal('0.2'), fractions.Fraction(3, 9))\n"
                  "print(statistics.median([5, 1, 4, 2, 3]), textwrap.shorten('hello big wide world', 12))\n"
                  "print(base64.b64encode(struct.pack('<I', 258)), heapq.nsmallest(2, [5, 3, 9, 1]), bisect.bisect([1, 3, 5], 4))\n"
                  "print(datetime.date(2024, 2, 28) + datetime.timedelta(days=2))\n"),
               "", "0.3 1/3"});
  v.push_back({"reads-stdin", py("import sys\nnums = [int(x) for x in sys.stdin.read().split()]\nprint(len(nums), sum(nums))\n"),
               "1 2 3\n4 5\n100\n", "6 115"});
  v.push_back({"scratch-files",
               py("import os, tempfile\n"
                  "d = tempfile.mkdtemp()\n"
                  "p = os.path.join(d, 'a.txt')\n"
                  "with open(p, 'w') as f: f.write('line1\\nline2\\n' * 1000)\n"
                  "with open(p) as f: lines = f.readlines()\n"
                  "os.makedirs(os.path.join(d, 'sub/deeper'))\n"
                  "os.rename(p, os.path.join(d, 'sub/deeper/b.txt'))\n"
                  "print(len(lines), sorted(os.listdir(os.path.join(d, 'sub/deeper'))), os.path.getsize(os.path.join(d, 'sub/deeper/b.txt')))\n"
                  "with open('relative.txt', 'w') as f: f.write('cwd ok')\n"
                  "print(open('relative.txt').read())\n"),
               "", "2000 ['b.txt'] 12000"});
  v.push_back({"subprocesses",
               py("import subprocess\n"
                  "print(subprocess.run(['sh', '-c', 'echo from-sh; exit 3']).returncode)\n"
                  "out = subprocess.run(['sh', '-c', 'printf \"b\\na\\nc\\n\" | sort | tr a-z A-Z'], capture_output=True, text=True).stdout\n"
                  "print(out.split())\n"
                  "ps = [subprocess.Popen(['sh', '-c', 'exit %d' % i]) for i in range(10)]\n"
                  "print([p.wait() for p in ps])\n"),
               "", "['A', 'B', 'C']"});
  v.push_back({"threads",
               py("import threading, concurrent.futures\n"
                  "total = [0]\nlock = threading.Lock()\n"
                  "def work(k):\n"
                  "    s = sum(range(k * 10000))\n"
                  "    with lock: total[0] += s\n"
                  "    return s\n"
                  "ts = [threading.Thread(target=work, args=(i,)) for i in range(16)]\n"
                  "[t.start() for t in ts]; [t.join() for t in ts]\n"
                  "with concurrent.futures.ThreadPoolExecutor(8) as ex: r = list(ex.map(work, range(8)))\n"
                  "print(total[0], sum(r))\n"),
               "", ""});
  v.push_back({"alloc-200mb",
               py("b = bytearray(200 * 1024 * 1024)\n"
                  "for i in range(0, len(b), 4096): b[i] = 1\n"
                  "print(len(b), sum(b[::4096]))\n"),
               "", "209715200 51200"});
  v.push_back({"non-ascii-output",
               py("print('héllo wörld — 日本語 — Ελληνικά — 🎉')\nimport sys\nsys.stdout.flush()\nsys.stdout.buffer.write('ünïcode bytes\\n'.encode())\n"),
               "", "日本語"});
  v.push_back({"shell-pipeline",
               sh("printf '3 c\\n1 a\\n2 b\\n' | sort -n | awk '{print $2}' | tr -d '\\n'; echo; "
                  "echo hello | sed s/l/L/g; seq 1 5 | paste -sd+ | bc 2>/dev/null || echo 15; "
                  "mkdir -p d && cd d && echo x > f && ls && wc -c < f"),
               "", "abc"});
  v.push_back({"multiprocessing",
               py("import multiprocessing as mp\n"
                  "def sq(x): return x * x\n"
                  "if __name__ == '__main__':\n"
                  "    with mp.Pool(4) as p: print(p.map(sq, range(10)))\n"
                  "    q = mp.Queue(); pr = mp.Process(target=q.put, args=(42,)); pr.start(); print(q.get()); pr.join()\n"),
               "", "[0, 1, 4, 9, 16, 25, 36, 49, 64, 81]"});
  v.push_back({"sqlite-and-archives",
               py("import sqlite3, tempfile, os, tarfile, gzip, zipfile, io\n"
                  "d = tempfile.mkdtemp()\n"
                  "db = sqlite3.connect(os.path.join(d, 't.db'))\n"
                  "db.execute('create table t(x int)'); db.executemany('insert into t values (?)', [(i,) for i in range(100)]); db.commit()\n"
                  "print(db.execute('select sum(x), count(*) from t').fetchone())\n"
                  "data = b'nuri ' * 1000\n"
                  "print(len(gzip.compress(data, mtime=0)) < len(data), gzip.decompress(gzip.compress(data)) == data)\n"
                  "buf = io.BytesIO()\n"
                  "with zipfile.ZipFile(buf, 'w') as z: z.writestr('a.txt', 'zip ok')\n"
                  "print(zipfile.ZipFile(io.BytesIO(buf.getvalue())).read('a.txt'))\n"
                  "with tarfile.open(os.path.join(d, 'x.tar'), 'w') as t: t.add(os.path.join(d, 't.db'), arcname='t.db')\n"
                  "print(tarfile.open(os.path.join(d, 'x.tar')).getnames())\n"),
               "", "(4950, 100)"});
  v.push_back({"exit-status", py("import sys\nprint('before exit')\nsys.exit(7)\n"), "", "before exit", 7});
  v.push_back({"large-output", py("import sys\nfor i in range(50000): sys.stdout.write('%06d\\n' % i)\n"), "", "049999"});
  v.push_back({"stdin-passthrough-cat", {"/bin/cat"}, std::string("binary\0data\xff\n", 13) + "more\n", "more"});
  return v;
}

TEST(SandboxPositive, OrdinaryProgramsPrintWhatTheyPrintUnsandboxed) {
  std::vector<Program> ps = programs();
  ASSERT_GE(ps.size(), 10u);
  const std::vector<std::string> env = {"LANG=C.UTF-8"};
  std::vector<Result2> res(ps.size());
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i; (i = next++) < ps.size();) {
      const Program& p = ps[i];
      // Unsandboxed: in a private temp dir so relative writes stay out of the checkout.
      std::string dir = make_temp_dir("direct");
      std::vector<std::string> argv = {"/usr/bin/env", "-C", dir};
      argv.insert(argv.end(), p.argv.begin(), p.argv.end());
      res[i].direct = run_argv(argv, p.stdin_data, env);
      remove_tree(dir);
      res[i].boxed = sandbox({}, p.argv, p.stdin_data);
    }
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < 3; ++t) pool.emplace_back(worker);
  for (auto& t : pool) t.join();
  for (size_t i = 0; i < ps.size(); ++i) {
    const Program& p = ps[i];
    const Result2& pr = res[i];
    SCOPED_TRACE(p.name);
    EXPECT_EQ(pr.direct.status, p.expect_status) << pr.direct.err;
    EXPECT_EQ(pr.boxed.status, p.expect_status) << pr.boxed.err;
    EXPECT_EQ(pr.boxed.out, pr.direct.out) << "sandbox stderr: " << pr.boxed.err;
    if (!p.must_contain.empty()) {
      EXPECT_NE(pr.boxed.out.find(p.must_contain), std::string::npos) << pr.boxed.out;
    }
    ASSERT_TRUE(pr.boxed.report.is_object());
    EXPECT_FALSE(pr.boxed.report["timed_out"].get<bool>());
    EXPECT_FALSE(pr.boxed.report["memory_exceeded"].get<bool>());
    EXPECT_FALSE(pr.boxed.report["output_truncated"].get<bool>());
    EXPECT_TRUE(pr.boxed.report["not_enforced"].empty() ||
                pr.boxed.report["not_enforced"] == nlohmann::json::array({"cgroup"}))
        << pr.boxed.report.dump();
    std::printf("%-22s exit=%d bytes=%zu wall_ms=%.1f\n", p.name.c_str(), pr.boxed.status, pr.boxed.out.size(),
                pr.boxed.report["wall_ms"].get<double>());
  }
}

TEST(SandboxPositive, StdinOutputAndEnvAllowList) {
  SbRun r = sandbox({"--env", "FOO=bar", "--env", "NURI_POS_TEST"}, sh("cat; echo \"$FOO $NURI_POS_TEST $HOME\"; echo err >&2"),
                  "from stdin\n", {"NURI_POS_TEST=copied"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "from stdin\nbar copied /scratch\n");
  EXPECT_EQ(r.err, "err\n");
}

TEST(SandboxPositive, ReportShowsLayersEnforcedOnThisMachine) {
  SbRun r = sandbox({}, {"/bin/true"});
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_TRUE(r.report.is_object());
  const auto& j = r.report;
  for (const char* key : {"exit_code", "signal", "timed_out", "memory_exceeded", "output_truncated", "wall_ms", "cpu_ms",
                          "peak_rss_kib", "layers", "not_enforced"})
    EXPECT_TRUE(j.contains(key)) << key;
  for (const char* key : {"namespaces", "landlock_abi", "seccomp", "rlimits", "cgroup"})
    EXPECT_TRUE(j["layers"].contains(key)) << key;
  EXPECT_EQ(j["layers"]["namespaces"],
            nlohmann::json::array({"user", "pid", "mount", "network", "ipc", "uts", "cgroup"}));
  EXPECT_GE(j["layers"]["landlock_abi"].get<int>(), 1);
  EXPECT_TRUE(j["layers"]["seccomp"].get<bool>());
  EXPECT_EQ(j["layers"]["rlimits"]["nproc"].get<int>(), 64);
  EXPECT_EQ(j["layers"]["rlimits"]["fsize_bytes"].get<int64_t>(), 64ll << 20);
  std::printf("report: %s\n", j.dump().c_str());
}

TEST(SandboxPositive, GrantedPathsAppearAtTheSamePath) {
  std::string ro = make_temp_dir("pos-ro"), rw = make_temp_dir("pos-rw");
  ::chmod(ro.c_str(), 0755);
  ::chmod(rw.c_str(), 0777);
  write_file(ro + "/in.txt", "granted input\n");
  SbRun r = sandbox({"--ro", ro, "--rw", rw}, sh("cat " + ro + "/in.txt > " + rw + "/out.txt && cat " + rw + "/out.txt"));
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "granted input\n");
  EXPECT_EQ(read_file(rw + "/out.txt"), "granted input\n");
  remove_tree(ro);
  remove_tree(rw);
}

}  // namespace
}  // namespace nuri::sandbox_test
