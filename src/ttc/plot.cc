// ttc/plot.cc — SVG line chart.
#include "ttc/plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace nuri::ttc {

namespace {

std::string esc(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '&': o += "&amp;"; break;
      case '"': o += "&quot;"; break;
      default: o += c;
    }
  }
  return o;
}

std::string num(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f", v);
  return b;
}

const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"};

}  // namespace

std::string svg_line_chart(const PlotSpec& spec, const std::vector<PlotSeries>& series) {
  const double W = 720, H = 440, L = 70, R = 190, T = 40, B = 60;
  const double pw = W - L - R, ph = H - T - B;
  double x_lo = 1e300, x_hi = -1e300;
  for (const auto& s : series)
    for (auto [x, y] : s.points) {
      const double v = spec.log2_x ? std::log2(std::max(x, 1e-9)) : x;
      x_lo = std::min(x_lo, v);
      x_hi = std::max(x_hi, v);
    }
  if (x_lo > x_hi) x_lo = 0, x_hi = 1;
  if (x_hi - x_lo < 1e-9) x_hi = x_lo + 1;
  auto px = [&](double x) {
    const double v = spec.log2_x ? std::log2(std::max(x, 1e-9)) : x;
    return L + (v - x_lo) / (x_hi - x_lo) * pw;
  };
  auto py = [&](double y) { return T + ph - (std::clamp(y, spec.y_min, spec.y_max) - spec.y_min) / (spec.y_max - spec.y_min) * ph; };
  std::string o;
  o += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(W) + "\" height=\"" + num(H) +
       "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  o += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  o += "<text x=\"" + num(L + pw / 2) + "\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">" + esc(spec.title) + "</text>\n";
  // y grid every 10 units
  for (double y = spec.y_min; y <= spec.y_max + 1e-9; y += (spec.y_max - spec.y_min) / 10) {
    o += "<line x1=\"" + num(L) + "\" y1=\"" + num(py(y)) + "\" x2=\"" + num(L + pw) + "\" y2=\"" + num(py(y)) +
         "\" stroke=\"#ddd\"/>\n";
    o += "<text x=\"" + num(L - 6) + "\" y=\"" + num(py(y) + 4) + "\" text-anchor=\"end\">" + num(y) + "</text>\n";
  }
  // x ticks at the points of the first series
  if (!series.empty())
    for (auto [x, y] : series.front().points) {
      o += "<line x1=\"" + num(px(x)) + "\" y1=\"" + num(T) + "\" x2=\"" + num(px(x)) + "\" y2=\"" + num(T + ph) +
           "\" stroke=\"#eee\"/>\n";
      char b[32];
      std::snprintf(b, sizeof b, "%g", x);
      o += "<text x=\"" + num(px(x)) + "\" y=\"" + num(T + ph + 18) + "\" text-anchor=\"middle\">" + b + "</text>\n";
    }
  o += "<rect x=\"" + num(L) + "\" y=\"" + num(T) + "\" width=\"" + num(pw) + "\" height=\"" + num(ph) +
       "\" fill=\"none\" stroke=\"black\"/>\n";
  o += "<text x=\"" + num(L + pw / 2) + "\" y=\"" + num(H - 18) + "\" text-anchor=\"middle\">" + esc(spec.x_label) + "</text>\n";
  o += "<text transform=\"translate(18," + num(T + ph / 2) + ") rotate(-90)\" text-anchor=\"middle\">" + esc(spec.y_label) +
       "</text>\n";
  for (size_t i = 0; i < series.size(); ++i) {
    const auto& s = series[i];
    const char* col = kColors[i % (sizeof kColors / sizeof kColors[0])];
    std::string pts;
    for (auto [x, y] : s.points) pts += num(px(x)) + "," + num(py(y)) + " ";
    o += "<polyline fill=\"none\" stroke=\"" + std::string(col) + "\" stroke-width=\"2\"" +
         (s.dashed ? " stroke-dasharray=\"6,4\"" : "") + " points=\"" + pts + "\"/>\n";
    for (auto [x, y] : s.points)
      o += "<circle cx=\"" + num(px(x)) + "\" cy=\"" + num(py(y)) + "\" r=\"3\" fill=\"" + col + "\"/>\n";
    const double ly = T + 10 + 20.0 * i;
    o += "<line x1=\"" + num(L + pw + 12) + "\" y1=\"" + num(ly) + "\" x2=\"" + num(L + pw + 36) + "\" y2=\"" + num(ly) +
         "\" stroke=\"" + col + "\" stroke-width=\"2\"" + (s.dashed ? " stroke-dasharray=\"6,4\"" : "") + "/>\n";
    o += "<text x=\"" + num(L + pw + 42) + "\" y=\"" + num(ly + 4) + "\">" + esc(s.name) + "</text>\n";
  }
  o += "</svg>\n";
  return o;
}

}  // namespace nuri::ttc
