#include "storage/uri.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace bel::storage {
namespace {

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

Error unsupported(std::string_view uri, std::string_view why) {
  std::string shown = uri.empty() ? std::string("(empty storage URI)") : shown_uri(uri);
  return make_error(ErrorCode::unsupported_uri,
                    fmt::format("{}: {}; supported: {}", shown, why, supported_uri_forms()));
}

}  // namespace

const char* supported_uri_forms() {
  return "sqlite:///abs/path.db, sqlite://rel/path.db, a bare path (rel/path.db), "
         "postgresql://user@host:port/db (a libpq URI), memory://, stdout";
}

Result<StorageUri> parse_storage_uri(std::string_view uri) {
  StorageUri out;
  out.uri = std::string(uri);
  if (uri == "stdout") {
    out.scheme = UriScheme::stdout_sink;
    return out;
  }
  if (starts_with(uri, "memory://")) {
    out.scheme = UriScheme::memory;
    return out;
  }
  // A bare path ("bel.db", "/var/lib/bel/bel.db") is an SQLite file. Anything with a ':' must
  // name its scheme, so a mistyped scheme ("sqlite:/x.db", "file:///x.db") is refused, not
  // taken for a file name.
  const bool bare_path = !uri.empty() && uri.find(':') == std::string_view::npos;
  if (bare_path || starts_with(uri, "sqlite://")) {
    std::string_view rest = bare_path ? uri : uri.substr(std::string_view("sqlite://").size());
    if (rest.empty() || rest == "/") return unsupported(uri, "no database path");
    out.scheme = UriScheme::sqlite;
    // "sqlite:///abs" keeps its leading '/'; a relative path gets "./" so SQLite never reads it
    // as ":memory:" or a "file:" URI (Debian builds SQLite with USE_URI).
    out.path = rest.front() == '/' ? std::string(rest) : "./" + std::string(rest);
    return out;
  }
  if (starts_with(uri, "postgres://") || starts_with(uri, "postgresql://")) {
    out.scheme = UriScheme::postgres;
    out.path = std::string(uri);
    return out;
  }
  return unsupported(uri, "unknown storage scheme");
}

std::string shown_uri(std::string_view uri) {
  std::string out(uri);
  // Any scheme://user:password@ (a mistyped mysql:// log too), but not an SQLite file's name,
  // which may hold ':' and '@', nor a bare path.
  if (out.find("://") == std::string::npos || starts_with(out, "sqlite://") ||
      starts_with(out, "memory://")) {
    return out;
  }
  // user:password@ before the host. A password may hold '/', '?' or '#' written as they are (libpq
  // then misreads the URI, and says so quoting a part of it): the first '@' ends it wherever it
  // stands, and a ':' before that '@' starts it. Hiding too much is the safe side.
  const size_t start = out.find("://") + 3;
  const size_t at = out.find('@', start);
  if (at != std::string::npos) {
    const size_t colon = out.find(':', start);
    if (colon != std::string::npos && colon < at) out.replace(colon + 1, at - colon - 1, "***");
  }
  // password=VALUE among the query's parameters, its name percent-encoded or not (libpq decodes
  // it: ?%70assword= sets the password too).
  auto decoded = [](std::string_view text) {
    std::string name;
    for (size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '%' && i + 2 < text.size() &&
          std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
          std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
        name += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
        i += 2;
      } else {
        name += text[i];
      }
    }
    return name;
  };
  const size_t at_now = out.find('@', start);  // moved when the password was hidden
  const size_t query = out.find('?', at_now == std::string::npos ? start : at_now);
  for (size_t p = query; p != std::string::npos && p < out.size(); p = out.find('&', p + 1)) {
    const size_t equals = out.find('=', p + 1);
    if (equals == std::string::npos) break;
    const size_t next = std::min(out.find('&', p + 1), out.size());
    if (equals > next ||
        decoded(std::string_view(out).substr(p + 1, equals - p - 1)) != "password") {
      continue;
    }
    out.replace(equals + 1, next - equals - 1, "***");
  }
  return out;
}

}  // namespace bel::storage
