#pragma once
// Helpers shared by the conformance tests: files, shuffled inputs and running the
// pipeline on a folder in the golden layout (temporary folders: common/test_temp_dir.h).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/test_temp_dir.h"
#include "engine/pipeline.h"

namespace streamrec::conformance {

// ../shared as seen from the source tree, and whether it is there.
std::string SharedDir();
bool HaveSharedDir();

// The whole file; a failure is a test failure (and an empty result).
std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, std::string_view contents);
bool FileExists(const std::string& path);

// Copies the headed CSV file `in` to `out` with its data rows in a random order fixed by
// `seed`; the header stays first. Rows are cut with CsvScanner, so quoted line breaks
// stay inside their row. Rows that agree on every column of `keep_order_of` keep their
// relative order (the spec breaks ties in time by input order, so shuffling the events
// of one user at one instant would change the meaning); a "timestamp" column is compared
// as a time, not as text. Empty `keep_order_of`: a full shuffle.
void ShuffleCsvRows(const std::string& in, const std::string& out, uint64_t seed,
                    const std::vector<std::string>& keep_order_of = {});

// Runs RunPipeline on a folder in the golden layout: history.csv and purchases.csv (each
// when present, in that order) as purchase files, events.csv as the clickstream.
absl::StatusOr<PipelineSummary> RunPipelineOnFolder(const std::string& in_dir,
                                                    const std::string& out_dir, size_t chunk_size);

}  // namespace streamrec::conformance
