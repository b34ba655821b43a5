#include "actors/web/web_request.h"

#include <cctype>
#include <charconv>
#include <cstring>
#include <string_view>

#include "actors/net/http_server.h"
#include "messages/escape.h"
#include "messages/event_keys.h"
#include "messages/glob.h"
#include "messages/json.h"

namespace bel::actors::web {
namespace {

constexpr const char* kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int sextet(char c) {
  const char* at = std::strchr(kAlphabet, c);
  return (c == '\0' || at == nullptr) ? -1 : static_cast<int>(at - kAlphabet);
}

Error bad(const std::string& what, const std::string& why) {
  return make_error(ErrorCode::invalid_argument, what + ": " + why);
}

// A filter parameter given with nothing to filter by, which a script's unset variable makes.
Error filters_nothing(const std::string& what, const std::string& why) {
  return bad(what, why + "; leave the parameter out to not filter by it");
}

}  // namespace

std::string encode_path_part(const std::string& raw) {
  std::string out;
  uint32_t bits = 0;
  int count = 0;
  for (unsigned char c : raw) {
    bits = (bits << 8) | c;
    count += 8;
    while (count >= 6) {
      count -= 6;
      out += kAlphabet[(bits >> count) & 63];
    }
  }
  if (count > 0) out += kAlphabet[(bits << (6 - count)) & 63];
  return out;
}

Result<std::string> decode_path_part(const std::string& encoded, const std::string& what) {
  const std::string where = what + " '" + encoded + "' in the path";
  if (encoded.size() % 4 == 1) {
    return bad(where, "not base64url (a length of 4n+1 characters has no decoding)");
  }
  std::string out;
  uint32_t bits = 0;
  int count = 0;
  for (char c : encoded) {
    const int value = sextet(c);
    if (value < 0) {
      return bad(where, std::string("not base64url without padding (character '") + c +
                            "'); encode it with the URL-safe alphabet A-Z a-z 0-9 - _");
    }
    bits = (bits << 6) | static_cast<uint32_t>(value);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out += static_cast<char>((bits >> count) & 0xff);
    }
  }
  if (out.empty()) return bad(where, "empty");
  // Every id, ref and label is UTF-8 without control characters: a part that decodes to
  // anything else was not encoded (a plain id whose letters happen to be base64url's).
  bool plain = is_utf8(out);
  for (unsigned char c : out) plain = plain && c >= 0x20 && c != 0x7f;
  if (!plain) {
    return bad(where, "decodes to bytes that no " + what +
                          " holds: a path part is the base64url (no padding) of the " + what +
                          "'s text, e.g. '" + encode_path_part("br-1") + "' for 'br-1'");
  }
  return out;
}

Status check_params(const httplib::Request& request, const std::vector<const char*>& known) {
  // A '%' that starts no %XY escape is kept as typed by the decoding: "reason=100%" would store
  // "100%" where the client most likely meant something else; say how to write one.
  const size_t mark = request.target.find('?');
  const std::string_view query = mark == std::string::npos
                                     ? std::string_view()
                                     : std::string_view(request.target).substr(mark + 1);
  for (size_t at = query.find('%'); at != std::string_view::npos; at = query.find('%', at + 1)) {
    const auto hex = [&](size_t i) {
      return i < query.size() && std::isxdigit(static_cast<unsigned char>(query[i])) != 0;
    };
    if (hex(at + 1) && hex(at + 2)) continue;
    const size_t amp = query.rfind('&', at);
    const size_t begin = amp == std::string_view::npos ? 0 : amp + 1;
    const std::string_view pair = query.substr(begin, query.find('&', at) - begin);
    return bad("query parameter '" + ascii_escaped(pair.substr(0, pair.find('='))) + "'",
               "'%' not followed by two hex digits; write a '%' inside a value as %25");
  }
  for (const auto& [name, value] : request.params) {
    bool found = false;
    for (const char* k : known) found = found || name == k;
    if (!found) {
      std::string list;
      for (const char* k : known) list += std::string(list.empty() ? "" : ", ") + k;
      return bad("query parameter '" + name + "'",
                 "unknown here (accepted: " + (list.empty() ? "none" : list) + ")");
    }
  }
  return ok_status();
}

Result<std::string> string_param(const httplib::Request& request, const char* name) {
  const size_t n = request.get_param_value_count(name);
  if (n > 1) return bad(std::string("query parameter '") + name + "'", "given more than once");
  return n == 0 ? std::string() : request.get_param_value(name);
}

Result<int64_t> int_param(const httplib::Request& request, const char* name, int64_t fallback,
                          int64_t min, int64_t max) {
  auto text = string_param(request, name);
  if (!text.ok()) return text.error();
  if (request.get_param_value_count(name) == 0) return fallback;
  const std::string what = std::string("query parameter ") + name + "=" + *text;
  if (text->empty() || text->find_first_not_of("0123456789") != std::string::npos) {
    return bad(what, "not a non-negative decimal integer");
  }
  int64_t value = 0;
  const auto parsed = std::from_chars(text->data(), text->data() + text->size(), value).ec;
  if (parsed != std::errc() || value < min || value > max) {
    return bad(what, "out of range " + std::to_string(min) + ".." + std::to_string(max));
  }
  return value;
}

std::vector<std::string> list_param(const httplib::Request& request, const char* name) {
  std::vector<std::string> out;
  for (size_t i = 0; i < request.get_param_value_count(name); ++i) {
    const std::string value = request.get_param_value(name, i);
    size_t start = 0;
    while (start <= value.size()) {
      const size_t comma = value.find(',', start);
      const size_t end = comma == std::string::npos ? value.size() : comma;
      if (end > start) out.push_back(value.substr(start, end - start));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  return out;
}

Result<std::vector<std::string>> every_param(const httplib::Request& request, const char* name) {
  std::vector<std::string> out;
  const size_t n = request.get_param_value_count(name);
  for (size_t i = 0; i < n; ++i) {
    std::string value = request.get_param_value(name, i);
    if (value.empty()) {
      return filters_nothing(std::string("query parameter ") + name + "=", "is empty");
    }
    out.push_back(std::move(value));
  }
  return out;
}

Result<std::string> filter_param(const httplib::Request& request, const char* name) {
  auto value = string_param(request, name);
  if (value.ok() && value->empty() && request.get_param_value_count(name) > 0) {
    return filters_nothing(std::string("query parameter ") + name + "=", "is empty");
  }
  return value;
}

Result<std::vector<std::string>> status_values(const httplib::Request& request) {
  auto values = list_param(request, "status");
  if (values.empty() && request.get_param_value_count("status") > 0) {
    return filters_nothing("query parameter status=" + request.get_param_value("status"),
                           "names no status");
  }
  return values;
}

std::string followed_ids(const char* name, const std::vector<std::string>& ids) {
  std::string out;
  for (const auto& id : ids) {
    out += std::string("&") + name + "=" + httplib::detail::encode_query_param(id);
  }
  return out.size() <= kMaxFollowedBytes ? out : std::string();
}

Result<int64_t> min_idx_param(const httplib::Request& request) {
  return int_param(request, "min_idx", 0, 0, INT64_MAX);
}

Result<EventFilter> filter_params(const httplib::Request& request) {
  EventFilter filter;
  // Refs, patterns, labels and ids may hold commas: each value is taken whole.
  using Field = google::protobuf::RepeatedPtrField<std::string>;
  for (auto [name, field] : std::initializer_list<std::pair<const char*, Field*>>{
           {"partition_refs", filter.mutable_partition_refs()},
           {"partition_patterns", filter.mutable_partition_patterns()},
           {"job_labels", filter.mutable_job_labels()},
           {"job_run_ids", filter.mutable_job_run_ids()},
           {"build_request_ids", filter.mutable_build_request_ids()}}) {
    auto values = every_param(request, name);
    if (!values.ok()) return values.error();
    for (auto& v : *values) field->Add(std::move(v));
  }
  auto types = every_param(request, "event_types");  // checked whole first: "" is empty
  if (!types.ok()) return types.error();
  if (!types->empty() && list_param(request, "event_types").empty()) {
    return filters_nothing("query parameter event_types=" + types->front(), "names no event type");
  }
  for (auto& v : list_param(request, "event_types")) {
    auto type = event_type_named(v);  // any case, "partition" too, as the console's --type
    if (!type) {
      return bad("query parameter event_types=" + v,
                 "not an event type (the oneof field names of BuildEvent in any case, with or "
                 "without _event, e.g. partition_event or partition)");
    }
    filter.add_event_types(*type);
  }
  return filter;
}

void reply_json(httplib::Response& response, const google::protobuf::Message& message,
                int64_t as_of_idx, JsonFields fields) {
  response.set_header(kAsOfHeader, std::to_string(as_of_idx));
  HttpServer::reply(
      response,
      (fields == JsonFields::all ? to_json_with_defaults(message) : to_json(message)) + "\n",
      kJsonType);
}

void reply_error(httplib::Response& response, const Error& error) {
  HttpServer::reply_error(response, error);
}

int64_t page_read_point(const ApiClient& client) {
  auto stats = client.stats();
  return stats.ok() ? stats->last_idx() : 0;
}

}  // namespace bel::actors::web
