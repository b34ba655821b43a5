#include "actors/web/web_html.h"

#include <fmt/format.h>

#include <ctime>

#include "actors/client/partitions_repository.h"
#include "actors/web/web_request.h"
#include "messages/escape.h"
#include "messages/status_names.h"

namespace bel::actors::web {
namespace {

constexpr const char* kStyle = R"CSS(
:root { --fg:#1d2330; --muted:#5b6475; --line:#dde1e8; --bg:#f6f7f9; --accent:#2457c5; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color:var(--fg);
       background:var(--bg); }
header { background:#1d2330; color:#fff; padding:10px 24px; display:flex; gap:24px;
         align-items:center; flex-wrap:wrap; }
header a { color:#fff; text-decoration:none; font-weight:600; }
header form[role=search] { margin-left:auto; }
header input { width:26em; padding:5px 8px; border-radius:4px; border:0; }
header button { background:none; color:#fff; border:1px solid #9aa3b5; border-radius:4px;
                padding:4px 10px; font:inherit; font-size:13px; cursor:pointer; }
main { max-width:1200px; margin:0 auto; padding:16px 24px 48px; }
h1 { font-size:22px; margin:8px 0 12px; word-break:break-all; }
h2 { font-size:17px; margin:24px 0 8px; }
/* A table wider than a phone's screen scrolls inside its section, not the page. */
section { background:#fff; border:1px solid var(--line); border-radius:6px; padding:12px 16px;
          margin-bottom:16px; overflow-x:auto; }
table { border-collapse:collapse; width:100%; }
th, td { text-align:left; padding:5px 8px; border-bottom:1px solid var(--line);
         vertical-align:top; }
/* A value as long as a ref may be (64 KiB) wraps inside its cell: the columns after it stay on
   the screen. So does a failed run's message. */
td, li, .failure { overflow-wrap:anywhere; }
th { color:var(--muted); font-weight:600; font-size:13px; }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; }
a { color:var(--accent); }
/* Each value from the log is its own bidirectional run: an override or a right-to-left ref
   never reorders the values next to it. */
a, span, code, td, li { unicode-bidi:isolate; }
code, .mono { font-family:ui-monospace, "DejaVu Sans Mono", monospace; font-size:13px; }
.muted { color:var(--muted); }
.cards { display:flex; gap:12px; flex-wrap:wrap; }
.card { background:#fff; border:1px solid var(--line); border-radius:6px; padding:10px 16px;
        min-width:150px; }
.card b { display:block; font-size:24px; }
.badge { display:inline-block; padding:1px 8px; border-radius:10px; font-size:12px;
         font-weight:600; background:#e6e9ef; color:#39414f; white-space:nowrap; }
.ok { background:#d8f3df; color:#17622e; } .bad { background:#fbdcdc; color:#9b1c1c; }
.run { background:#dce8fb; color:#1d4ea8; } .warn { background:#fdf0cf; color:#7a5300; }
.failure { border-left:4px solid #c53030; padding:6px 10px; margin:8px 0; background:#fff6f6; }
.timeline { position:relative; height:16px; background:#eef0f4; border-radius:3px;
            min-width:240px; }
.bar { position:absolute; top:2px; bottom:2px; border-radius:2px; background:#6b8fd6;
       min-width:2px; }
.bar.ok { background:#3c9d5d; } .bar.bad { background:#c53030; } .bar.warn { background:#d69e2e; }
#live { font-size:12px; color:#9aa3b5; }
)CSS";

// Follows the stream; on an event, refetches this page and swaps every [data-live] element.
constexpr const char* kScript = R"JS(
(function () {
  var q = document.body.getAttribute('data-stream');
  if (!q || !window.EventSource) return;
  var live = document.getElementById('live');
  var pending = null;
  var es = null;
  // What a stream follows, without where it starts: only a change of that reopens it.
  function followed(query) { return query.replace(/(^|&)since=[0-9]*/, ''); }
  function reload() {
    pending = null;
    fetch(location.href, {credentials: 'same-origin'})
      .then(function (r) {
        if (r.ok) return r.text();
        // Signed out (the session ended while its stream stayed open): stop following, and say
        // so rather than keep a stale page that calls itself live.
        if (r.status === 401) {
          if (es) es.close();
          es = null;
          live.textContent = 'signed out: reload the page to sign in again';
        } else {
          live.textContent = 'not updated: the server answered ' + r.status;
        }
        return null;
      })
      .then(function (html) {
        if (html === null) return;
        var doc = new DOMParser().parseFromString(html, 'text/html');
        document.querySelectorAll('[data-live]').forEach(function (el) {
          var fresh = doc.getElementById(el.id);
          if (fresh) el.innerHTML = fresh.innerHTML;
        });
        // Unless the stream has closed meanwhile: the header keeps saying so.
        if (es && es.readyState === EventSource.OPEN) {
          live.textContent = 'live, updated ' + new Date().toLocaleTimeString();
        }
        // What the page follows may have changed (a build that now claims the partition): the
        // fresh page's stream, from the fresh page's idx, replaces this one.
        var next = doc.body.getAttribute('data-stream');
        if (next && followed(next) !== followed(q)) {
          q = next;
          document.body.setAttribute('data-stream', q);
          follow();
        }
      });
  }
  var opened = 0;
  var retryIn = 1000;
  function follow() {
    if (es) es.close();
    es = new EventSource('/api/v1/events/stream?' + q);
    live.setAttribute('data-streams-opened', String(++opened));
    es.onopen = function () { live.textContent = 'live'; retryIn = 1000; };
    es.onerror = function () {
      // A dropped connection the browser retries by itself (CONNECTING). After an HTTP error it
      // gives up (CLOSED): 429, every stream taken (pages left a moment ago still hold theirs),
      // or 401, signed out (the session ended, or the coordinator restarted). Ask the page
      // itself which, then say so, or try again later.
      var failed = this;
      if (failed !== es) return;  // a stream already replaced
      if (failed.readyState !== EventSource.CLOSED) { live.textContent = 'reconnecting…'; return; }
      fetch(location.href, {method: 'HEAD', credentials: 'same-origin', cache: 'no-store'})
        .then(function (r) { return r.status; }, function () { return 0; })
        .then(function (status) {
          if (es !== failed) return;  // a fresh page's stream replaced it meanwhile
          if (status === 401) {
            live.textContent = 'signed out: reload the page to sign in again';
            return;
          }
          live.textContent = 'not live: trying again in ' + Math.round(retryIn / 1000) + ' s';
          setTimeout(function () { if (es === failed) follow(); }, retryIn);
          retryIn = Math.min(2 * retryIn, 30000);
        });
    };
    ['build_request_event', 'partition_event', 'job_event', 'delegation_event', 'job_graph_event',
     'partition_invalidation_event', 'job_run_cancel_event', 'build_cancel_event']
      .forEach(function (t) {
        es.addEventListener(t, function () { if (!pending) pending = setTimeout(reload, 300); });
      });
  }
  follow();
  // A page kept in the back/forward cache would hold its stream's connection (a browser allows
  // six to a server): close it on leaving, and reload if the page is shown again.
  window.addEventListener('pagehide', function () { if (es) es.close(); });
  window.addEventListener('pageshow', function (e) { if (e.persisted) location.reload(); });
})();
)JS";

}  // namespace

const char* live_script() { return kScript; }

namespace {

void append_entities(std::string& out, std::string_view text) {
  append_escaped(out, text,
                 {{'&', "&amp;"}, {'<', "&lt;"}, {'>', "&gt;"}, {'"', "&quot;"}, {'\'', "&#39;"}});
}

}  // namespace

std::string escape_url(const std::string& url) {
  std::string out;
  append_entities(out, url);
  return out;
}

std::string escape_html(const std::string& text) {
  std::string out;
  // A control character (a NUL in a message, an escape sequence) is shown as \xNN, as the
  // console shows it: HTML has no way to carry most of them, and a browser turns NUL into U+FFFD.
  // A C1 control or a format character that moves the text after it (U+202E turns the rest of
  // a value around, so that a ref could read as another) is shown as \uXXXX, as the console does.
  // And a backslash is doubled, as the console does, so that text holding the six characters
  // \u200b never reads as text holding the character they stand for.
  auto control = [](unsigned char c) {
    return (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f;
  };
  const std::string_view all(text);
  size_t start = 0;
  for (size_t i = 0; i <= text.size();) {
    std::string shown;
    size_t length = 1;
    if (i < text.size()) {
      const auto c = static_cast<unsigned char>(text[i]);
      if (c == '\\') {
        shown = "\\\\";
      } else if (control(c)) {
        shown = fmt::format("\\x{:02x}", c);
      } else if (c >= 0xc2) {  // a C1 control or a format character begins so, if any
        const CodePoint p = first_code_point(all.substr(i));
        if (p.length > 0 && shown_as_escape(p.cp)) {
          shown = fmt::format("\\u{:04x}", static_cast<uint32_t>(p.cp));
          length = p.length;
        }
      }
      if (shown.empty()) {
        ++i;
        continue;
      }
    }
    append_entities(out, all.substr(start, i - start));
    out += shown;
    i += length;
    start = i;
  }
  return out;
}

std::string build_href(const std::string& id) { return "/builds/" + encode_path_part(id); }
std::string build_link(const std::string& id) {
  if (is_operator_id(id))
    return "<span title=\"an operator's action\">" + escape_html(id) + "</span>";
  return link(build_href(id), id);
}
std::string partition_href(const std::string& ref) {
  return "/partitions/" + encode_path_part(ref);
}
std::string job_href(const std::string& label) { return "/jobs/" + encode_path_part(label); }

std::string link(const std::string& href, const std::string& text) {
  // A path the HTTP library would refuse in a request line (8 192 bytes with the method and the
  // version: docs/web.md) leads nowhere: its value is shown, not linked.
  constexpr size_t kLongestLinkedPath = 8000;
  if (href.size() > kLongestLinkedPath) {
    return "<span title=\"too long to open on this dashboard: ask the console\">" +
           escape_html(text) + "</span>";
  }
  return "<a href=\"" + escape_url(href) + "\">" + escape_html(text) + "</a>";
}

std::string badge(const std::string& status_name) {
  // A status a view leaves unnamed (a partition no event names) is shown as what it is.
  const std::string shown = status_name.empty() ? "unknown" : short_status_name(status_name);
  const char* kind = "";
  if (shown == "completed" || shown == "available" || shown == "analysis_completed") {
    kind = " ok";
  } else if (shown == "failed") {
    kind = " bad";
  } else if (shown == "running" || shown == "building" || shown == "executing" ||
             shown == "planning" || shown == "scheduled") {
    kind = " run";
  } else if (shown == "cancelled" || shown == "invalidated" || shown == "delegated" ||
             shown == "skipped") {
    kind = " warn";
  }
  return std::string("<span class=\"badge") + kind + "\">" + escape_html(shown) + "</span>";
}

std::string format_time(int64_t ns) {
  if (ns <= 0) return "-";
  const std::time_t seconds = static_cast<std::time_t>(ns / 1000000000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%d %H:%M:%S UTC", &tm);
  return text;
}

std::string page(const std::string& title, const std::string& stream_query, const std::string& body,
                 Reader reader) {
  Html h;
  h.raw(
       "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>")
      .text(title)
      .raw(" · bel</title><style>")
      .raw(kStyle)
      .raw("</style></head><body data-stream=\"")
      .raw(escape_url(stream_query))
      .raw("\"><header>");
  if (reader == Reader::signed_in) {
    h.raw(
        "<a href=\"/\">bel</a><a href=\"/builds\">Builds</a><a href=\"/partitions\">Partitions</a>"
        "<a href=\"/jobs\">Jobs</a><span id=\"live\"></span>"
        "<form action=\"/search\" method=\"get\" role=\"search\"><input type=\"search\" "
        "name=\"q\" placeholder=\"Build id, partition ref or glob, job label\" "
        "aria-label=\"Search\"></form><form action=\"/logout\" method=\"post\">"
        "<button type=\"submit\">Sign out</button></form>");
  } else {
    h.raw("<b>bel</b>");
  }
  h.raw("</header><main>").raw(body).raw("</main>");
  if (!stream_query.empty()) h.raw("<script src=\"").raw(kLiveScriptPath).raw("\"></script>");
  h.raw("</body></html>\n");
  return h.take();
}

}  // namespace bel::actors::web
