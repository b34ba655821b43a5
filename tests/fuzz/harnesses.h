// The fuzz harnesses of SPEC section 9, R2: one entry point per input surface. Each takes raw
// bytes, feeds them to bel's decoding and validation, and aborts (a libFuzzer finding) when bel
// crashes, answers bad input with anything but its SPEC section 7 code, or breaks an invariant
// stated below. The libFuzzer binaries (bel_fuzz_<name>, clang's -DBEL_SANITIZE=ON build) and the
// corpus replay test of every build (tests/fuzz/corpus/<name>/*) call the same functions.
//
//   int rc = bel::fuzz::json_events(data, size);   // always 0; aborts on a finding
//
// Not thread-safe: command_line uses the process's stdout, stderr and a shared memory:// log.
#ifndef BEL_TESTS_FUZZ_HARNESSES_H_
#define BEL_TESTS_FUZZ_HARNESSES_H_

#include <cstddef>
#include <cstdint>

namespace bel::fuzz {

// JSON lines: each decoded as a BuildEvent (from_json); a decoded event re-encodes and decodes
// to itself, then passes check_structure and the strict and lenient transition rules, all
// lines against one state (so sequences of transitions are explored).
int json_events(const uint8_t* data, size_t size);

// Protobuf bytes: decoded as a batch (EventPage, the repeated BuildEvent of an append) and as one
// BuildEvent; every decoded event is validated as in json_events.
int proto_events(const uint8_t* data, size_t size);

// First byte picks the surface. Globs: "PATTERN\nTEXT": check_glob, then glob_match agrees with
// the literal prefix. Filters: protobuf or JSON bytes of an EventFilter: check_filter, then
// event_matches and describe_filter on fixed events.
int filter_glob(const uint8_t* data, size_t size);

// Lines of text are one argv of `bel`, run by run_command_line on a memory:// log. Only the
// read and admin commands that touch nothing outside the process run; any other is skipped.
int command_line(const uint8_t* data, size_t size);

// Stored snapshot bytes, damaged any way: the first byte picks a view and a window. The codec
// fails only with storage_corrupt, its whole decode and its stream agree, and what decodes
// encodes and decodes to itself; then the view is restored from the data (or the bytes when they
// do not decode): storage_corrupt, or a view whose snapshot restores to the same snapshot and
// which answers its questions or says not_found.
int snapshots(const uint8_t* data, size_t size);

// Aborts with `what` when `ok` is false: a finding.
void require(bool ok, const char* what);

}  // namespace bel::fuzz

#endif  // BEL_TESTS_FUZZ_HARNESSES_H_
