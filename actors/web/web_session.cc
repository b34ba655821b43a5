#include "actors/web/web_session.h"

#include <time.h>

#include <algorithm>

#include "actors/net/token.h"
#include "actors/web/web_html.h"
#include "actors/web/web_pages.h"
#include "actors/web/web_request.h"

namespace bel::actors::web {
namespace {

// The value of cookie `name` in the request's Cookie headers, or "".
std::string cookie(const httplib::Request& request, const std::string& name) {
  const size_t n = request.get_header_value_count("Cookie");
  for (size_t i = 0; i < n; ++i) {
    const std::string header = request.get_header_value("Cookie", i);
    size_t start = 0;
    while (start < header.size()) {
      size_t end = header.find(';', start);
      if (end == std::string::npos) end = header.size();
      std::string pair = header.substr(start, end - start);
      pair.erase(0, pair.find_first_not_of(' '));
      if (pair.compare(0, name.size() + 1, name + "=") == 0) return pair.substr(name.size() + 1);
      start = end + 1;
    }
  }
  return "";
}

template <class T>
void push_bounded(std::deque<T>& into, T entry, size_t max) {
  into.push_back(std::move(entry));
  while (into.size() > max) into.pop_front();
}

}  // namespace

BootClock::time_point BootClock::now() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_BOOTTIME, &ts);
  return time_point(std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec));
}

void WebSessions::expire(Clock::time_point now) {
  auto gone = [](std::deque<Entry>& entries, auto expired) {
    entries.erase(std::remove_if(entries.begin(), entries.end(), expired), entries.end());
  };
  gone(once_, [now](const Entry& e) { return now - e.made >= kOnceLifetime; });
  gone(sessions_, [now](const Entry& e) {
    return now - e.used >= kSessionIdle || now - e.made >= kSessionLifetime;
  });
}

std::string WebSessions::new_once() {
  std::string once = new_token();
  std::lock_guard<std::mutex> lock(mutex_);
  const auto now = now_();
  expire(now);
  push_bounded(once_, Entry{once, now, now}, kMaxOnce);
  return once;
}

bool WebSessions::use_once(const std::string& once) {
  std::lock_guard<std::mutex> lock(mutex_);
  expire(now_());
  for (auto it = once_.begin(); it != once_.end(); ++it) {
    if (constant_time_equal(it->token, once)) {
      once_.erase(it);
      return true;
    }
  }
  return false;
}

std::string WebSessions::new_session() {
  std::string session = new_token();
  std::lock_guard<std::mutex> lock(mutex_);
  const auto now = now_();
  expire(now);
  push_bounded(sessions_, Entry{session, now, now}, kMaxSessions);
  return session;
}

std::string WebSessions::cookie_name() const {
  const uint16_t port = port_ ? port_() : 0;
  return port == 0 ? std::string(kSessionCookie) : kSessionCookie + ("_" + std::to_string(port));
}

bool WebSessions::has_session(const httplib::Request& request) {
  const std::string presented = cookie(request, cookie_name());
  if (presented.empty()) return false;
  std::lock_guard<std::mutex> lock(mutex_);
  const auto now = now_();
  expire(now);
  Entry* found = nullptr;  // every session is compared: the time does not say which matched
  for (auto& session : sessions_) {
    if (constant_time_equal(session.token, presented)) found = &session;
  }
  if (found != nullptr) found->used = now;
  return found != nullptr;
}

bool WebSessions::end_session(const httplib::Request& request) {
  const std::string presented = cookie(request, cookie_name());
  if (presented.empty()) return false;
  std::lock_guard<std::mutex> lock(mutex_);
  expire(now_());
  const size_t before = sessions_.size();
  sessions_.erase(std::remove_if(sessions_.begin(), sessions_.end(),
                                 [&presented](const Entry& session) {
                                   return constant_time_equal(session.token, presented);
                                 }),
                  sessions_.end());
  return sessions_.size() != before;
}

namespace {

bool from_own_page(const httplib::Request& request) {
  if (request.method == "GET" || request.method == "HEAD") return true;
  // A browser says where a request comes from. SameSite=Strict does not stop a page of another
  // port of the same host (the same site to a browser) from sending the cookie: the origin must
  // be this server's own.
  const std::string fetch_site = request.get_header_value("Sec-Fetch-Site");
  if (!fetch_site.empty()) return fetch_site == "same-origin";
  const std::string origin = request.get_header_value("Origin");
  const std::string host = request.get_header_value("Host");
  return !origin.empty() && !host.empty() && origin == "http://" + host;
}

}  // namespace

bool signed_in_by_session(WebSessions& sessions, const httplib::Request& request) {
  // (A write refused for its origin does not keep the session alive.)
  return from_own_page(request) && sessions.has_session(request);
}

void add_session_routes(HttpServer& server, WebSessions& sessions) {
  sessions.name_cookie_by([&server] { return server.port(); });
  server.add_credential([&sessions](const httplib::Request& request) {
    return signed_in_by_session(sessions, request);
  });
  server.get(
      "/login",
      [&sessions](const httplib::Request& req, const std::string&, httplib::Response& res) {
        const std::string once = req.get_param_value("once");
        if (once.empty() || !sessions.use_once(once)) {
          return reply_page(
              res, make_error(ErrorCode::unauthorized,
                              "GET /login: this sign-in link is wrong, was used already or is "
                              "more than an hour old; ask the coordinator for a new one (bel "
                              "sign-in, or POST /api/v1/sign-in with the token)"));
        }
        res.set_header("Set-Cookie", sessions.cookie_name() + "=" + sessions.new_session() +
                                         "; HttpOnly; SameSite=Strict; Path=/");
        // (Not cached: every answer of the web view says no-store, web_view.cc.)
        // ?next= a local path (never another site's URL): printable ASCII, no backslash (a
        // browser drops tabs and newlines and reads '\\' as '/', so "/\t/x" would be "//x").
        std::string next = req.get_param_value("next");
        const bool local = !next.empty() && next[0] == '/' &&
                           (next.size() == 1 || next[1] != '/') &&
                           std::all_of(next.begin(), next.end(),
                                       [](char c) { return c > 0x20 && c < 0x7f && c != '\\'; });
        if (!local) next = "/";
        res.set_redirect(next, 303);
      },
      HttpServer::Access::open);
  server.post("/logout", [&sessions](const httplib::Request& req, const std::string&,
                                     httplib::Response& res) {
    // The header's form has no fields: a body, if any, says nothing and is ignored.
    if (Status checked = check_params(req, {}); !checked.ok()) {
      return HttpServer::reply_error(res, checked.error());
    }
    sessions.end_session(req);
    res.set_header("Set-Cookie",
                   sessions.cookie_name() + "=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    reply_page(res, page("Signed out", "",
                         "<h1>Signed out</h1><section><p>This browser's session has ended. "
                         "<code>bel sign-in</code> prints a link that signs a browser in "
                         "again.</p></section>",
                         Reader::not_signed_in));
  });
  server.post(
      "/api/v1/sign-in",
      [&sessions](const httplib::Request& req, const std::string& body, httplib::Response& res) {
        Status checked = check_params(req, {});
        if (checked.ok() && !body.empty()) {
          checked =
              make_error(ErrorCode::invalid_argument,
                         "POST /api/v1/sign-in: a body is not accepted; it takes no arguments");
        }
        if (!checked.ok()) return HttpServer::reply_error(res, checked.error());
        HttpServer::reply(res, "{\"url_path\":\"/login?once=" + sessions.new_once() + "\"}\n",
                          kJsonType);
      },
      HttpServer::Access::bearer);  // a session never makes another: its lifetime holds
}

}  // namespace bel::actors::web
