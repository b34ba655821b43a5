#include "storage/event_detail.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

#include <cstdint>
#include <string>

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

// Appends the fields of the message `in` to `out`, but for those `skip(number, delimited)` says;
// each length-delimited field `nested` names is itself copied by `nested`. False when `in` is not
// well-formed wire format.
template <class Skip, class Nested>
bool copy_fields(std::string_view in, Skip skip, Nested nested, std::string& out) {
  google::protobuf::io::CodedInputStream stream(reinterpret_cast<const uint8_t*>(in.data()),
                                                static_cast<int>(in.size()));
  for (;;) {
    const int begin = stream.CurrentPosition();
    const uint32_t tag = stream.ReadTag();
    if (tag == 0) return stream.CurrentPosition() == static_cast<int>(in.size());
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
      if (!nested(number)(in.substr(static_cast<size_t>(body), size), inner)) return false;
      append_varint(tag, out);
      append_varint(static_cast<uint32_t>(inner.size()), out);
      out += inner;
      continue;
    }
    if (!WireFormatLite::SkipField(&stream, tag)) return false;
    if (skip(number, delimited)) continue;
    out.append(in.data() + begin, static_cast<size_t>(stream.CurrentPosition() - begin));
  }
}

using Copier = bool (*)(std::string_view, std::string&);

Copier no_nested(int) { return nullptr; }

bool copy_job_event(std::string_view in, std::string& out) {
  return copy_fields(
      in,
      [](int n, bool delimited) { return delimited && (n == kJobConfig || n == kJobManifests); },
      no_nested, out);
}

bool copy_job_graph_event(std::string_view in, std::string& out) {
  return copy_fields(
      in, [](int n, bool delimited) { return delimited && n == kJobGraph; }, no_nested, out);
}

// The copier of BuildEvent field `number`'s message, nullptr when it is copied as it is.
Copier event_type_copier(int number) {
  return number == kJobEvent        ? copy_job_event
         : number == kJobGraphEvent ? copy_job_graph_event
                                    : nullptr;
}

// The payload without what EventDetail::views leaves out, into `out`; false when it is not
// well-formed.
bool views_payload(std::string_view in, std::string& out) {
  out.clear();
  return copy_fields(
      in, [](int n, bool delimited) { return delimited && n == kEventId; }, event_type_copier, out);
}

}  // namespace

bool copy_fields_outside(std::string_view in, int first, int last, std::string& out) {
  return copy_fields(
      in, [&](int n, bool) { return n >= first && n <= last; }, no_nested, out);
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

bool parse_event_payload(std::string_view bytes, EventDetail detail, BuildEvent* event) {
  if (detail == EventDetail::views) {
    thread_local std::string scratch;
    if (views_payload(bytes, scratch)) {
      return event->ParseFromArray(scratch.data(), static_cast<int>(scratch.size()));
    }
    // Not well-formed: the full parse fails the same way, or, if protobuf reads what the walk
    // could not, gives the event, whose left-out fields are then cleared.
    if (!event->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return false;
    drop_detail(detail, event);
    return true;
  }
  return event->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
}

}  // namespace bel::storage
