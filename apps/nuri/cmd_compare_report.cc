// The renderers of compare_report.h (no command registers here).
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "compare_report.h"
#include "store/model_info.h"

namespace nuri::cli {
namespace {

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), f, v);
  return buf;
}

std::string xml_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      case '\'': o += "&apos;"; break;
      default: o += c;
    }
  }
  return o;
}

std::string md_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '|') o += "\\|";
    else o += c;
  }
  return o;
}

// Distinct colours for up to 8 models, then repeated.
const char* kColors[] = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#9c755f"};

}  // namespace

std::vector<std::string> CompareReport::task_names() const {
  std::vector<std::string> out;
  for (const char* t : {"arith", "action"})
    for (const auto& r : rows)
      if (r.tasks.count(t) && std::find(out.begin(), out.end(), t) == out.end()) out.push_back(t);
  for (const auto& r : rows)
    for (const auto& [t, _] : r.tasks)
      if (std::find(out.begin(), out.end(), t) == out.end()) out.push_back(t);
  return out;
}

std::string report_markdown(const CompareReport& r) {
  const auto tasks = r.task_names();
  std::string s = "# nuri compare: " + r.eval + " eval\n\n";
  s += std::to_string(r.n) + " problems per task, seed " + std::to_string(r.seed) + ", greedy. Speed: `nuri bench -p " +
       std::to_string(r.bench_prompt) + " -n " + std::to_string(r.bench_gen) +
       "` (medians; timings depend on machine load).\n\n";
  s += "| model | file size |";
  for (const auto& t : tasks) s += " " + md_escape(t) + " |";
  s += " prefill tok/s | decode tok/s | peak RSS bench | peak RSS eval |\n|---|---:|";
  for (size_t i = 0; i < tasks.size(); ++i) s += "---:|";
  s += "---:|---:|---:|---:|\n";
  for (const auto& row : r.rows) {
    s += "| " + md_escape(row.name) + " | " + store::human_bytes(row.file_bytes) + " |";
    for (const auto& t : tasks) {
      auto it = row.tasks.find(t);
      if (it == row.tasks.end()) s += " - |";
      else
        s.append(" ").append(fmt("%.1f %%", 100 * it->second.accuracy())).append(" (")
            .append(std::to_string(it->second.correct)).append("/").append(std::to_string(it->second.total))
            .append(") |");
    }
    s.append(" ").append(fmt("%.1f", row.prefill_tok_s)).append(" | ").append(fmt("%.1f", row.decode_tok_s));
    s.append(" | ").append(fmt("%.0f MiB", row.peak_rss_mib_bench)).append(" | ");
    s.append(fmt("%.0f MiB", row.peak_rss_mib_eval)).append(" |\n");
  }
  s += "\n![accuracy and speed](chart.svg)\n\nModels:\n\n";
  for (const auto& row : r.rows) s += "- `" + row.name + "`: " + row.path + "\n";
  return s;
}

// Two panels: accuracy per task (grouped bars, one colour per model, 0-100 %) and decode tok/s.
std::string report_svg(const CompareReport& r) {
  const auto tasks = r.task_names();
  const int n_models = static_cast<int>(r.rows.size());
  const int bar = 22, gap = 18, top = 64, plot_h = 220, left = 50;
  const int group_w = std::max(1, n_models) * bar + gap;
  const int acc_w = std::max<int>(200, std::max<int>(1, static_cast<int>(tasks.size())) * group_w + gap);
  const int speed_x = left + acc_w + 60, speed_w = std::max(140, std::max(1, n_models) * (bar + 10) + gap);
  const int legend_y = top + plot_h + 50;
  size_t longest = 0;  // legend text, about 7 px a character
  for (const auto& row : r.rows) longest = std::max(longest, row.name.size() + 14);
  const int width = std::max<int>(speed_x + speed_w + 30, left + 30 + 7 * static_cast<int>(longest));
  const int height = legend_y + 20 * n_models + 20;
  std::string s;
  s += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  s += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(width) + "\" height=\"" +
       std::to_string(height) + "\" viewBox=\"0 0 " + std::to_string(width) + " " + std::to_string(height) +
       "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  s += "<text x=\"" + std::to_string(left) + "\" y=\"22\" font-size=\"16\" font-weight=\"bold\">nuri compare: " +
       xml_escape(r.eval) + " eval, " + std::to_string(r.n) + " problems per task</text>\n";
  s += "<text x=\"" + std::to_string(left) + "\" y=\"46\" font-size=\"13\" font-weight=\"bold\">accuracy per task (%)</text>\n";
  // Accuracy axes and grid.
  for (int p = 0; p <= 100; p += 25) {
    const int y = top + plot_h - plot_h * p / 100;
    s += "<line x1=\"" + std::to_string(left) + "\" y1=\"" + std::to_string(y) + "\" x2=\"" +
         std::to_string(left + acc_w) + "\" y2=\"" + std::to_string(y) + "\" stroke=\"#ddd\"/>\n";
    s += "<text x=\"" + std::to_string(left - 6) + "\" y=\"" + std::to_string(y + 4) + "\" text-anchor=\"end\">" +
         std::to_string(p) + "</text>\n";
  }
  for (size_t t = 0; t < tasks.size(); ++t) {
    const int gx = left + gap + static_cast<int>(t) * group_w;
    for (int m = 0; m < n_models; ++m) {
      auto it = r.rows[m].tasks.find(tasks[t]);
      const double acc = it == r.rows[m].tasks.end() ? 0.0 : it->second.accuracy();
      const int h = static_cast<int>(std::lround(plot_h * acc));
      const int x = gx + m * bar;
      s += "<rect x=\"" + std::to_string(x) + "\" y=\"" + std::to_string(top + plot_h - h) + "\" width=\"" +
           std::to_string(bar - 2) + "\" height=\"" + std::to_string(h) + "\" fill=\"" + kColors[m % 8] + "\"/>\n";
      s += "<text x=\"" + std::to_string(x + bar / 2 - 1) + "\" y=\"" + std::to_string(top + plot_h - h - 4) +
           "\" text-anchor=\"middle\" font-size=\"9\">" + fmt("%.0f", 100 * acc) + "</text>\n";
    }
    s += "<text x=\"" + std::to_string(gx + n_models * bar / 2) + "\" y=\"" + std::to_string(top + plot_h + 18) +
         "\" text-anchor=\"middle\">" + xml_escape(tasks[t]) + "</text>\n";
  }
  s += "<line x1=\"" + std::to_string(left) + "\" y1=\"" + std::to_string(top + plot_h) + "\" x2=\"" +
       std::to_string(left + acc_w) + "\" y2=\"" + std::to_string(top + plot_h) + "\" stroke=\"black\"/>\n";
  // Decode speed panel, scaled to the fastest model.
  double vmax = 0;
  for (const auto& row : r.rows) vmax = std::max(vmax, row.decode_tok_s);
  s += "<text x=\"" + std::to_string(speed_x) + "\" y=\"46\" font-size=\"13\" font-weight=\"bold\">decode tokens/s</text>\n";
  for (int m = 0; m < n_models; ++m) {
    const double v = r.rows[m].decode_tok_s;
    const int h = vmax > 0 ? static_cast<int>(std::lround(plot_h * v / vmax)) : 0;
    const int x = speed_x + gap + m * (bar + 10);
    s += "<rect x=\"" + std::to_string(x) + "\" y=\"" + std::to_string(top + plot_h - h) + "\" width=\"" +
         std::to_string(bar) + "\" height=\"" + std::to_string(h) + "\" fill=\"" + kColors[m % 8] + "\"/>\n";
    s += "<text x=\"" + std::to_string(x + bar / 2) + "\" y=\"" + std::to_string(top + plot_h - h - 4) +
         "\" text-anchor=\"middle\" font-size=\"9\">" + fmt("%.0f", v) + "</text>\n";
  }
  s += "<line x1=\"" + std::to_string(speed_x) + "\" y1=\"" + std::to_string(top + plot_h) + "\" x2=\"" +
       std::to_string(speed_x + speed_w) + "\" y2=\"" + std::to_string(top + plot_h) + "\" stroke=\"black\"/>\n";
  // Legend.
  for (int m = 0; m < n_models; ++m) {
    const int y = legend_y + 20 * m;
    s += "<rect x=\"" + std::to_string(left) + "\" y=\"" + std::to_string(y - 10) + "\" width=\"12\" height=\"12\" fill=\"" +
         kColors[m % 8] + "\"/>\n";
    s += "<text x=\"" + std::to_string(left + 18) + "\" y=\"" + std::to_string(y) + "\">" + xml_escape(r.rows[m].name) +
         " (" + store::human_bytes(r.rows[m].file_bytes) + ")</text>\n";
  }
  s += "</svg>\n";
  return s;
}

nlohmann::json report_json(const CompareReport& r) {
  nlohmann::json j = {{"eval", r.eval}, {"n", r.n}, {"seed", r.seed},
                      {"bench", {{"prompt_tokens", r.bench_prompt}, {"gen_tokens", r.bench_gen}}}};
  j["models"] = nlohmann::json::array();
  for (const auto& row : r.rows) {
    nlohmann::json m = {{"name", row.name},
                        {"path", row.path},
                        {"file_bytes", row.file_bytes},
                        {"eval_seconds", row.eval_seconds},
                        {"prefill_tok_s", row.prefill_tok_s},
                        {"decode_tok_s", row.decode_tok_s},
                        {"peak_rss_mib_bench", row.peak_rss_mib_bench},
                        {"peak_rss_mib_eval", row.peak_rss_mib_eval}};
    m["tasks"] = nlohmann::json::object();
    for (const auto& [t, sc] : row.tasks)
      m["tasks"][t] = {{"correct", sc.correct}, {"total", sc.total}, {"accuracy", sc.accuracy()}};
    j["models"].push_back(std::move(m));
  }
  return j;
}

}  // namespace nuri::cli
