// bel events list | tail: filtered scans of the log (SPEC 3.1, 3.2).
#include <algorithm>
#include <cctype>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <thread>

#include "app/commands.h"
#include "messages/event_keys.h"
#include "messages/filter_match.h"
#include "messages/json.h"
#include "storage/storage.h"

namespace bel::app {
namespace {

struct FilterFlags {
  int64_t since = 0;
  bool newest_first = false;  // list: descending, from --before (0: the newest event)
  int64_t before = 0;
  int limit = storage::kDefaultListLimit;
  int64_t count = 0;  // tail: stop after this many events (0 = follow forever)
  std::vector<std::string> partitions, patterns, jobs, job_runs, builds, types;
};

void add_filter_flags(CLI::App* cmd, FilterFlags& f) {
  // One value per flag, taken whole: a flag of CLI11 that takes several values per use reads
  // "[a,b]" as the list a, b, and a ref or glob may be "[lit]" or "[rs]*/2026-11-2[12]".
  auto add_key = [&](const char* flag, std::vector<std::string>& values, const char* help) {
    cmd->add_option(flag, values, help)->allow_extra_args(false);
  };
  add_key("--partition", f.partitions, "Events naming this partition ref (repeatable)");
  add_key(
      "--pattern", f.patterns,
      "Events naming a partition matching this glob: * ? [a-z] [^a-z] (SQLite GLOB: [!a] is ! or "
      "a; repeatable)");
  add_key("--job", f.jobs, "Events of this job label (repeatable)");
  add_key("--job-run", f.job_runs, "Events of this job run id (repeatable)");
  add_key("--build", f.builds, "Events of this build request id (repeatable)");
  // The names offered to completion (check_filter judges what is given, short names too).
  set_choices(cmd->add_option("--type", f.types,
                              "Events of these types, e.g. partition_event or partition: repeat "
                              "the flag or separate them with commas; any case")
                  ->delimiter(','),
              event_type_names());
}

// check_filter's message worded by the flag that gave the value: "filter event_types: unknown
// event type ..." reads "--type: unknown event type ...", "filter job_labels[1] is empty"
// "--job: is empty", as the other commands word a flag's bad value.
std::string by_flag(std::string message) {
  static const std::pair<std::string_view, std::string_view> kFlags[] = {
      {"partition_refs", "--partition"}, {"partition_patterns", "--pattern"},
      {"job_labels", "--job"},           {"job_run_ids", "--job-run"},
      {"build_request_ids", "--build"},  {"event_types", "--type"},
  };
  if (message.rfind("filter: pattern ", 0) == 0) return "--pattern: " + message.substr(8);
  for (const auto& [field, flag] : kFlags) {
    const std::string prefix = "filter " + std::string(field);
    if (message.rfind(prefix, 0) != 0) continue;
    size_t end = prefix.size();
    if (end < message.size() && message[end] == '[') {
      const size_t close = message.find(']', end);
      if (close != std::string::npos) end = close + 1;
    }
    const std::string rest = message.substr(end);
    return std::string(flag) + (rest.rfind(':', 0) == 0 ? "" : ":") + rest;
  }
  return message;
}

// Builds the filter; prints a usage error naming the flag and returns nothing when invalid.
std::optional<EventFilter> make_filter(Context& ctx, const FilterFlags& f) {
  EventFilter filter;
  for (const auto& v : f.partitions) filter.add_partition_refs(v);
  for (const auto& v : f.patterns) filter.add_partition_patterns(v);
  for (const auto& v : f.jobs) filter.add_job_labels(v);
  for (const auto& v : f.job_runs) filter.add_job_run_ids(v);
  for (const auto& v : f.builds) filter.add_build_request_ids(v);
  for (const auto& given : f.types) {
    // "--type , --limit 5": given no type, the flag takes the next word as one.
    if (given.size() > 1 && given[0] == '-') {
      ctx.usage_error("--type: \"" + given + "\" is a flag, not an event type (--type was given " +
                      "no type before it)");
      return std::nullopt;
    }
    // Any case, and the short form too (event_type_named). An unknown name stays as given, for
    // the error to name it.
    filter.add_event_types(event_type_named(given).value_or(given));
  }
  if (auto ok = check_filter(filter); !ok.ok()) {
    ctx.usage_error(by_flag(ok.error().message));
    return std::nullopt;
  }
  if (f.since < 0) {
    ctx.usage_error("--since: must be >= 0, got " + std::to_string(f.since));
    return std::nullopt;
  }
  if (f.limit < 1 || f.limit > storage::kMaxListLimit) {
    ctx.usage_error("--limit: must be between 1 and " + std::to_string(storage::kMaxListLimit) +
                    ", got " + std::to_string(f.limit));
    return std::nullopt;
  }
  return filter;
}

void run_list(Context& ctx, const FilterFlags& flags) {
  auto format = ctx.output_format();
  auto filter = make_filter(ctx, flags);
  if (!format || !filter) return;
  if (flags.before < 0) {
    return ctx.usage_error("--before: must be >= 0, got " + std::to_string(flags.before));
  }
  if (flags.newest_first && flags.since != 0) {
    return ctx.usage_error("--since: not with --newest-first (continue a newest-first walk "
                           "with --before NEXT_IDX)");
  }
  if (!flags.newest_first && flags.before != 0) {
    return ctx.usage_error("--before: only with --newest-first");
  }
  auto session = ctx.session(/*write=*/false, /*create_log=*/false, /*one_key=*/true);
  if (!session) return;
  ListEventsRequest request;
  request.set_since_idx(flags.since);
  if (flags.newest_first) {
    request.set_order(v1::EVENT_ORDER_DESCENDING);
    request.set_before_idx(flags.before);
  }
  *request.mutable_filter() = *filter;
  request.set_limit(flags.limit);
  auto page = session->client().list_events(request);
  if (!page.ok()) return ctx.fail(page.error());
  print_answer(*format, *page,
               flags.newest_first ? print_newest_first_events_table : print_events_table);
}

void run_tail(Context& ctx, const FilterFlags& flags, bool since_given) {
  auto format = ctx.output_format();
  auto filter = make_filter(ctx, flags);
  if (!format || !filter) return;
  if (flags.count < 0) return ctx.usage_error("--count: must be >= 0");
  auto session = ctx.session(/*write=*/false, /*create_log=*/false, /*one_key=*/true);
  if (!session) return;
  int64_t since = flags.since;
  {
    auto stats = session->client().stats();
    if (!stats.ok()) return ctx.fail(stats.error());
    if (!since_given) {
      since = stats->last_idx();
    } else if (since > stats->last_idx()) {
      // Likely a typo or another log's idx: the events appended up to it will never show.
      std::fprintf(stderr,
                   "bel: warning: --since %lld is past the log's last idx %lld: events %lld to "
                   "%lld will not be shown when they are appended; the tail shows those after\n",
                   static_cast<long long>(since), static_cast<long long>(stats->last_idx()),
                   static_cast<long long>(stats->last_idx() + 1), static_cast<long long>(since));
    }
  }
  int64_t printed = 0;
  EventStream stream(stdout);
  // Polls the log through a reader (a scan never blocks appends), so it follows every writer:
  // the coordinator it talks to, or another process writing the file.
  constexpr auto kPollInterval = std::chrono::milliseconds(100);
  // A tail follows until interrupted: a log or coordinator that stops answering for a while (a
  // PostgreSQL restart, a coordinator restarted on its endpoint) is asked again, less and less
  // often, and the tail goes on from where it was.
  constexpr auto kLongestRetry = std::chrono::seconds(2);
  std::chrono::milliseconds retry{0};
  // Waits `pause` unless nobody reads the output any more: then ends as a write to it would (by
  // SIGPIPE; with SIGPIPE ignored, a failure saying why). False when the tail is to stop.
  auto wait = [&](std::chrono::milliseconds pause) {
    if (output_reader_gone(stdout)) {
      std::raise(SIGPIPE);
      std::fprintf(stderr, "bel: cannot write the output: the reader of standard output is gone\n");
      ctx.exit_code = kExitFailed;
      return false;
    }
    std::this_thread::sleep_for(pause);
    return true;
  };
  for (;;) {
    ListEventsRequest request;
    request.set_since_idx(since);
    *request.mutable_filter() = *filter;
    request.set_limit(storage::kMaxListLimit);
    auto page = session->client().list_events(request);
    if (!page.ok()) {
      const ErrorCode code = page.error().code;
      // A coordinator restarted on its endpoint presents a new token: not the tail's to keep.
      const bool restarted = code == ErrorCode::unauthorized && session->remote();
      if (code != ErrorCode::storage_unavailable && code != ErrorCode::timeout && !restarted) {
        return ctx.fail(page.error());
      }
      // Through a coordinator: open the log again as at start, to reach the coordinator the log
      // now names (its new token read again) or the log itself when none runs.
      if (session->remote()) {
        if (auto again = ctx.session_again(/*write=*/false, /*create_log=*/false,
                                           /*one_key=*/true);
            again.ok()) {
          session = *again;  // asked after the pause below, as any retry
        }
      }
      if (retry.count() == 0) {
        std::fprintf(stderr, "bel: events tail: %s; asking again until it answers (Ctrl-C stops)\n",
                     page.error().to_string().c_str());
      }
      retry =
          std::min<std::chrono::milliseconds>(std::max(retry * 2, kPollInterval), kLongestRetry);
      if (!wait(retry)) return;
      continue;
    }
    if (retry.count() > 0) {
      std::fprintf(stderr, "bel: events tail: answered again; following from idx %lld\n",
                   static_cast<long long>(since));
      retry = std::chrono::milliseconds(0);
    }
    for (const auto& event : page->events()) {
      if (*format == Format::json) {
        std::printf("%s\n", to_json(event).c_str());
      } else {
        stream.print(event);
      }
      if (flags.count > 0 && ++printed >= flags.count) {
        std::fflush(stdout);
        return;
      }
    }
    // Output that cannot be written (a full disk) ends the tail, failed: main says why.
    if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
      ctx.exit_code = kExitFailed;
      return;
    }
    since = page->next_idx();
    if (!page->has_more() && !wait(kPollInterval)) return;
  }
}

}  // namespace

void add_events_commands(CLI::App& app, Context& ctx) {
  auto* events = app.add_subcommand("events", "List or follow the events of the log");
  events->require_subcommand(1);

  auto list_flags = std::make_shared<FilterFlags>();
  auto* list = events->add_subcommand(
      "list",
      "List events with idx > --since, ascending (or with --newest-first, idx < --before, "
      "descending). Filters of different kinds are ANDed; values of one kind are ORed; "
      "--partition and --pattern together form one criterion.");
  list->add_option("--since", list_flags->since, "Only events with idx greater than this")
      ->capture_default_str();
  list->add_flag("--newest-first", list_flags->newest_first,
                 "Newest events first (descending idx); continue with --before NEXT_IDX");
  list->add_option("--before", list_flags->before,
                   "With --newest-first: only events with idx less than this (0: from the newest)")
      ->capture_default_str();
  list->add_option("--limit", list_flags->limit, "At most this many events (1..10000)")
      ->capture_default_str();
  add_filter_flags(list, *list_flags);
  add_log_options(list, ctx);
  list->callback([&ctx, list_flags] { run_list(ctx, *list_flags); });

  auto tail_flags = std::make_shared<FilterFlags>();
  auto* tail = events->add_subcommand(
      "tail", "Follow new events as they are committed, until interrupted (or --count)");
  auto* since = tail->add_option("--since", tail_flags->since,
                                 "Start after this idx (default: the current end of the log)");
  tail->add_option("--count", tail_flags->count,
                   "Stop after printing this many events (0: follow until interrupted)");
  add_filter_flags(tail, *tail_flags);
  add_log_options(tail, ctx);
  tail->callback([&ctx, tail_flags, since] { run_tail(ctx, *tail_flags, since->count() > 0); });
}

}  // namespace bel::app
