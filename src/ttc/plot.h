// ttc/plot.h — a small SVG line-chart writer for accuracy-vs-samples curves.
// Purpose: turn a few named series of (x, y) points into a self-contained SVG (axes, ticks, grid,
//   legend), with a log2 x axis for sample counts. Used by `nuri eval-synth --plot`.
// Non-goals: general plotting (one chart type), text layout beyond fixed-size labels.
// Invariants: output depends only on the inputs; labels are XML-escaped.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace nuri::ttc {

struct PlotSeries {
  std::string name;
  std::vector<std::pair<double, double>> points;  // (x > 0, y)
  bool dashed = false;
};

struct PlotSpec {
  std::string title, x_label, y_label;
  bool log2_x = true;
  double y_min = 0, y_max = 100;
};

std::string svg_line_chart(const PlotSpec& spec, const std::vector<PlotSeries>& series);

}  // namespace nuri::ttc
