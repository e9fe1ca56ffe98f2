#include "serving/json_writer.h"

#include <cmath>
#include <iterator>

#include "common/json_string.h"
#include "fmt/format.h"

namespace streamrec {

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

void JsonWriter::Quoted(std::string_view s) { AppendJsonString(s, out_); }

}  // namespace streamrec
