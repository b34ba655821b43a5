// Browser sign-in for the web view (issue 12, SPEC R6): a one-time URL, as Jupyter prints one,
// that a browser exchanges for a session cookie.
//
//   WebSessions sessions;
//   add_session_routes(server, sessions);     // GET /login?once=... (open), POST /logout,
//                                             // POST /api/v1/sign-in (the token only)
//   std::string once = sessions.new_once();   // print "http://HOST:PORT/login?once=" + once
//
// GET /login?once=<token> checks and forgets the one-time token (so it works once), then answers
// 303 to "/" (or to ?next=, a path on this server) with "Set-Cookie:
// bel_session_<port>=<credential>; HttpOnly; SameSite=Strict; Path=/" (a browser sends a host's
// cookies to every port of it: a name of their own keeps two coordinators on one host from
// replacing each other's session). The credential is 256 random bits, known only to this process
// (a restart signs every browser out); the server counts a request carrying it as authenticated
// (HttpServer::add_credential). A wrong, used or missing once-token gets 401 `unauthorized`. POST
// /api/v1/sign-in (token needed) answers {"url_path": "/login?once=..."}: another one-time URL for
// a script or a second browser (`bel sign-in` asks for one). At most kMaxSessions sessions and
// kMaxOnce unused once-tokens are kept; the oldest goes first. A once-token works for kOnceLifetime
// after it is made; a session ends after kSessionIdle without a request that carries it, and
// kSessionLifetime after its sign-in however busy (a cookie copied off a machine stops working by
// itself).
//
// Thread-safe: every method.
#ifndef BEL_ACTORS_WEB_WEB_SESSION_H_
#define BEL_ACTORS_WEB_WEB_SESSION_H_

#include <httplib.h>

#include <chrono>
#include <deque>
#include <functional>
#include <mutex>
#include <string>

#include "actors/net/http_server.h"

namespace bel::actors::web {

inline constexpr const char* kSessionCookie = "bel_session";

// CLOCK_BOOTTIME: monotonic as steady_clock is, but counting the time the machine spends
// suspended, so that a session's hours are the wall's hours on a machine that sleeps.
struct BootClock {
  using duration = std::chrono::nanoseconds;
  using rep = duration::rep;
  using period = duration::period;
  using time_point = std::chrono::time_point<BootClock>;
  static constexpr bool is_steady = true;
  static time_point now() noexcept;
};

class WebSessions {
 public:
  using Clock = BootClock;
  static constexpr size_t kMaxSessions = 64;
  static constexpr size_t kMaxOnce = 16;
  static constexpr std::chrono::minutes kOnceLifetime{60};
  static constexpr std::chrono::hours kSessionIdle{12};
  static constexpr std::chrono::hours kSessionLifetime{7 * 24};

  // `now` tells the time (tests pass a clock of their own).
  explicit WebSessions(std::function<Clock::time_point()> now = Clock::now)
      : now_(std::move(now)) {}

  // A new one-time token for /login?once=.
  std::string new_once();
  // True (and the token forgotten) when `once` is an unused one-time token made less than
  // kOnceLifetime ago.
  bool use_once(const std::string& once);
  // A new session credential (for the cookie).
  std::string new_session();
  // The session cookie's name: "bel_session_<port>" once `port` (asked each time: a server knows
  // its port once bound) says one, "bel_session" before.
  // (Called before the server answers anything: not guarded.)
  void name_cookie_by(std::function<uint16_t()> port) { port_ = std::move(port); }
  std::string cookie_name() const;
  // True when `request` carries a live session's cookie; the request counts as that session's
  // latest.
  bool has_session(const httplib::Request& request);
  // Ends the session whose cookie `request` carries; false when it carries none that lives.
  bool end_session(const httplib::Request& request);

 private:
  struct Entry {
    std::string token;
    Clock::time_point made;
    Clock::time_point used;  // sessions: the latest request that carried it
  };
  // Drops what has expired at `now` (under mutex_).
  void expire(Clock::time_point now);

  std::function<Clock::time_point()> now_;
  std::function<uint16_t()> port_;
  std::mutex mutex_;
  std::deque<Entry> once_;
  std::deque<Entry> sessions_;
};

// Whether `request` is signed in by its session cookie: a GET or HEAD always, a write only from
// this server's own pages (below). Only a request it signs in counts as its session's latest.
bool signed_in_by_session(WebSessions& sessions, const httplib::Request& request);

// Registers /login, /logout (POST: ends the session the request's cookie names and clears the
// cookie; from this server's own pages only, as every write) and /api/v1/sign-in on `server`,
// and the cookie as a credential: for a GET or HEAD always, for a write only from this server's
// own pages (Sec-Fetch-Site: same-origin, or without it an Origin of http://<Host>). `sessions`
// must outlive the server.
void add_session_routes(HttpServer& server, WebSessions& sessions);

}  // namespace bel::actors::web

#endif  // BEL_ACTORS_WEB_WEB_SESSION_H_
