// parity_greedy — nuri's side of the greedy comparison with llama.cpp (tools/parity/README.md).
// Reads the JSON lines tools/parity/greedy.mjs wrote for a model (prompt text, prompt ids,
// llama.cpp's greedy tokens and top-2 logits per step) and, for each prompt:
//  1. checks that nuri tokenizes the text to the same ids (BOS as the vocabulary says);
//  2. runs nuri greedily from those ids for as many steps (free-running), and reports whether
//     the continuation equals llama.cpp's and, at the first difference, the gap between the two
//     disputed tokens on each side relative to the logit range (a near-tie when < --near-tie);
//  3. runs nuri again feeding llama.cpp's tokens (teacher forcing) and counts the steps where
//     nuri's argmax is llama.cpp's token under the same context.
// Usage: parity_greedy MODEL.gguf LLAMA.jsonl [--threads N] [--near-tie 1e-3]
// Prints one JSON line per prompt, then a summary line {"summary": ...}. Exit 0 unless the input
// cannot be read (divergences are data, not errors).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/log.h"
#include "model/context.h"
#include "runtime/session.h"
#include "runtime/loaded_model.h"

namespace {

using nlohmann::json;

struct Top2 {
  int32_t id1 = -1, id2 = -1;
  float l1 = 0, l2 = 0, range = 0;
};

// Greedy as llama.cpp picks it: the highest logit, the lowest id among equal ones.
Top2 top2(const float* x, int32_t n) {
  Top2 t;
  float lo = x[0];
  for (int32_t i = 0; i < n; ++i) {
    lo = std::min(lo, x[i]);
    if (t.id1 < 0 || x[i] > t.l1) {
      t.id2 = t.id1;
      t.l2 = t.l1;
      t.id1 = i;
      t.l1 = x[i];
    } else if (t.id2 < 0 || x[i] > t.l2) {
      t.id2 = i;
      t.l2 = x[i];
    }
  }
  t.range = t.l1 - lo;
  return t;
}

struct Run {
  std::vector<int32_t> tokens;
  std::vector<Top2> top;
  std::vector<float> forced_logit;  // logit nuri gives the forced token (forced runs)
  double max_logit_diff = 0;        // forced runs: max |nuri - llama.cpp| over llama.cpp's listed logits
};

// Greedy from `ids` for n steps; with `force`, feeds force[i] instead of the argmax and compares
// the logits llama.cpp listed at each step (`listed`[i] = [id, logit, id, logit, ...]).
nuri::Result<Run> run(nuri::runtime::Session& ctx, const std::vector<int32_t>& ids, int n,
                      const std::vector<int32_t>* force, const json* listed = nullptr) {
  ctx.seq_clear(0);
  std::vector<nuri::model::BatchToken> batch;
  for (size_t i = 0; i < ids.size(); ++i) batch.push_back({ids[i], static_cast<int32_t>(i), 0, i + 1 == ids.size()});
  Run r;
  int32_t pos = static_cast<int32_t>(ids.size());
  for (int i = 0; i < n; ++i) {
    if (auto st = ctx.decode(batch); !st.is_ok()) return nuri::Error(st.message());
    const float* lg = ctx.logits(0);
    Top2 t = top2(lg, ctx.config().n_vocab);
    r.tokens.push_back(t.id1);
    r.top.push_back(t);
    const int32_t next = force ? (*force)[i] : t.id1;
    if (force) r.forced_logit.push_back(lg[next]);
    if (listed) {
      double d = 0;
      for (size_t k = 0; k + 1 < (*listed)[i].size(); k += 2)
        d = std::max<double>(d, std::fabs(lg[(*listed)[i][k].get<int32_t>()] - (*listed)[i][k + 1].get<double>()));
      if (std::getenv("PARITY_STEPS")) std::fprintf(stderr, "step %d (pos %d): max logit diff %.3g\n", i, pos - 1, d);
      r.max_logit_diff = std::max(r.max_logit_diff, d);
    }
    batch.assign(1, {next, pos++, 0, true});
  }
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: parity_greedy MODEL.gguf LLAMA.jsonl [--threads N] [--near-tie 1e-3]\n");
    return 2;
  }
  int threads = 1;
  double near_tie = 1e-3;
  for (int i = 3; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--threads") threads = std::atoi(argv[i + 1]);
    else if (a == "--near-tie") near_tie = std::atof(argv[i + 1]);
  }
  nuri::log::set_level(nuri::log::Level::kWarn);
  auto lm = nuri::runtime::load_model(argv[1]);
  if (!lm.ok()) {
    std::fprintf(stderr, "parity_greedy: %s\n", lm.error().c_str());
    return 1;
  }
  std::ifstream in(argv[2]);
  if (!in) {
    std::fprintf(stderr, "parity_greedy: cannot read %s\n", argv[2]);
    return 1;
  }
  int n_prompts = 0, n_equal = 0, n_tok_mismatch = 0, n_near_tie = 0, n_real = 0;
  long forced_steps = 0, forced_agree = 0;
  double worst_real = 0;
  std::vector<double> max_logit_diff;  // per prompt
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    json j = json::parse(line, nullptr, false);
    if (!j.is_object() || !j.contains("ids") || !j.contains("tokens")) {
      std::fprintf(stderr, "parity_greedy: %s: bad line\n", argv[2]);
      return 1;
    }
    const std::vector<int32_t> ids = j["ids"].get<std::vector<int32_t>>();
    const std::vector<int32_t> ref = j["tokens"].get<std::vector<int32_t>>();
    const int n = static_cast<int>(ref.size());
    const std::string text = j.value("text", "");
    const bool tok_ok = lm->tokenizer.encode(text, /*add_special=*/true, /*parse_special=*/true) == ids;
    n_tok_mismatch += !tok_ok;

    nuri::model::ContextParams cp;
    cp.n_ctx = static_cast<int32_t>(ids.size()) + n + 1;
    cp.n_threads = threads;
    auto ctx = nuri::runtime::Session::create(lm->model, cp);
    if (!ctx.ok()) {
      std::fprintf(stderr, "parity_greedy: %s\n", ctx.error().c_str());
      return 1;
    }
    auto fr = run(**ctx, ids, n, nullptr);
    auto fo = run(**ctx, ids, n, &ref, &j["top2"]);
    if (!fr.ok() || !fo.ok()) {
      std::fprintf(stderr, "parity_greedy: %s\n", (fr.ok() ? fo.error() : fr.error()).c_str());
      return 1;
    }
    int first = -1;
    for (int i = 0; i < n && first < 0; ++i)
      if (fr->tokens[i] != ref[i]) first = i;
    int agree = 0;
    json forced_miss = json::array();  // [step, llama.cpp's top-2 margin, nuri's gap, nuri's range]
    for (int i = 0; i < n; ++i) {
      agree += fo->tokens[i] == ref[i];
      if (fo->tokens[i] != ref[i]) {
        const json& lt = j["top2"][i];
        forced_miss.push_back({i, lt[1].get<double>() - lt[3].get<double>(), fo->top[i].l1 - fo->forced_logit[i],
                               fo->top[i].range});
      }
    }
    forced_steps += n;
    forced_agree += agree;
    ++n_prompts;
    json out = {{"prompt", n_prompts - 1}, {"tokenize_equal", tok_ok}, {"equal", first < 0},
                {"forced_agree", agree}, {"steps", n}, {"max_logit_diff", fo->max_logit_diff}};
    max_logit_diff.push_back(fo->max_logit_diff);
    if (!forced_miss.empty()) out["forced_mismatches"] = forced_miss;
    if (first >= 0) {
      const json& lt = j["top2"][first];
      const double l_margin = lt[1].get<double>() - lt[3].get<double>();
      const Top2& nt = fr->top[first];
      // The two disputed tokens: llama.cpp's pick A and nuri's pick B. Their gap on each side,
      // over the step's logit range (max - min, from nuri's logits: the same function on both
      // sides). llama.cpp's gap is its top-2 margin when B is its second.
      const double n_gap = nt.l1 - fo->forced_logit[first];  // nuri: logit(B) - logit(A)
      const bool b_second = lt[2].get<int32_t>() == nt.id1;
      const double rel = std::max(l_margin, n_gap) / std::max<double>(nt.range, 1e-30);
      const bool tie = b_second && rel < near_tie;
      n_near_tie += tie;
      n_real += !tie;
      if (!tie) worst_real = std::max(worst_real, rel);
      out["first_divergence"] = {{"step", first},
                                 {"llama", {{"top1", lt[0]}, {"top2", lt[2]}, {"margin", l_margin}}},
                                 {"nuri", {{"top1", nt.id1}, {"top2", nt.id2}, {"gap_to_llama_pick", n_gap}, {"range", nt.range}}},
                                 {"rel_margin", rel},
                                 {"near_tie", tie}};
    }
    n_equal += first < 0;
    std::printf("%s\n", out.dump().c_str());
  }
  std::sort(max_logit_diff.begin(), max_logit_diff.end());
  json sum = {{"model", argv[1]},
              {"median_max_logit_diff", max_logit_diff.empty() ? 0.0 : max_logit_diff[max_logit_diff.size() / 2]},
              {"prompts", n_prompts},
              {"equal", n_equal},
              {"agreement", n_prompts ? double(n_equal) / n_prompts : 0.0},
              {"tokenize_mismatches", n_tok_mismatch},
              {"divergences_near_tie", n_near_tie},
              {"divergences_real", n_real},
              {"worst_real_rel_margin", worst_real},
              {"forced_step_agreement", forced_steps ? double(forced_agree) / forced_steps : 0.0}};
  std::printf("%s\n", json({{"summary", sum}}).dump().c_str());
  return 0;
}
