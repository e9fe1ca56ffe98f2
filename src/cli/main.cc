// The `streamrec` command. Exit codes: 0 success; 1 stopped at a bad row (--strict);
// 2 usage errors and inputs or outputs that cannot be read or written.

#include <cstdio>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "cli/cli_checks.h"
#include "cli/model_commands.h"
#include "cli/replay.h"
#include "cli/server_commands.h"
#include "engine/pipeline.h"
#include "streamrec/version.h"
#include "synth/generator.h"
#include "synth/ratings_generator.h"

namespace streamrec {
namespace {

int ExitCodeFor(const absl::Status& status) {
  if (status.ok()) return 0;
  std::fprintf(stderr, "streamrec: %s\n", std::string(status.message()).c_str());
  return status.code() == absl::StatusCode::kAborted ? 1 : 2;
}

TableFormat ParseFormat(const std::string& name) {
  return name == "parquet" ? TableFormat::kParquet : TableFormat::kCsv;
}

void PrintSummary(const PipelineSummary& s, const std::string& out_dir) {
  std::fprintf(stderr, "read %lld rows: %lld accepted, %lld rejected, %lld duplicate (%.2f s)\n",
               static_cast<long long>(s.load.rows_read),
               static_cast<long long>(s.load.rows_accepted),
               static_cast<long long>(s.load.rows_rejected),
               static_cast<long long>(s.load.duplicates), s.read_seconds);
  std::fprintf(stderr,
               "ordered %lld records (%.2f s); operators %.2f s; state tables and the "
               "stream tables' last rows %.2f s\n",
               static_cast<long long>(s.records), s.order_seconds, s.apply_seconds,
               s.state_tables_seconds);
  auto per = [](size_t bytes, int64_t n) { return n > 0 ? static_cast<double>(bytes) / n : 0.0; };
  std::fprintf(stderr,
               "state: %lld users (%.0f B each), %lld items (%.0f B each), %lld user-item pairs "
               "(%.0f B each), ids and names %.1f MiB; %.1f MiB in all\n",
               static_cast<long long>(s.users), per(s.state_bytes.user_keyed, s.users),
               static_cast<long long>(s.items), per(s.state_bytes.item_keyed, s.items),
               static_cast<long long>(s.pairs), per(s.state_bytes.pair_keyed, s.pairs),
               static_cast<double>(s.id_bytes) / (1 << 20),
               static_cast<double>(s.state_bytes.total() + s.id_bytes) / (1 << 20));
  for (const auto& [name, rows] : s.tables) {
    std::fprintf(stderr, "wrote %-17s %lld rows\n", name.c_str(), static_cast<long long>(rows));
  }
  if (s.load.rows_rejected > 0) {
    std::fprintf(stderr, "rejected rows are listed in %s/rejected.csv\n", out_dir.c_str());
  }
  std::fprintf(stderr, "done in %.2f s\n", s.total_seconds);
}

}  // namespace

int Main(int argc, char** argv) {
  CLI::App app{"streamrec: a real-time recommendation engine for e-commerce"};
  app.require_subcommand(1);
  app.set_version_flag("--version", kVersionString);

  // generate
  GeneratorOptions gen;
  std::string gen_out;
  std::string history_format = "parquet";
  CLI::App* generate =
      app.add_subcommand("generate", "Synthetic data in the seed's shapes, deterministic");
  generate->add_option("--users", gen.users, "Number of users")->capture_default_str();
  generate->add_option("--items", gen.items, "Number of items")->capture_default_str();
  generate->add_option("--events", gen.events, "Number of clickstream events")
      ->capture_default_str();
  generate->add_option("--seed", gen.seed, "Random seed; the same seed gives the same files")
      ->capture_default_str();
  generate->add_option("--history-format", history_format, "history file format")
      ->check(CLI::IsMember({"parquet", "csv"}))
      ->capture_default_str();
  generate->add_option("--out", gen_out, "Output folder")->required();

  // generate-ratings
  RatingsOptions ratings;
  std::string ratings_out;
  CLI::App* generate_ratings = app.add_subcommand(
      "generate-ratings", "A ratings file in MovieLens 100K's shape (user item rating timestamp)");
  generate_ratings->add_option("--users", ratings.users, "Number of users")->capture_default_str();
  generate_ratings->add_option("--items", ratings.items, "Number of items")->capture_default_str();
  generate_ratings->add_option("--ratings", ratings.ratings, "Number of ratings")
      ->capture_default_str();
  generate_ratings->add_option("--min-per-user", ratings.min_per_user, "Ratings every user has")
      ->capture_default_str();
  generate_ratings->add_option("--seed", ratings.seed, "Random seed")->capture_default_str();
  generate_ratings->add_option("--out", ratings_out, "Output file (tab-separated, no header)")
      ->required();

  // pipeline
  PipelineOptions pipe;
  std::string format = "csv";
  std::string mapping;
  CLI::App* pipeline =
      app.add_subcommand("pipeline", "Purchase history + clickstream -> the six feature tables");
  pipeline->add_option("--events", pipe.event_files, "Clickstream files (CSV, JSON Lines, Parquet)")
      ->expected(1, -1);
  pipeline
      ->add_option("--purchases", pipe.purchase_files, "Purchase files (CSV, JSON Lines, Parquet)")
      ->expected(1, -1);
  pipeline->add_option("--out", pipe.out_dir, "Output folder for the tables")->required();
  pipeline->add_option("--format", format, "Table format")
      ->check(CLI::IsMember({"csv", "parquet"}))
      ->capture_default_str();
  pipeline->add_option("--chunk-size", pipe.chunk_size, "Events per micro-batch")
      ->check(kAboveZero)
      ->capture_default_str();
  pipeline->add_option("--mapping", mapping, "Mapping file (TOML) for columns and event names");
  pipeline->add_flag("--strict", pipe.strict, "Stop at the first bad row (exit code 1)");
  pipeline->add_option("--threads", pipe.threads, "Threads for reading, sorting and writing")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();

  // replay
  ReplayOptions rep;
  std::string replay_mapping;
  CLI::App* replay =
      app.add_subcommand("replay", "Send event files to a running server, at a chosen rate");
  replay->add_option("files", rep.files, "Clickstream files (CSV, JSON Lines, Parquet)")
      ->required()
      ->expected(1, -1);
  replay->add_option("--url", rep.url, "The server, e.g. http://localhost:8080")->required();
  replay->add_option("--rate", rep.rate, "Events per second; 0 sends as fast as it can")
      ->check(kNotNegative)
      ->capture_default_str();
  replay->add_option("--batch", rep.batch, "Most events per request")
      ->check(kAboveZero)
      ->capture_default_str();
  replay->add_option("--mapping", replay_mapping,
                     "Mapping file (TOML) for columns and event names");
  replay->add_option("--api-key", rep.api_key, "API key for the server's write routes");
  replay->add_option("--connections", rep.connections, "Keep-alive connections, one request each")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();

  // serve, export, inspect
  ServerCommands server_commands(&app);
  // train, evaluate
  ModelCommands model_commands(&app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }

  if (*generate) {
    gen.history_format = ParseFormat(history_format);
    return ExitCodeFor(GenerateDataset(gen, gen_out));
  }
  if (*generate_ratings) return ExitCodeFor(GenerateRatings(ratings, ratings_out));
  if (*pipeline) {
    pipe.format = ParseFormat(format);
    if (!mapping.empty()) pipe.mapping_file = mapping;
    pipe.show_progress = true;
    absl::StatusOr<PipelineSummary> summary = RunPipeline(pipe);
    if (!summary.ok()) return ExitCodeFor(summary.status());
    PrintSummary(*summary, pipe.out_dir);
    return 0;
  }
  if (std::optional<int> code = server_commands.Run()) return *code;
  if (std::optional<int> code = model_commands.Run()) return *code;
  if (*replay) {
    if (!replay_mapping.empty()) rep.mapping_file = replay_mapping;
    rep.show_progress = true;
    return RunReplayCommand(rep, stdout, stderr);
  }
  return 2;
}

}  // namespace streamrec

int main(int argc, char** argv) { return streamrec::Main(argc, argv); }
