#pragma once
// Writes JSON text by appending to a std::string, without building a document first.
//
// Written here rather than taken from Boost.JSON's serializer because the responses
// need what that one (1.81) does not give: doubles in their shortest plain form
// ("0.93", not "9.3E-1"), null for NaN and infinities (valid JSON always), and strings
// that are valid UTF-8 even when an id was not (bad bytes become U+FFFD).
//
// Commas are placed automatically: Key() before each member of an object, values in
// order in an array. Not thread-safe; one writer per response.

#include <cstdint>
#include <string>
#include <string_view>

#include "boost/json/value.hpp"

namespace streamrec {

class JsonWriter {
 public:
  explicit JsonWriter(std::string* out) : out_(out) {}

  void BeginObject() { Open('{'); }
  void EndObject() { Close('}'); }
  void BeginArray() { Open('['); }
  void EndArray() { Close(']'); }
  void Key(std::string_view key);

  void String(std::string_view s);
  void Number(double d);  // null when not finite
  void Int(int64_t i);
  void Uint(uint64_t u);
  void Bool(bool b);
  void Null();
  void Value(const boost::json::value& v);  // any JSON value, recursively

 private:
  void Open(char c);
  void Close(char c);
  void BeforeValue();
  void Quoted(std::string_view s);

  std::string* out_;
  bool need_comma_ = false;  // a value was written at this level
};

}  // namespace streamrec
