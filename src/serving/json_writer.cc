#include "serving/json_writer.h"

#include <cmath>
#include <iterator>

#include "fmt/format.h"

namespace streamrec {
namespace {

// Bytes of the UTF-8 sequence that starts at s[i], or 0 when none valid starts there.
size_t Utf8Length(std::string_view s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  size_t len;
  uint32_t cp;
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) {
    len = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    const auto cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3F);
  }
  static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

}  // namespace

void JsonWriter::Open(char c) {
  BeforeValue();
  out_->push_back(c);
  need_comma_ = false;
}

void JsonWriter::Close(char c) {
  out_->push_back(c);
  need_comma_ = true;
}

void JsonWriter::BeforeValue() {
  if (need_comma_) out_->push_back(',');
}

void JsonWriter::Key(std::string_view key) {
  if (need_comma_) out_->push_back(',');
  Quoted(key);
  out_->push_back(':');
  need_comma_ = false;
}

void JsonWriter::String(std::string_view s) {
  BeforeValue();
  Quoted(s);
  need_comma_ = true;
}

void JsonWriter::Number(double d) {
  BeforeValue();
  if (std::isfinite(d)) {
    fmt::format_to(std::back_inserter(*out_), "{}", d);
  } else {
    out_->append("null");
  }
  need_comma_ = true;
}

void JsonWriter::Int(int64_t i) {
  BeforeValue();
  fmt::format_to(std::back_inserter(*out_), "{}", i);
  need_comma_ = true;
}

void JsonWriter::Uint(uint64_t u) {
  BeforeValue();
  fmt::format_to(std::back_inserter(*out_), "{}", u);
  need_comma_ = true;
}

void JsonWriter::Bool(bool b) {
  BeforeValue();
  out_->append(b ? "true" : "false");
  need_comma_ = true;
}

void JsonWriter::Null() {
  BeforeValue();
  out_->append("null");
  need_comma_ = true;
}

void JsonWriter::Value(const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::null:
      return Null();
    case boost::json::kind::bool_:
      return Bool(v.get_bool());
    case boost::json::kind::int64:
      return Int(v.get_int64());
    case boost::json::kind::uint64:
      return Uint(v.get_uint64());
    case boost::json::kind::double_:
      return Number(v.get_double());
    case boost::json::kind::string:
      return String(std::string_view(v.get_string().data(), v.get_string().size()));
    case boost::json::kind::array:
      BeginArray();
      for (const boost::json::value& e : v.get_array()) Value(e);
      return EndArray();
    case boost::json::kind::object:
      BeginObject();
      for (const boost::json::key_value_pair& kv : v.get_object()) {
        Key(std::string_view(kv.key().data(), kv.key().size()));
        Value(kv.value());
      }
      return EndObject();
  }
}

void JsonWriter::Quoted(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out_->push_back('"');
  size_t plain = 0;  // start of the run of bytes copied as they are
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      const size_t len = Utf8Length(s, i);
      if (len > 0) {
        i += len;
        continue;
      }
    }
    out_->append(s.data() + plain, i - plain);
    switch (c) {
      case '"':
        out_->append("\\\"");
        break;
      case '\\':
        out_->append("\\\\");
        break;
      case '\n':
        out_->append("\\n");
        break;
      case '\r':
        out_->append("\\r");
        break;
      case '\t':
        out_->append("\\t");
        break;
      default:
        if (c < 0x20) {
          const char esc[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
          out_->append(esc, sizeof(esc));
        } else {
          out_->append("\xEF\xBF\xBD");  // U+FFFD for a byte that is not UTF-8
        }
    }
    plain = ++i;
  }
  out_->append(s.data() + plain, s.size() - plain);
  out_->push_back('"');
}

}  // namespace streamrec
