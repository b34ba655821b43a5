#include "projections/snapshot_reader.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

#include <climits>

namespace bel::projections {

using google::protobuf::FieldDescriptor;
using google::protobuf::internal::WireFormatLite;
using google::protobuf::io::CodedInputStream;

bool walk_snapshot_fields(const std::string& bytes,
                          const std::function<bool(const SnapshotField&)>& visit) {
  if (bytes.size() > static_cast<size_t>(INT_MAX)) return false;
  CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                      static_cast<int>(bytes.size()));
  in.SetTotalBytesLimit(INT_MAX);
  while (true) {
    SnapshotField f;
    f.begin = static_cast<size_t>(in.CurrentPosition());
    const uint32_t tag = in.ReadTag();
    if (tag == 0) return f.begin == bytes.size();  // the end, or a malformed tag
    f.number = static_cast<int>(WireFormatLite::GetTagFieldNumber(tag));
    f.wire_type = static_cast<int>(WireFormatLite::GetTagWireType(tag));
    if (f.wire_type == WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      uint32_t size = 0;
      if (!in.ReadVarint32(&size) || size > static_cast<uint32_t>(INT_MAX)) return false;
      const int start = in.CurrentPosition();
      if (!in.Skip(static_cast<int>(size))) return false;
      f.payload = bytes.data() + start;
      f.payload_size = static_cast<int>(size);
    } else if (!WireFormatLite::SkipField(&in, tag)) {
      return false;
    }
    f.end = static_cast<size_t>(in.CurrentPosition());
    if (!visit(f)) return true;
  }
}

bool snapshot_header_bytes(const std::string& bytes, const google::protobuf::Descriptor* descriptor,
                           std::string* out) {
  out->clear();
  return walk_snapshot_fields(bytes, [&](const SnapshotField& f) {
    const FieldDescriptor* field = descriptor->FindFieldByNumber(f.number);
    const bool entries = field != nullptr && field->is_repeated() &&
                         field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE;
    if (!entries) out->append(bytes, f.begin, f.end - f.begin);
    return true;
  });
}

size_t count_snapshot_entries(const std::string& bytes, int number) {
  size_t n = 0;
  walk_snapshot_fields(bytes, [&](const SnapshotField& f) {
    if (f.number == number) ++n;
    return true;
  });
  return n;
}

void SnapshotWriter::add(int number, const google::protobuf::MessageLite& entry) {
  using google::protobuf::io::CodedOutputStream;
  const size_t size = entry.ByteSizeLong();
  uint8_t prefix[16];
  uint8_t* end = CodedOutputStream::WriteTagToArray(
      WireFormatLite::MakeTag(number, WireFormatLite::WIRETYPE_LENGTH_DELIMITED), prefix);
  end = CodedOutputStream::WriteVarint32ToArray(static_cast<uint32_t>(size), end);
  out_.append(reinterpret_cast<const char*>(prefix), static_cast<size_t>(end - prefix));
  entry.AppendPartialToString(&out_);
}

}  // namespace bel::projections
