#include "projections/snapshot_reader.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/wire_format_lite.h>

#include <algorithm>
#include <climits>
#include <cstring>

namespace bel::projections {

using google::protobuf::FieldDescriptor;
using google::protobuf::internal::WireFormatLite;
using google::protobuf::io::CodedInputStream;
using google::protobuf::io::CodedOutputStream;
using google::protobuf::io::StringOutputStream;

namespace {

bool is_entry_field(const google::protobuf::Descriptor* descriptor, int number) {
  const FieldDescriptor* field = descriptor->FindFieldByNumber(number);
  return field != nullptr && field->is_repeated() &&
         field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE;
}

}  // namespace

SnapshotInput::SnapshotInput(const std::string& bytes) : bytes_(&bytes), size_(bytes.size()) {
  // Bytes past INT_MAX cannot be read by one CodedInputStream: they end the read as damage.
  const int readable = static_cast<int>(std::min<size_t>(bytes.size(), INT_MAX));
  array_ = std::make_unique<google::protobuf::io::ArrayInputStream>(bytes.data(), readable);
  check_ = [&bytes](bool at_end) {
    if (at_end && bytes.size() > static_cast<size_t>(INT_MAX)) {
      return Status(make_error(ErrorCode::storage_corrupt, "snapshot larger than 2 GiB"));
    }
    return ok_status();
  };
  in_ = std::make_unique<CodedInputStream>(array_.get());
  in_->SetTotalBytesLimit(INT_MAX);
}

SnapshotInput::SnapshotInput(google::protobuf::io::ZeroCopyInputStream* stream, uint64_t size,
                             std::function<Status(bool at_end)> check)
    : size_(size), check_(std::move(check)), in_(std::make_unique<CodedInputStream>(stream)) {
  in_->SetTotalBytesLimit(INT_MAX);
}

SnapshotInput::~SnapshotInput() = default;

bool SnapshotInput::at_end() {
  // ReadTag() returns 0 at the end and for a zero byte (no field has number 0): the end only when
  // nothing is left to read.
  const void* data = nullptr;
  int size = 0;
  return !in_->GetDirectBufferPointer(&data, &size);
}

Error SnapshotInput::damage() const {
  if (auto stream = check_(false); !stream.ok()) {
    return snapshot_error(name_, stream.error().message);
  }
  return snapshot_error(name_, "bytes do not parse");
}

bool SnapshotInput::read_header_bytes(const google::protobuf::Descriptor* descriptor,
                                      std::string* out) {
  out->clear();
  StringOutputStream sink(out);
  CodedOutputStream copy(&sink);
  while (true) {
    const uint32_t tag = in_->ReadTag();
    if (tag == 0) {
      if (!at_end()) return false;
      tag_ = 0;
      tag_pending_ = true;  // no entries: next_entry() finds the end
      return true;
    }
    if (is_entry_field(descriptor, static_cast<int>(WireFormatLite::GetTagFieldNumber(tag)))) {
      tag_ = tag;
      tag_pending_ = true;
      return true;
    }
    if (!WireFormatLite::SkipField(in_.get(), tag, &copy)) return false;
  }
}

size_t SnapshotInput::entries_hint(int64_t declared, int number) const {
  size_t n = 0;
  if (declared > 0) {
    n = static_cast<size_t>(declared);
  } else if (bytes_ != nullptr) {
    n = count_snapshot_entries(*bytes_, number);
  }
  // A count is read before the stream's checksum is: damage can make it any number. No entry of a
  // view's snapshot is under 8 bytes, so more cannot be true (and a wrong hint only sizes tables).
  return std::min<uint64_t>(n, size_ / 8);
}

Result<int> SnapshotInput::next_entry() {
  if (tag_pending_) {
    tag_pending_ = false;
  } else {
    tag_ = in_->ReadTag();
  }
  if (tag_ == 0) {
    if (!at_end()) return damage();
    if (auto whole = check_(true); !whole.ok()) return snapshot_error(name_, whole.error().message);
    return 0;
  }
  return static_cast<int>(WireFormatLite::GetTagFieldNumber(tag_));
}

Status SnapshotInput::parse_entry(google::protobuf::MessageLite* entry) {
  uint32_t size = 0;
  if (WireFormatLite::GetTagWireType(tag_) != WireFormatLite::WIRETYPE_LENGTH_DELIMITED ||
      !in_->ReadVarint32(&size) || size > static_cast<uint32_t>(INT_MAX)) {
    return damage();
  }
  const auto limit = in_->PushLimit(static_cast<int>(size));
  const bool parsed = entry->ParseFromCodedStream(in_.get()) && in_->BytesUntilLimit() == 0;
  in_->PopLimit(limit);
  if (!parsed) return damage();
  return ok_status();
}

Status SnapshotInput::skip_entry() {
  if (!WireFormatLite::SkipField(in_.get(), tag_)) return damage();
  return ok_status();
}

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
  // The size once: serializing with it cached (AppendPartialToString would compute it again).
  const size_t size = entry.ByteSizeLong();
  uint8_t prefix[16];
  uint8_t* end = CodedOutputStream::WriteTagToArray(
      WireFormatLite::MakeTag(number, WireFormatLite::WIRETYPE_LENGTH_DELIMITED), prefix);
  end = CodedOutputStream::WriteVarint32ToArray(static_cast<uint32_t>(size), end);
  const size_t prefix_size = static_cast<size_t>(end - prefix);
  const size_t at = out_.size();
  const size_t total = at + prefix_size + size;
  // Grown by doubling, as resize would, so that the pages ahead are mapped in the buffer kept.
  if (total > out_.capacity()) out_.reserve(std::max(total, 2 * out_.capacity()));
  pages_.before_write(out_.data(), at, out_.capacity(), total);
  out_.resize(total);
  std::memcpy(&out_[at], prefix, prefix_size);
  entry.SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(&out_[at + prefix_size]));
  if (chunks_ && out_.size() >= kChunk) flush();
}

}  // namespace bel::projections
