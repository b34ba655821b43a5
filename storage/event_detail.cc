#include "storage/event_detail.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

#include <cstdint>
#include <string>

#include "storage/payload_text.h"

namespace bel::storage {
namespace {

using google::protobuf::internal::WireFormatLite;

// Field numbers (messages/bel.proto) of what EventDetail::views leaves out.
constexpr int kEventId = 1;         // BuildEvent.event_id
constexpr int kJobEvent = 12;       // BuildEvent.job_event
constexpr int kJobGraphEvent = 14;  // BuildEvent.job_graph_event
constexpr int kJobConfig = 7;       // JobEvent.config
constexpr int kJobManifests = 8;    // JobEvent.manifests
constexpr int kJobGraph = 1;        // JobGraphEvent.job_graph

void append_varint(uint32_t v, std::string& out) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

// Copies the message `in` without the fields `skip(number, delimited)` says, each
// length-delimited field `nested` names being itself copied by `nested`: appended to `out`, with
// `*changed` set, when that leaves anything out; otherwise `out` is left alone and `*changed` is
// false (`in` is the copy). Runs of fields that stay are appended at once. False when `in` is not
// well-formed wire format.
template <class Skip, class Nested>
bool copy_fields(std::string_view in, Skip skip, Nested nested, std::string& out, bool* changed) {
  google::protobuf::io::CodedInputStream stream(reinterpret_cast<const uint8_t*>(in.data()),
                                                static_cast<int>(in.size()));
  *changed = false;
  int run = 0;                 // where the fields not yet appended begin
  auto cut = [&](int begin) {  // appends the run before `begin`
    if (!*changed) *changed = true;
    out.append(in.data() + run, static_cast<size_t>(begin - run));
  };
  for (;;) {
    const int begin = stream.CurrentPosition();
    const uint32_t tag = stream.ReadTag();
    if (tag == 0) {
      if (stream.CurrentPosition() != static_cast<int>(in.size())) return false;
      if (*changed) out.append(in.data() + run, in.size() - static_cast<size_t>(run));
      return true;
    }
    const int number = WireFormatLite::GetTagFieldNumber(tag);
    const bool delimited =
        WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_LENGTH_DELIMITED;
    if (delimited && nested(number) != nullptr) {
      uint32_t size = 0;
      if (!stream.ReadVarint32(&size)) return false;
      const int body = stream.CurrentPosition();
      if (!stream.Skip(static_cast<int>(size))) return false;
      thread_local std::string inner;  // one level of nesting: reused, never shared
      inner.clear();
      bool inner_changed = false;
      if (!nested(number)(in.substr(static_cast<size_t>(body), size), inner, &inner_changed)) {
        return false;
      }
      if (!inner_changed) continue;  // the field stays as it is, in the run
      cut(begin);
      append_varint(tag, out);
      append_varint(static_cast<uint32_t>(inner.size()), out);
      out += inner;
      run = stream.CurrentPosition();
      continue;
    }
    if (!WireFormatLite::SkipField(&stream, tag)) return false;
    if (!skip(number, delimited)) continue;
    cut(begin);
    run = stream.CurrentPosition();
  }
}

using Copier = bool (*)(std::string_view, std::string&, bool*);

Copier no_nested(int) { return nullptr; }

bool copy_job_event(std::string_view in, std::string& out, bool* changed) {
  return copy_fields(
      in,
      [](int n, bool delimited) { return delimited && (n == kJobConfig || n == kJobManifests); },
      no_nested, out, changed);
}

bool copy_job_graph_event(std::string_view in, std::string& out, bool* changed) {
  return copy_fields(
      in, [](int n, bool delimited) { return delimited && n == kJobGraph; }, no_nested, out,
      changed);
}

// The copier of BuildEvent field `number`'s message, nullptr when it is copied as it is.
Copier event_type_copier(int number) {
  return number == kJobEvent        ? copy_job_event
         : number == kJobGraphEvent ? copy_job_graph_event
                                    : nullptr;
}

// The payload without what EventDetail::views leaves out: into `out` with `*changed` set, or, when
// it has nothing to leave out, `out` empty and `*changed` false. False when it is not
// well-formed.
bool views_payload(std::string_view in, std::string& out, bool* changed) {
  out.clear();
  return copy_fields(
      in, [](int n, bool delimited) { return delimited && n == kEventId; }, event_type_copier, out,
      changed);
}

}  // namespace

bool copy_fields_outside(std::string_view in, int first, int last, std::string& out) {
  bool changed = false;
  if (!copy_fields(
          in, [&](int n, bool) { return n >= first && n <= last; }, no_nested, out, &changed)) {
    return false;
  }
  if (!changed) out.append(in.data(), in.size());
  return true;
}

bool serialize_event_body(const BuildEvent& event, std::string& out) {
  constexpr int kLastColumnField = 4;  // BuildEvent.idx; event_id, timestamp, build_request_id
  out.clear();
  if (!event.SerializeToString(&out)) return false;
  if (!BuildEvent::GetReflection()->GetUnknownFields(event).empty()) {
    // Unknown fields come last and may carry any number: the whole walk.
    const std::string whole = std::move(out);
    out.clear();
    return copy_fields_outside(whole, 1, kLastColumnField, out);
  }
  // Known fields serialize in field-number order, so fields 1..4 lead: drop that prefix.
  google::protobuf::io::CodedInputStream stream(reinterpret_cast<const uint8_t*>(out.data()),
                                                static_cast<int>(out.size()));
  int prefix = 0;
  for (uint32_t tag; (tag = stream.ReadTag()) != 0;) {
    if (WireFormatLite::GetTagFieldNumber(tag) > kLastColumnField) break;
    if (!WireFormatLite::SkipField(&stream, tag)) return false;
    prefix = stream.CurrentPosition();
  }
  out.erase(0, static_cast<size_t>(prefix));
  return true;
}

void drop_detail(EventDetail detail, BuildEvent* event) {
  if (detail == EventDetail::full) return;
  event->clear_event_id();
  if (event->has_job_event()) {
    event->mutable_job_event()->clear_config();
    event->mutable_job_event()->clear_manifests();
  } else if (event->has_job_graph_event()) {
    event->mutable_job_graph_event()->clear_job_graph();
  }
}

EventDetail parse_detail(EventDetail wanted, const EventFilter& filter) {
  if (!filter.partition_refs().empty() || !filter.partition_patterns().empty()) {
    return EventDetail::full;
  }
  return wanted;
}

namespace {

bool parse_as_stored(std::string_view bytes, EventDetail detail, BuildEvent* event) {
  if (detail == EventDetail::views) {
    thread_local std::string scratch;
    bool changed = false;
    if (views_payload(bytes, scratch, &changed)) {
      const std::string_view cut = changed ? std::string_view(scratch) : bytes;
      return event->ParseFromArray(cut.data(), static_cast<int>(cut.size()));
    }
    // Not well-formed: the full parse fails the same way, or, if protobuf reads what the walk
    // could not, gives the event, whose left-out fields are then cleared.
    if (!event->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return false;
    drop_detail(detail, event);
    return true;
  }
  return event->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
}

}  // namespace

bool parse_event_payload(std::string_view bytes, EventDetail detail, BuildEvent* event,
                         std::string* repaired_fields) {
  if (repaired_fields != nullptr) repaired_fields->clear();
  if (parse_as_stored(bytes, detail, event)) return true;
  // Text stored before appends refused what is not UTF-8 (payload_text.h): read with U+FFFD.
  std::string repaired;
  if (!repair_payload_text(bytes, repaired, repaired_fields)) return false;
  return parse_as_stored(repaired, detail, event);
}

}  // namespace bel::storage
