#include "common/structured_log.h"

#include <cmath>
#include <memory>
#include <mutex>

#include "common/json_string.h"
#include "common/strings.h"
#include "fmt/format.h"
#include "spdlog/sinks/stdout_sinks.h"
#include "spdlog/spdlog.h"

namespace streamrec {
namespace {

constexpr std::string_view kTimeFormat = "%Y-%m-%dT%H:%M:%S.%eZ";

struct Logger {
  std::mutex mu;
  LogFormat format = LogFormat::kText;  // guarded by mu
  std::shared_ptr<spdlog::logger> logger;

  Logger()
      : logger(std::make_shared<spdlog::logger>(
            "streamrec", std::make_shared<spdlog::sinks::stderr_sink_mt>())) {
    logger->flush_on(spdlog::level::info);  // a line is out before the next step
    SetPattern(LogFormat::kText);
  }
  void SetPattern(LogFormat f) {
    format = f;
    logger->set_pattern(f == LogFormat::kJson
                            ? fmt::format(R"({{"ts":"{}","level":"%l",%v}})", kTimeFormat)
                            : fmt::format("ts={} level=%l %v", kTimeFormat),
                        spdlog::pattern_time_type::utc);
  }
};

Logger& TheLogger() {
  static Logger* logger = new Logger;  // never destroyed: threads may log at exit
  return *logger;
}

bool NeedsQuotes(std::string_view s) {
  if (s.empty()) return true;
  for (const char c : s) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == ' ' || c == '"' || c == '=' || c == '\\' || byte < 0x20 || byte >= 0x80) {
      return true;
    }
  }
  return false;
}

void AppendValue(LogFormat format, const LogField::Value& value, std::string* out) {
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string_view>) {
          if (format == LogFormat::kJson || NeedsQuotes(v)) {
            AppendJsonString(v, out);
          } else {
            out->append(v);
          }
        } else if constexpr (std::is_same_v<T, bool>) {
          out->append(v ? "true" : "false");
        } else if constexpr (std::is_same_v<T, double>) {
          if (std::isfinite(v)) {
            fmt::format_to(std::back_inserter(*out), "{}", v);
          } else if (format == LogFormat::kJson) {
            out->append("null");
          } else {
            out->append(std::isnan(v) ? "NaN" : v > 0 ? "inf" : "-inf");
          }
        } else {
          fmt::format_to(std::back_inserter(*out), "{}", v);
        }
      },
      value);
}

}  // namespace

absl::StatusOr<LogFormat> ParseLogFormat(std::string_view name) {
  if (name == "text") return LogFormat::kText;
  if (name == "json") return LogFormat::kJson;
  return absl::InvalidArgumentError(StrCat("log format must be text or json, not '", name, "'"));
}

void SetLogFormat(LogFormat format) {
  Logger& l = TheLogger();
  std::lock_guard lock(l.mu);
  l.SetPattern(format);
}

std::string FormatLogFields(LogFormat format, std::string_view event,
                            std::initializer_list<LogField> fields) {
  std::string out;
  if (format == LogFormat::kJson) {
    out.append(R"("event":)");
    AppendJsonString(event, &out);
    for (const LogField& f : fields) {
      out.push_back(',');
      AppendJsonString(f.key(), &out);
      out.push_back(':');
      AppendValue(format, f.value(), &out);
    }
    return out;
  }
  out.append("event=").append(event);
  for (const LogField& f : fields) {
    out.push_back(' ');
    out.append(f.key()).push_back('=');
    AppendValue(format, f.value(), &out);
  }
  return out;
}

void Log(LogLevel level, std::string_view event, std::initializer_list<LogField> fields) {
  Logger& l = TheLogger();
  LogFormat format;
  {
    std::lock_guard lock(l.mu);
    format = l.format;
  }
  const std::string line = FormatLogFields(format, event, fields);
  switch (level) {
    case LogLevel::kInfo:
      l.logger->info("{}", line);
      break;
    case LogLevel::kWarning:
      l.logger->warn("{}", line);
      break;
    case LogLevel::kError:
      l.logger->error("{}", line);
      break;
  }
}

}  // namespace streamrec
