#pragma once
// Report files of an evaluation, written into `out_dir` (created if missing):
//   metrics.json  {"protocol": ..., "dataset": {"users": n, "items": n, "interactions": n},
//                  "results": [{"model": "als", "metric": "ndcg", "k": 10, "value": 0.42}, ...],
//                  "seconds": {"als.fit": 3.1, ...}}   (numbers in shortest form; NaN: null)
//   report.md     the dataset, a table per k (models x metrics), the seconds
//   report.html   self-contained and offline (no scripts, no links, no network): the same
//                 tables and one inline SVG bar chart per metric, bars grouped by k, one
//                 colour per model, with a legend and the values.
// Each file is written under a temporary name and renamed into place.

#include <string>

#include "absl/status/status.h"
#include "eval/evaluator.h"

namespace streamrec {

absl::Status WriteReports(const EvaluationResult& result, const std::string& out_dir);

// The file contents, for tests and for callers that write elsewhere.
std::string MetricsJson(const EvaluationResult& result);
std::string ReportMarkdown(const EvaluationResult& result);
std::string ReportHtml(const EvaluationResult& result);

}  // namespace streamrec
