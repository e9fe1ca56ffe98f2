#include "eval/report.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <tuple>

#include "boost/json/serialize.hpp"
#include "boost/json/string.hpp"
#include "common/strings.h"

namespace streamrec {
namespace {

// ---- The results as a table: models, metrics and ks in order, and a lookup ----

struct Table {
  std::vector<std::string> models;   // first-seen order
  std::vector<std::string> metrics;  // first-seen order
  std::vector<int> ks;               // ascending
  std::map<std::tuple<std::string, std::string, int>, double> values;

  explicit Table(const std::vector<MetricValue>& results) {
    for (const MetricValue& v : results) {
      if (std::find(models.begin(), models.end(), v.model) == models.end())
        models.push_back(v.model);
      if (std::find(metrics.begin(), metrics.end(), v.metric) == metrics.end()) {
        metrics.push_back(v.metric);
      }
      if (std::find(ks.begin(), ks.end(), v.k) == ks.end()) ks.push_back(v.k);
      values[{v.model, v.metric, v.k}] = v.value;
    }
    std::sort(ks.begin(), ks.end());
  }
  // NaN when the combination is missing.
  double Get(const std::string& model, const std::string& metric, int k) const {
    const auto it = values.find({model, metric, k});
    return it == values.end() ? std::nan("") : it->second;
  }
  double Max(const std::string& metric) const {
    double best = 0;
    for (const auto& [key, v] : values) {
      if (std::get<1>(key) == metric && std::isfinite(v)) best = std::max(best, v);
    }
    return best;
  }
};

std::string Fixed(double v, int decimals = 4) {
  return std::isfinite(v) ? fmt::format("{:.{}f}", v, decimals) : "–";
}

std::string DatasetLine(const EvaluationResult& r) {
  return StrCat(r.dataset.users, " users, ", r.dataset.items, " items, ", r.dataset.interactions,
                " interactions");
}

// ---- metrics.json ----

std::string JsonString(const std::string& s) {
  return boost::json::serialize(boost::json::string(s.data(), s.size()));
}

// Shortest round-trip form, always with a '.' or an exponent so that readers see a
// double even for whole values ("1.0", not "1"); null when not finite.
std::string JsonNumber(double v) {
  if (!std::isfinite(v)) return "null";
  std::string s = fmt::format("{}", v);
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

// ---- report.html ----

std::string Escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// Okabe-Ito colours (distinguishable with colour blindness), then repeated.
constexpr const char* kColours[] = {"#0072B2", "#E69F00", "#009E73", "#D55E00",
                                    "#56B4E9", "#CC79A7", "#F0E442", "#000000"};
const char* Colour(size_t model) { return kColours[model % std::size(kColours)]; }

// The top of a chart's axis: four equal ticks of a round step (1, 2, 2.5 or 5 x 10^e)
// that reach `max`; 1 when every value is 0.
double AxisTop(double max) {
  if (!(max > 0)) return 1.0;
  const double raw = max / 4;
  const double scale = std::pow(10.0, std::floor(std::log10(raw)));
  for (double step : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    if (step * scale >= raw) return 4 * step * scale;
  }
  return 4 * 10 * scale;
}

// One metric: a group of bars per k, one bar per model, the value above each bar.
std::string BarChart(const Table& t, const std::string& metric) {
  constexpr int kBar = 36, kGroupGap = 28, kLeft = 48, kTop = 28, kPlot = 180, kBottom = 28;
  const int group = static_cast<int>(t.models.size()) * kBar;
  const int width = kLeft + static_cast<int>(t.ks.size()) * (group + kGroupGap) + 8;
  const int height = kTop + kPlot + kBottom;
  const double top = AxisTop(t.Max(metric));
  std::string s = fmt::format(
      "<svg class=\"chart\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" role=\"img\" "
      "aria-label=\"{}\">\n",
      width, height, width, height, Escape(metric));
  s += fmt::format("<text x=\"4\" y=\"14\" class=\"title\">{}</text>\n", Escape(metric));
  const int base = kTop + kPlot;
  for (int tick = 0; tick <= 4; ++tick) {
    const double v = top * tick / 4;
    const double y = base - kPlot * tick / 4.0;
    s += fmt::format(
        "<line x1=\"{}\" x2=\"{}\" y1=\"{:.1f}\" y2=\"{:.1f}\" class=\"grid\"/>"
        "<text x=\"{}\" y=\"{:.1f}\" class=\"tick\">{}</text>\n",
        kLeft, width - 8, y, y, kLeft - 4, y + 3, fmt::format("{:.3g}", v));
  }
  for (size_t g = 0; g < t.ks.size(); ++g) {
    const int x0 = kLeft + kGroupGap / 2 + static_cast<int>(g) * (group + kGroupGap);
    for (size_t m = 0; m < t.models.size(); ++m) {
      const double v = t.Get(t.models[m], metric, t.ks[g]);
      const double h = std::isfinite(v) ? kPlot * std::clamp(v / top, 0.0, 1.0) : 0;
      const int x = x0 + static_cast<int>(m) * kBar;
      s += fmt::format(
          "<rect x=\"{}\" y=\"{:.1f}\" width=\"{}\" height=\"{:.1f}\" fill=\"{}\">"
          "<title>{} {}@{} = {}</title></rect>"
          "<text x=\"{}\" y=\"{:.1f}\" class=\"value\">{}</text>\n",
          x + 2, base - h, kBar - 4, h, Colour(m), Escape(t.models[m]), Escape(metric), t.ks[g],
          Fixed(v), x + kBar / 2, base - h - 3, Fixed(v, 3));
    }
    s += fmt::format("<text x=\"{}\" y=\"{}\" class=\"k\">k = {}</text>\n", x0 + group / 2,
                     base + 18, t.ks[g]);
  }
  s += fmt::format("<line x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\" class=\"axis\"/>\n</svg>\n",
                   kLeft, width - 8, base, base);
  return s;
}

std::string Legend(const Table& t) {
  std::string s = "<p class=\"legend\">";
  for (size_t m = 0; m < t.models.size(); ++m) {
    s += fmt::format("<span><i style=\"background:{}\"></i>{}</span>", Colour(m),
                     Escape(t.models[m]));
  }
  return s + "</p>\n";
}

std::string HtmlTables(const Table& t) {
  std::string s;
  for (int k : t.ks) {
    s += fmt::format("<h3>k = {}</h3>\n<table>\n<tr><th>model</th>", k);
    for (const std::string& metric : t.metrics) s += StrCat("<th>", Escape(metric), "</th>");
    s += "</tr>\n";
    for (const std::string& model : t.models) {
      s += StrCat("<tr><td>", Escape(model), "</td>");
      for (const std::string& metric : t.metrics) {
        s += StrCat("<td>", Fixed(t.Get(model, metric, k)), "</td>");
      }
      s += "</tr>\n";
    }
    s += "</table>\n";
  }
  return s;
}

constexpr const char* kStyle = R"(<style>
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin-bottom: 1em; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.legend span { margin-right: 1.2em; }
.legend i { display: inline-block; width: 12px; height: 12px; margin-right: 4px; vertical-align: middle; }
.chart { display: block; margin: 0.5em 0 1.5em; }
.chart .title { font-size: 14px; font-weight: bold; }
.chart .tick { font-size: 10px; text-anchor: end; fill: #666; }
.chart .value { font-size: 9px; text-anchor: middle; }
.chart .k { font-size: 12px; text-anchor: middle; }
.chart .grid { stroke: #eee; }
.chart .axis { stroke: #444; }
</style>
)";

absl::Status WriteFile(const std::string& path, const std::string& content) {
  const std::string temp = path + ".tmp";
  std::FILE* f = std::fopen(temp.c_str(), "wb");
  if (f == nullptr) {
    return absl::PermissionDeniedError(StrCat("cannot write ", temp, ": ", std::strerror(errno)));
  }
  const bool written = std::fwrite(content.data(), 1, content.size(), f) == content.size();
  const int saved_errno = errno;
  if (std::fclose(f) != 0 || !written) {
    std::remove(temp.c_str());
    return absl::DataLossError(
        StrCat("cannot write ", temp, ": ", std::strerror(written ? errno : saved_errno)));
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    return absl::PermissionDeniedError(
        StrCat("cannot rename ", temp, " to ", path, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace

std::string MetricsJson(const EvaluationResult& r) {
  std::string s = StrCat("{\n  \"protocol\": ", JsonString(r.protocol), ",\n");
  s += fmt::format("  \"dataset\": {{\"users\": {}, \"items\": {}, \"interactions\": {}}},\n",
                   r.dataset.users, r.dataset.items, r.dataset.interactions);
  s += "  \"results\": [";
  for (size_t i = 0; i < r.results.size(); ++i) {
    const MetricValue& v = r.results[i];
    s += StrCat(i == 0 ? "\n" : ",\n", "    {\"model\": ", JsonString(v.model),
                ", \"metric\": ", JsonString(v.metric), ", \"k\": ", v.k,
                ", \"value\": ", JsonNumber(v.value), "}");
  }
  s += r.results.empty() ? "],\n" : "\n  ],\n";
  s += "  \"seconds\": {";
  for (size_t i = 0; i < r.seconds.size(); ++i) {
    s += StrCat(i == 0 ? "" : ", ", JsonString(r.seconds[i].first), ": ",
                JsonNumber(r.seconds[i].second));
  }
  return s + "}\n}\n";
}

std::string ReportMarkdown(const EvaluationResult& r) {
  const Table t(r.results);
  std::string s = StrCat("# Evaluation: ", r.protocol, "\n\nDataset: ", DatasetLine(r), ".\n");
  for (int k : t.ks) {
    s += StrCat("\n## k = ", k, "\n\n| model |");
    for (const std::string& metric : t.metrics) s += StrCat(" ", metric, " |");
    s += "\n|---|";
    for (size_t i = 0; i < t.metrics.size(); ++i) s += "---:|";
    s += "\n";
    for (const std::string& model : t.models) {
      s += StrCat("| ", model, " |");
      for (const std::string& metric : t.metrics)
        s += StrCat(" ", Fixed(t.Get(model, metric, k)), " |");
      s += "\n";
    }
  }
  s += "\n## Seconds\n\n| stage | seconds |\n|---|---:|\n";
  for (const auto& [stage, seconds] : r.seconds)
    s += StrCat("| ", stage, " | ", Fixed(seconds, 3), " |\n");
  return s;
}

std::string ReportHtml(const EvaluationResult& r) {
  const Table t(r.results);
  std::string s = StrCat("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
                         "<title>Evaluation: ", Escape(r.protocol), "</title>\n", kStyle,
                         "</head>\n<body>\n<h1>Evaluation: ", Escape(r.protocol),
                         "</h1>\n<p>Dataset: ", Escape(DatasetLine(r)), ".</p>\n<h2>Charts</h2>\n");
  s += Legend(t);
  for (const std::string& metric : t.metrics) s += BarChart(t, metric);
  s += "<h2>Tables</h2>\n" + HtmlTables(t);
  s += "<h2>Seconds</h2>\n<table>\n<tr><th>stage</th><th>seconds</th></tr>\n";
  for (const auto& [stage, seconds] : r.seconds) {
    s += StrCat("<tr><td>", Escape(stage), "</td><td>", Fixed(seconds, 3), "</td></tr>\n");
  }
  return s + "</table>\n</body>\n</html>\n";
}

absl::Status WriteReports(const EvaluationResult& result, const std::string& out_dir) {
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec) {
    return absl::PermissionDeniedError(
        StrCat("cannot create report folder ", out_dir, ": ", ec.message()));
  }
  if (!std::filesystem::is_directory(out_dir)) {
    return absl::FailedPreconditionError(StrCat("report output ", out_dir, " is not a folder"));
  }
  const std::string dir = out_dir + "/";
  if (absl::Status s = WriteFile(dir + "metrics.json", MetricsJson(result)); !s.ok()) return s;
  if (absl::Status s = WriteFile(dir + "report.md", ReportMarkdown(result)); !s.ok()) return s;
  return WriteFile(dir + "report.html", ReportHtml(result));
}

}  // namespace streamrec
