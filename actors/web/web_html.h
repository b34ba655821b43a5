// The building blocks of the dashboard's server-rendered HTML (actors/web/web_pages.h): escaping,
// the page layout with its inline style and live script, links to pages, tables and timestamps.
// No CDN, no build step: every page is one HTML document with inline CSS, usable without
// JavaScript; with it, the live script (served at kLiveScriptPath, so that the pages' Content-
// Security-Policy runs no inline script) follows /api/v1/events/stream and reloads every element
// marked data-live from the same URL when a matching event arrives.
//
//   Html h;
//   h.raw("<h1>Build ").text(id).raw("</h1>");       // text() escapes, raw() does not
//   res.set_content(page("Build " + id, stream_query, h.take()), "text/html; charset=utf-8");
//
// Thread-safe: every function.
#ifndef BEL_ACTORS_WEB_WEB_HTML_H_
#define BEL_ACTORS_WEB_WEB_HTML_H_

#include <cstdint>
#include <string>

namespace bel::actors::web {

// Where the pages load the live script from, and the script.
inline constexpr const char* kLiveScriptPath = "/live.js";
const char* live_script();

// `text` with & < > " ' replaced by entities, control characters (tab and line breaks aside) by
// \xNN, C1 controls and the characters that move text or draw as nothing (messages/escape.h,
// shown_as_escape) by \uXXXX, and a backslash doubled, as the console shows text: safe in
// element content and quoted attributes, and shown as written.
std::string escape_html(const std::string& text);

// A URL the pages made (its parts percent- or base64url-encoded) for a quoted attribute: & < > "
// ' replaced by entities, nothing else changed.
std::string escape_url(const std::string& url);

class Html {
 public:
  Html& raw(const std::string& markup) {
    out_ += markup;
    return *this;
  }
  Html& text(const std::string& text) {
    out_ += escape_html(text);
    return *this;
  }
  Html& number(int64_t n) {
    out_ += std::to_string(n);
    return *this;
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

// Dashboard paths: the part base64url-encoded, as in the API.
std::string build_href(const std::string& id);
std::string partition_href(const std::string& ref);
std::string job_href(const std::string& label);
// A build request id as a link to its page; an operator's id ("operator:NAME", an invalidation
// by no build) as plain text, since it has no page.
std::string build_link(const std::string& id);
// <a href="...">text</a>, escaped.
std::string link(const std::string& href, const std::string& text);
// A status name as a coloured badge ("BUILD_REQUEST_FAILED" shows "failed", red).
std::string badge(const std::string& status_name);
// "2026-11-29 10:02:58 UTC" for Unix nanoseconds; "-" for 0.
std::string format_time(int64_t ns);

// Who a page is for: a signed-in browser's header has the navigation, the search box and a
// sign-out button; one that is not signed in (a 401, the signed-out page) only the name, since
// every link would answer 401 and there is no session to end.
enum class Reader { signed_in, not_signed_in };

// The whole document: title, the header `reader` calls for, `body`, and (when `stream_query` is
// not empty) the live script following /api/v1/events/stream?<stream_query>.
std::string page(const std::string& title, const std::string& stream_query, const std::string& body,
                 Reader reader = Reader::signed_in);

}  // namespace bel::actors::web

#endif  // BEL_ACTORS_WEB_WEB_HTML_H_
