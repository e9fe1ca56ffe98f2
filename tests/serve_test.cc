// `streamrec serve` as a process: nothing acknowledged is lost across SIGKILLs, a
// graceful stop and restart keeps the state, export equals the pipeline on the same
// events, and a restart ignores the bootstrap files.

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "boost/json.hpp"
#include "common/strings.h"
#include "gtest/gtest.h"
#include "serving/test_client.h"
#include "tests/table_compare.h"
#include "tests/test_util.h"

extern char** environ;

namespace streamrec::conformance {
namespace {

namespace fs = std::filesystem;

uint16_t FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// A `streamrec serve` child process.
class Server {
 public:
  // `stderr_path`: a file for the server's stderr (its logs); empty: the test's stderr.
  Server(const std::vector<std::string>& args, uint16_t port, const std::string& stderr_path = "")
      : port_(port) {
    std::vector<std::string> argv = {STREAMREC_BINARY, "serve", "--listen",
                                     StrCat("127.0.0.1:", port)};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> cargv;
    for (std::string& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    if (!stderr_path.empty()) {
      posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderr_path.c_str(),
                                       O_WRONLY | O_CREAT | O_TRUNC, 0644);
    }
    EXPECT_EQ(::posix_spawn(&pid_, cargv[0], &actions, nullptr, cargv.data(), environ), 0);
    posix_spawn_file_actions_destroy(&actions);
  }
  ~Server() {
    if (pid_ > 0) Kill(SIGKILL);
  }

  // Waits until /readyz answers 200.
  bool WaitReady(std::chrono::seconds timeout = std::chrono::seconds(30)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      try {
        TestClient client(port_);
        if (client.Get("/readyz").result_int() == 200) return true;
      } catch (const std::exception&) {
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  // Sends `signal` and goes on.
  void Signal(int signal) { ::kill(pid_, signal); }

  // Waits up to `timeout` for the exit; its status, or nullopt if it has not exited.
  std::optional<int> WaitExit(std::chrono::seconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return status;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return std::nullopt;
  }

  // Sends `signal` and waits for the exit; returns the exit status.
  int Kill(int signal) {
    ::kill(pid_, signal);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }

 private:
  uint16_t port_;
  pid_t pid_ = -1;
};

std::string EventsBody(int first, int n) {
  std::string body;
  for (int i = first; i < first + n; ++i) {
    body += StrCat(R"({"user_id":"u)", i, R"(","item_id":"i)", i % 50,
                   R"(","event_type":"view","event_id":"e)", i, "\"}\n");
  }
  return body;
}

std::vector<std::string> SplitCommas(const std::string& line) {
  std::vector<std::string> cells;
  std::stringstream in(line);
  for (std::string cell; std::getline(in, cell, ',');) cells.push_back(cell);
  return cells;
}

// user_features.csv as user id -> num_views.
absl::flat_hash_map<std::string, int> ViewsByUser(const std::string& table) {
  absl::flat_hash_map<std::string, int> views;
  std::stringstream text(ReadFile(table));
  std::string line;
  std::getline(text, line);
  const std::vector<std::string> header = SplitCommas(line);
  const size_t column = std::find(header.begin(), header.end(), "num_views") - header.begin();
  while (std::getline(text, line)) {
    const std::vector<std::string> cells = SplitCommas(line);
    if (column < cells.size()) views[cells[0]] = std::stoi(cells[column]);
  }
  return views;
}

// Batches of 50 events with ids, posted while the server is SIGKILLed 20 times. Each
// restart gets the same arguments, and the client re-sends what was not acknowledged, as
// a client that retries does. At the end every batch ever sent is sent once more: the
// acknowledged ones must all come back as duplicates (nothing acknowledged lost), and the
// export must hold every event exactly once (one view per user: nothing doubled).
TEST(ServeTest, NoAcknowledgedEventIsLostOrDoubledAcrossTwentyKills) {
  TempDir dir("serve_kill");
  const std::string state = dir / "state";
  const uint16_t port = FreePort();
  std::mt19937 rng(11);
  int next = 0;
  std::mutex mu;
  std::vector<int> acked;    // first event of every acknowledged batch; guarded by mu
  std::vector<int> unacked;  // sent, not acknowledged: re-sent next round; guarded by mu
  std::vector<int> sent;     // every batch ever sent; guarded by mu
  // Posts batches until `stop` or a failure; returns false when the server went away.
  const auto post_batches = [&](std::atomic<bool>* stop) {
    TestClient client(port);
    while (!*stop) {
      int first;
      {
        std::lock_guard lock(mu);
        if (!unacked.empty()) {
          first = unacked.back();
          unacked.pop_back();
        } else {
          first = next;
          next += 50;
          sent.push_back(first);
        }
      }
      bool ok = false;
      try {
        const TestResponse r =
            client.Post("/v1/events", EventsBody(first, 50), "application/x-ndjson");
        if (r.result_int() == 200) {
          const boost::json::value v = boost::json::parse(r.body());
          ok = v.at("accepted").to_number<int>() == 50;  // duplicates among them
        }
      } catch (const std::exception&) {
        // The server was killed mid-request: that batch was not acknowledged.
      }
      std::lock_guard lock(mu);
      (ok ? acked : unacked).push_back(first);
      if (!ok) return;
    }
  };
  for (int round = 0; round < 20; ++round) {
    SCOPED_TRACE(round);
    Server server({"--state", state, "--snapshot-every", "2000"}, port);
    ASSERT_TRUE(server.WaitReady());
    std::atomic<bool> stop{false};
    std::thread poster([&] { post_batches(&stop); });
    std::this_thread::sleep_for(std::chrono::milliseconds(50 + rng() % 250));
    server.Kill(SIGKILL);
    stop = true;
    poster.join();
  }
  ASSERT_GT(acked.size(), 20u) << "too few acknowledged batches to mean anything";
  {
    Server server({"--state", state}, port);
    ASSERT_TRUE(server.WaitReady());
    TestClient client(port);
    absl::flat_hash_set<int> acked_set(acked.begin(), acked.end());
    int lost = 0;
    for (int first : sent) {
      const TestResponse r =
          client.Post("/v1/events", EventsBody(first, 50), "application/x-ndjson");
      ASSERT_EQ(r.result_int(), 200) << r.body();
      const boost::json::value v = boost::json::parse(r.body());
      ASSERT_EQ(v.at("accepted").to_number<int>(), 50);  // duplicates among them
      const int added = 50 - v.at("duplicates").to_number<int>();
      if (acked_set.contains(first)) lost += added;
    }
    EXPECT_EQ(lost, 0) << "acknowledged events the server did not have after the kills";
    const int status = server.Kill(SIGTERM);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
  }
  const std::string out = dir / "tables";
  ASSERT_EQ(std::system(
                StrCat(STREAMREC_BINARY, " export --state ", state, " --out ", out, " 2>/dev/null")
                    .c_str()),
            0);
  const absl::flat_hash_map<std::string, int> views = ViewsByUser(out + "/user_features.csv");
  EXPECT_EQ(views.size(), sent.size() * 50);
  int missing = 0, doubled = 0;
  for (int first : sent) {
    for (int i = first; i < first + 50; ++i) {
      const auto it = views.find(StrCat("u", i));
      missing += it == views.end();
      doubled += it != views.end() && it->second != 1;
    }
  }
  EXPECT_EQ(missing, 0) << "of " << sent.size() * 50 << " events sent";
  EXPECT_EQ(doubled, 0) << "of " << sent.size() * 50 << " events sent";
}

// A golden set: its purchase files bootstrapped, its (shuffled) clickstream replayed over
// HTTP, then exported: the pipeline's tables, although some events arrived behind the
// watermark.
TEST(ServeTest, ExportAfterBootstrapAndReplayEqualsPipeline) {
  if (!HaveSharedDir()) GTEST_SKIP() << "no shared golden sets";
  TempDir dir("serve_export");
  const std::string golden = SharedDir() + "/golden/medium-shuffled";
  if (!fs::exists(golden + "/events.csv")) GTEST_SKIP() << "no golden set " << golden;
  const std::string state = dir / "state";
  const uint16_t port = FreePort();
  std::vector<std::string> args = {"--state", state};
  for (const char* f : {"history.csv", "purchases.csv"}) {
    if (fs::exists(golden + "/" + f)) {
      args.push_back("--purchases");
      args.push_back(golden + "/" + f);
    }
  }
  {
    Server server(args, port);
    ASSERT_TRUE(server.WaitReady());
    ASSERT_EQ(std::system(StrCat(STREAMREC_BINARY, " replay ", golden,
                                 "/events.csv --url http://127.0.0.1:", port,
                                 " --batch 100 2>/dev/null >/dev/null")
                              .c_str()),
              0);
    ASSERT_EQ(WEXITSTATUS(server.Kill(SIGTERM)), 0);
  }
  // A restart with the same arguments must not load the files again.
  {
    Server server(args, port);
    ASSERT_TRUE(server.WaitReady());
    ASSERT_EQ(WEXITSTATUS(server.Kill(SIGTERM)), 0);
  }
  const std::string exported = dir / "exported";
  ASSERT_EQ(std::system(StrCat(STREAMREC_BINARY, " export --state ", state, " --out ", exported,
                               " 2>/dev/null")
                            .c_str()),
            0);
  const std::string piped = dir / "piped";
  ASSERT_TRUE(RunPipelineOnFolder(golden, piped, 4096).ok());
  EXPECT_EQ(CompareFeatureTableDirs(piped, exported), "");
}

// Export reads a stopped server's state and never repairs it: a torn tail stays in the
// file for the server's next start to cut and report, and export says it left it out.
TEST(ServeTest, ExportLeavesATornTailInPlaceAndSaysSo) {
  TempDir dir("serve_export_torn");
  const std::string state = dir / "state";
  const uint16_t port = FreePort();
  {
    Server server({"--state", state}, port);
    ASSERT_TRUE(server.WaitReady());
    TestClient client(port);
    ASSERT_EQ(client.Post("/v1/events", EventsBody(0, 20), "application/x-ndjson").result_int(),
              200);
    ASSERT_EQ(WEXITSTATUS(server.Kill(SIGTERM)), 0);
  }
  std::string segment;
  for (const auto& entry : fs::directory_iterator(state + "/log")) {
    if (entry.path().extension() == ".seg") segment = entry.path();
  }
  ASSERT_FALSE(segment.empty());
  { std::ofstream(segment, std::ios::app | std::ios::binary) << "torn"; }
  const std::string torn = ReadFile(segment);
  const std::string err = dir / "export.err";
  ASSERT_EQ(std::system(StrCat(STREAMREC_BINARY, " export --state ", state, " --out ",
                               dir / "exported", " 2>", err)
                            .c_str()),
            0)
      << ReadFile(err);
  EXPECT_NE(ReadFile(err).find("event=log_tail_torn"), std::string::npos) << ReadFile(err);
  EXPECT_EQ(ReadFile(segment), torn);
  EXPECT_EQ(ViewsByUser(StrCat(dir / "exported", "/user_features.csv")).size(), 20u);
}

// Export reads a stopped server's state: while the server runs, the log is still growing,
// and export says so rather than write tables of part of it.
TEST(ServeTest, ExportOfARunningServersStateIsRefused) {
  TempDir dir("serve_export_running");
  const std::string state = dir / "state";
  const uint16_t port = FreePort();
  Server server({"--state", state}, port);
  ASSERT_TRUE(server.WaitReady());
  TestClient client(port);
  ASSERT_EQ(client.Post("/v1/events", EventsBody(0, 5), "application/x-ndjson").result_int(), 200);
  const std::string err = dir / "export.err";
  const int status = std::system(
      StrCat(STREAMREC_BINARY, " export --state ", state, " --out ", dir / "out", " 2>", err)
          .c_str());
  EXPECT_NE(WEXITSTATUS(status), 0);
  EXPECT_NE(ReadFile(err).find("held by a writer"), std::string::npos) << ReadFile(err);
  EXPECT_FALSE(fs::exists(dir / "out"));
  ASSERT_EQ(WEXITSTATUS(server.Kill(SIGTERM)), 0);
}

// A state whose log was lost goes on from its snapshot, with a log that starts where the
// snapshot ends; export rebuilds the tables from the log alone, so it refuses such a
// state rather than leave out the events before that point.
TEST(ServeTest, ExportRefusesALogThatNoLongerHoldsEveryEvent) {
  TempDir dir("serve_export_partial");
  const std::string state = dir / "state";
  const uint16_t port = FreePort();
  for (int start = 0; start < 2; ++start) {
    Server server({"--state", state}, port);
    ASSERT_TRUE(server.WaitReady());
    TestClient client(port);
    ASSERT_EQ(
        client.Post("/v1/events", EventsBody(start * 10, 10), "application/x-ndjson").result_int(),
        200);
    ASSERT_EQ(WEXITSTATUS(server.Kill(SIGTERM)), 0);
    if (start == 0) fs::remove_all(state + "/log");
  }
  const std::string err = dir / "export.err";
  const int status = std::system(
      StrCat(STREAMREC_BINARY, " export --state ", state, " --out ", dir / "out", " 2>", err)
          .c_str());
  EXPECT_NE(WEXITSTATUS(status), 0);
  EXPECT_NE(ReadFile(err).find("cannot be rebuilt from the log"), std::string::npos)
      << ReadFile(err);
  EXPECT_FALSE(fs::exists(dir / "out"));
}

// A start-up can take minutes (a bootstrap, a long log): SIGTERM ends it at once, as a
// kill would, and the state stays unbootstrapped. Here the bootstrap's events file is a
// FIFO that no one writes, so the start-up would never end.
TEST(ServeTest, SigtermDuringTheStartUpEndsTheProcessAtOnce) {
  TempDir dir("serve_startup_signal");
  const std::string events = dir / "events.csv";
  ASSERT_EQ(::mkfifo(events.c_str(), 0600), 0);
  const std::string err = dir / "err";
  Server server({"--state", dir / "state", "--events", events, "--batch-models", ""}, FreePort(),
                err);
  for (int i = 0; i < 500 && ReadFile(err).find("event=listening") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // into the bootstrap
  server.Signal(SIGTERM);
  const std::optional<int> status = server.WaitExit(std::chrono::seconds(5));
  ASSERT_TRUE(status.has_value()) << "still starting 5 s after SIGTERM: " << ReadFile(err);
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << *status;
  EXPECT_NE(ReadFile(err).find("event=stopped_during_startup signal=SIGTERM"), std::string::npos)
      << ReadFile(err);
  EXPECT_FALSE(fs::exists(fs::path(dir / "state") / "log"));
}

TEST(ServeTest, ConfigFileSetsOptionsAndTheCommandLineWins) {
  TempDir dir("serve_config");
  const uint16_t port = FreePort();
  WriteFile(dir / "serve.toml",
            StrCat("state = \"", dir / "from-config", "\"\nlisten = \"127.0.0.1:", port,
                   "\"\nfsync = \"interval\"\nallowed_lateness = 60\n"));
  // Started through the shell, without --listen, so the config's address is used.
  const std::string command =
      StrCat(STREAMREC_BINARY, " serve --config ", dir / "serve.toml", " --state ",
             dir / "from-command-line", " 2>", dir / "err", " & echo $! > ", dir / "pid");
  ASSERT_EQ(std::system(command.c_str()), 0);
  bool ready = false;
  for (int i = 0; i < 300 && !ready; ++i) {
    try {
      TestClient client(port);
      ready = client.Get("/readyz").result_int() == 200;
    } catch (const std::exception&) {
    }
    if (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const pid_t pid = std::stoi(ReadFile(dir / "pid"));
  ::kill(pid, SIGTERM);
  for (int i = 0; i < 300 && ::kill(pid, 0) == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(ready) << ReadFile(dir / "err");
  EXPECT_TRUE(fs::exists(dir / "from-command-line/log"));
  EXPECT_FALSE(fs::exists(dir / "from-config"));
}

TEST(ServeTest, UnknownConfigKeyIsAnErrorNamingIt) {
  TempDir dir("serve_config_bad");
  WriteFile(dir / "serve.toml", "stat = \"x\"\n");
  const std::string command =
      StrCat(STREAMREC_BINARY, " serve --config ", dir / "serve.toml", " 2>", dir / "err");
  const int status = std::system(command.c_str());
  EXPECT_EQ(WEXITSTATUS(status), 2);
  EXPECT_NE(ReadFile(dir / "err").find("unknown key 'stat'"), std::string::npos)
      << ReadFile(dir / "err");
}

TEST(ServeTest, AConfigThatIsADirectoryIsAnError) {
  TempDir dir("serve_config_dir");
  fs::create_directory(dir / "config");
  const std::string command = StrCat(STREAMREC_BINARY, " serve --state ", dir / "state",
                                     " --config ", dir / "config", " 2>", dir / "err");
  EXPECT_EQ(WEXITSTATUS(std::system(command.c_str())), 2);
  EXPECT_NE(ReadFile(dir / "err").find("a directory, not a file"), std::string::npos)
      << ReadFile(dir / "err");
  EXPECT_FALSE(fs::exists(dir / "state"));
}

// A config file's values meet the same ranges as the command line's, and a value its
// field cannot hold is refused rather than wrapped or cut.
TEST(ServeTest, OutOfRangeSettingsAreErrorsFromTheFileAndTheCommandLine) {
  TempDir dir("serve_config_range");
  const struct {
    std::string config;  // the file's text, or empty: `flags` alone
    std::string flags;
    std::string message;
  } cases[] = {
      {"hybrid_als_weight = 1.5\n", "", "--hybrid-als-weight must be from 0 to 1, not 1.5"},
      {"snapshot_every = -1\n", "", "'snapshot_every' must be a whole number from 0 to"},
      {"body_limit = 1.5e6\n", "", "'body_limit' must be a whole number"},
      {"threads = 0\n", "", "--threads must be from 1 to 64, not 0"},
      {"retrain_every = 1e300\n", "", "--retrain-every must be a whole number of seconds"},
      {"", "--retrain-every 0.5", "--retrain-every must be a whole number of seconds"},
      {"", "--train-threads 65", "--train-threads must be from 1 to 64, not 65"},
      // Unsigned options: "-1" would wrap around to the largest value (no limit).
      {"", "--body-limit -1", "--body-limit: must not be negative, not -1"},
      {"", "--max-events-per-request -1", "must not be negative, not -1"},
      {"", "--snapshot-every -1", "must not be negative, not -1"},
      {"", "--allowed-lateness 1e300", "--allowed-lateness must be from 0 to 1e9 seconds"},
      {"", "--trending-half-life 1e300", "--trending-half-life must be more than 0 and at most"},
      // Comma-separated or not; checked before the state is touched.
      {"", "--batch-models als,knn", "--batch-models: unknown model 'knn'"},
      {"", "--batch-models als alss", "--batch-models: unknown model 'alss'"},
      {"batch_models = [\"itemkn\"]\n", "", "--batch-models: unknown model 'itemkn'"},
  };
  for (const auto& c : cases) {
    std::string command = StrCat(STREAMREC_BINARY, " serve --state ", dir / "state", " ", c.flags);
    if (!c.config.empty()) {
      WriteFile(dir / "serve.toml", c.config);
      command += StrCat(" --config ", dir / "serve.toml");
    }
    const int status = std::system(StrCat(command, " 2>", dir / "err").c_str());
    EXPECT_EQ(WEXITSTATUS(status), 2) << c.config << c.flags;
    EXPECT_NE(ReadFile(dir / "err").find(c.message), std::string::npos)
        << c.config << c.flags << ": " << ReadFile(dir / "err");
    EXPECT_FALSE(fs::exists(dir / "state")) << "started with " << c.config << c.flags;
  }
}

// The live recommenders' options come from the config file too: with conditional
// probability and no shrinkage, an item seen once, together with another, has that other
// as its neighbour with similarity exactly 1 (cosine with shrinkage 10 would give 1/11).
TEST(ServeTest, RecommenderOptionsFromTheConfigFileShapeTheAnswers) {
  TempDir dir("serve_model_options");
  WriteFile(dir / "serve.toml",
            "similarity = \"conditional\"\nshrinkage = 0\nallowed_lateness = 0\n"
            "batch_models = []\n");
  const uint16_t port = FreePort();
  Server server({"--config", dir / "serve.toml", "--state", dir / "state"}, port);
  ASSERT_TRUE(server.WaitReady());
  TestClient client(port);
  const TestResponse posted =
      client.Post("/v1/events", R"([{"user_id":"u1","item_id":"a","event_type":"view"},)"
                                R"({"user_id":"u1","item_id":"b","event_type":"view"}])");
  ASSERT_EQ(posted.result_int(), 200) << posted.body();
  std::string body;
  for (int i = 0; i < 200; ++i) {  // released once the idle watermark passes them
    body = client.Get("/v1/items/a/similar?k=5").body();
    if (body.find("\"b\"") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const boost::json::value v = boost::json::parse(body);
  ASSERT_EQ(v.at("items").as_array().size(), 1u) << body;
  EXPECT_EQ(v.at("items").at(0).at("item_id").as_string(), "b");
  EXPECT_DOUBLE_EQ(v.at("items").at(0).at("score").to_number<double>(), 1.0);
}

TEST(ServeTest, OutOfRangeRecommenderOptionsAreAnError) {
  TempDir dir("serve_model_options_bad");
  for (const auto& [flag, message] :
       {std::pair<std::string, std::string>{"--similarity jaccard", "similarity must be cosine"},
        {"--pair-window 99", "pair_window"}}) {
    const std::string command =
        StrCat(STREAMREC_BINARY, " serve --state ", dir / "state", " ", flag, " 2>", dir / "err");
    const int status = std::system(command.c_str());
    EXPECT_EQ(WEXITSTATUS(status), 2) << flag;
    EXPECT_NE(ReadFile(dir / "err").find(message), std::string::npos) << ReadFile(dir / "err");
  }
}

// A model file from `train` serves model=als; a file that no longer loads is reported on
// SIGHUP while the model keeps serving; a bad file at start is an error naming it.
TEST(ServeTest, ModelFileServesAndABadReloadKeepsTheModel) {
  TempDir dir("serve_model_file");
  std::string events = "user_id,item_id,event_type,timestamp\n";
  for (int u = 0; u < 60; ++u) {
    for (int i = 0; i < 4; ++i) {
      events += StrCat("u", u, ",", u % 2 == 0 ? "a" : "b", (u + i) % 5, ",view,",
                       1'700'000'000 + u * 10 + i, "\n");
    }
  }
  WriteFile(dir / "events.csv", events);
  const std::string model = dir / "als.model";
  const std::string train = StrCat(STREAMREC_BINARY, " train --events ", dir / "events.csv",
                                   " --factors 8 --out ", model, " 2>", dir / "train.err");
  ASSERT_EQ(std::system(train.c_str()), 0) << ReadFile(dir / "train.err");

  const uint16_t port = FreePort();
  Server server({"--state", dir / "state", "--events", dir / "events.csv", "--model-file", model,
                 "--retrain-every", "0", "--batch-models", ""},
                port);
  ASSERT_TRUE(server.WaitReady());
  TestClient client(port);
  const std::string path = "/v1/users/u0/recommendations?k=3&model=als";
  const TestResponse first = client.Get(path);
  ASSERT_EQ(first.result_int(), 200) << first.body();
  const boost::json::value answer = boost::json::parse(first.body());
  ASSERT_EQ(answer.at("items").as_array().size(), 3u);

  // Truncate the file, ask for a reload: the same model answers the same.
  const std::string bytes = ReadFile(model);
  WriteFile(model, bytes.substr(0, bytes.size() / 2));
  server.Signal(SIGHUP);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const TestResponse second = TestClient(port).Get(path);
  ASSERT_EQ(second.result_int(), 200);
  EXPECT_EQ(boost::json::parse(second.body()).at("items"), answer.at("items"));
  EXPECT_EQ(server.Kill(SIGTERM), 0);

  // The same truncated file at start: exit 2 naming it.
  const std::string serve =
      StrCat(STREAMREC_BINARY, " serve --listen 127.0.0.1:", FreePort(), " --state ",
             dir / "state2", " --model-file ", model, " 2>", dir / "serve.err");
  EXPECT_EQ(WEXITSTATUS(std::system(serve.c_str())), 2);
  EXPECT_NE(ReadFile(dir / "serve.err").find(model), std::string::npos)
      << ReadFile(dir / "serve.err");
}

// A first start that bootstraps a million events: the server listens at once, /readyz
// says 503 until the state is built, then 200; the JSON logs tell the start-up in order.
TEST(ServeTest, ReadyzIs503UntilTheStateIsBuiltAndTheLogsSaySo) {
  TempDir dir("serve_readyz");
  std::string events = "user_id,item_id,event_type,timestamp\n";
  for (int i = 0; i < 1'000'000; ++i) {
    events += StrCat("u", i % 50'000, ",i", i % 997, ",view,", 1'700'000'000 + i / 10, "\n");
  }
  WriteFile(dir / "events.csv", events);
  const uint16_t port = FreePort();
  Server server({"--state", dir / "state", "--events", dir / "events.csv", "--batch-models", "",
                 "--log-format", "json"},
                port, dir / "serve.log");
  int first_status = 0;
  std::string first_body;
  for (int attempt = 0; attempt < 5000 && first_status == 0; ++attempt) {
    try {
      const TestResponse res = TestClient(port).Get("/readyz");
      first_status = res.result_int();
      first_body = res.body();
    } catch (const std::exception&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
  EXPECT_EQ(first_status, 503);
  EXPECT_NE(first_body.find("starting: bootstrapping or recovering the state"), std::string::npos)
      << first_body;
  EXPECT_EQ(TestClient(port).Get("/healthz").result_int(), 200);
  ASSERT_TRUE(server.WaitReady(std::chrono::seconds(120)));
  EXPECT_EQ(server.Kill(SIGTERM), 0);

  std::vector<std::string> order;
  std::stringstream log(ReadFile(dir / "serve.log"));
  for (std::string line; std::getline(log, line);) {
    boost::system::error_code ec;
    const boost::json::value v = boost::json::parse(line, ec);
    ASSERT_FALSE(ec) << "not JSON: " << line;
    const boost::json::object& o = v.as_object();
    EXPECT_TRUE(o.contains("ts") && o.contains("level")) << line;
    order.push_back(std::string(o.at("event").as_string()));
    if (order.back() == "bootstrapped") {
      EXPECT_EQ(o.at("records").as_int64(), 1'000'000) << line;
    }
  }
  EXPECT_EQ(order, (std::vector<std::string>{"listening", "bootstrapped", "ready", "stopping",
                                             "stopped"}));
}

}  // namespace
}  // namespace streamrec::conformance
