// Payloads whose text is not UTF-8 (stored before appends refused it) read with U+FFFD in place
// of each ill-formed byte: storage/payload_text.h, and parse_event_payload over it.
#include "storage/payload_text.h"

#include <gtest/gtest.h>

#include <string>

#include "messages/types.h"
#include "storage/event_detail.h"

namespace bel::storage {
namespace {

constexpr char kMark = '~';  // a byte each test turns into one that is not UTF-8
const std::string kFffd = "\xEF\xBF\xBD";

// `text` with each kMark replaced by `with`.
std::string with_mark_as(std::string text, const std::string& with) {
  std::string out;
  for (char c : text) {
    if (c == kMark) {
      out += with;
    } else {
      out += c;
    }
  }
  return out;
}

// The serialized event with each kMark byte turned into `bad` (one byte: the wire stays intact).
std::string with_bad_byte(const BuildEvent& event, char bad) {
  std::string bytes = event.SerializeAsString();
  for (char& c : bytes) {
    if (c == kMark) c = bad;
  }
  return bytes;
}

// The event with its text's kMark read as U+FFFD: what a repaired read must give.
BuildEvent read_with_fffd(BuildEvent event) {
  if (event.has_build_cancel_event()) {
    event.mutable_build_cancel_event()->set_reason(
        with_mark_as(event.build_cancel_event().reason(), kFffd));
  }
  if (event.has_job_event()) {
    auto* job = event.mutable_job_event();
    job->set_message(with_mark_as(job->message(), kFffd));
    auto* config = job->mutable_config();
    for (auto& arg : *config->mutable_args()) arg = with_mark_as(arg, kFffd);
    google::protobuf::Map<std::string, std::string> env;
    for (const auto& [k, v] : config->env()) env[with_mark_as(k, kFffd)] = with_mark_as(v, kFffd);
    *config->mutable_env() = env;
    for (auto& ref : *job->mutable_target_partitions()) ref.set_str(with_mark_as(ref.str(), kFffd));
  }
  event.set_build_request_id(with_mark_as(event.build_request_id(), kFffd));
  return event;
}

BuildEvent text_cancel_event(const std::string& reason) {
  BuildEvent e;
  e.set_event_id("0190a0a0-0000-7000-8000-000000000001");
  e.set_timestamp(1700000000000000000);
  e.set_build_request_id("br-1");
  e.mutable_build_cancel_event()->set_reason(reason);
  return e;
}

BuildEvent text_job_event() {
  BuildEvent e;
  e.set_build_request_id("br-~2");
  auto* job = e.mutable_job_event();
  job->set_job_run_id("jr-1");
  job->mutable_job_label()->set_label("//jobs:ingest");
  job->add_target_partitions()->set_str("sales/~/2026");
  job->set_status_code(v1::JOB_RUNNING);
  job->set_message("started ~ now");
  job->mutable_config()->add_args("--day=~");
  job->mutable_config()->add_args("--fine");
  (*job->mutable_config()->mutable_env())["K~EY"] = "v~alue";
  (*job->mutable_config()->mutable_env())["OK"] = "fine";
  return e;
}

TEST(PayloadTextTest, EachByteThatIsNotUtf8ReadsAsOneReplacementCharacterAndItsFieldIsNamed) {
  for (char bad : {'\xff', '\x80', '\xc3', '\xed'}) {
    const std::string bytes = with_bad_byte(text_cancel_event("bad ~ reason"), bad);
    BuildEvent strict;
    ASSERT_FALSE(strict.ParseFromString(bytes)) << "not damaged: " << int(bad);
    std::string out, fields;
    ASSERT_TRUE(repair_payload_text(bytes, out, &fields));
    EXPECT_EQ(fields, "build_cancel_event.reason");
    BuildEvent read;
    ASSERT_TRUE(read.ParseFromString(out));
    EXPECT_EQ(read.SerializeAsString(),
              read_with_fffd(text_cancel_event("bad ~ reason")).SerializeAsString());

    BuildEvent parsed;
    std::string named = "stale";
    ASSERT_TRUE(parse_event_payload(bytes, EventDetail::full, &parsed, &named));
    EXPECT_EQ(parsed.build_cancel_event().reason(), "bad " + kFffd + " reason");
    EXPECT_EQ(parsed.event_id(), "0190a0a0-0000-7000-8000-000000000001");
    EXPECT_EQ(named, "build_cancel_event.reason");
  }
}

TEST(PayloadTextTest, AnIllFormedSequenceGivesOneReplacementPerByte) {
  // A 3-byte sequence cut after its second byte, then a stray continuation byte.
  BuildEvent e = text_cancel_event(
      "a\xe2\x82"
      "b\x80"
      "c \xe2\x82\xac");
  std::string out;
  ASSERT_TRUE(repair_payload_text(e.SerializeAsString(), out));
  BuildEvent read;
  ASSERT_TRUE(read.ParseFromString(out));
  EXPECT_EQ(read.build_cancel_event().reason(),
            "a" + kFffd + kFffd + "b" + kFffd + "c \xe2\x82\xac");  // the euro sign stays
}

TEST(PayloadTextTest, NestedMessagesRepeatedFieldsAndMapEntriesAreRepairedAndNamedOnce) {
  const BuildEvent original = text_job_event();
  const std::string bytes = with_bad_byte(original, '\xfe');
  std::string out, fields;
  ASSERT_TRUE(repair_payload_text(bytes, out, &fields));
  EXPECT_EQ(fields,
            "build_request_id, job_event.target_partitions.str, job_event.message, "
            "job_event.config.args, job_event.config.env");
  BuildEvent read;
  ASSERT_TRUE(read.ParseFromString(out));
  const BuildEvent expected = read_with_fffd(original);
  EXPECT_EQ(read.build_request_id(), expected.build_request_id());
  EXPECT_EQ(read.job_event().message(), expected.job_event().message());
  EXPECT_EQ(read.job_event().target_partitions(0).str(), "sales/" + kFffd + "/2026");
  EXPECT_EQ(read.job_event().config().args(0), "--day=" + kFffd);
  EXPECT_EQ(read.job_event().config().args(1), "--fine");
  EXPECT_EQ(read.job_event().config().env().at("K" + kFffd + "EY"), "v" + kFffd + "alue");
  EXPECT_EQ(read.job_event().config().env().at("OK"), "fine");
  EXPECT_EQ(read.job_event().job_label().label(), "//jobs:ingest");
  EXPECT_EQ(read.job_event().status_code(), v1::JOB_RUNNING);
}

TEST(PayloadTextTest, TheViewsReadRepairsWhatTheyReadAndSkipsWhatTheyLeaveOut) {
  // Damage only inside the job's config, which EventDetail::views leaves out: read without it,
  // nothing repaired; a full read repairs it.
  BuildEvent e = text_job_event();
  e.set_build_request_id("br-2");
  e.mutable_job_event()->set_message("fine");
  e.mutable_job_event()->mutable_target_partitions(0)->set_str("sales/2026");
  const std::string bytes = with_bad_byte(e, '\xff');
  BuildEvent views;
  std::string fields = "stale";
  ASSERT_TRUE(parse_event_payload(bytes, EventDetail::views, &views, &fields));
  EXPECT_EQ(fields, "");
  EXPECT_FALSE(views.job_event().has_config());
  BuildEvent full;
  ASSERT_TRUE(parse_event_payload(bytes, EventDetail::full, &full, &fields));
  EXPECT_EQ(fields, "job_event.config.args, job_event.config.env");
  EXPECT_EQ(full.job_event().config().args(0), "--day=" + kFffd);

  // Damage in a field the views read: repaired for them too.
  const std::string read_by_views = with_bad_byte(text_job_event(), '\xff');
  ASSERT_TRUE(parse_event_payload(read_by_views, EventDetail::views, &views, &fields));
  EXPECT_EQ(views.job_event().message(), "started " + kFffd + " now");
  EXPECT_FALSE(views.job_event().has_config());
  EXPECT_NE(fields.find("job_event.message"), std::string::npos) << fields;
}

TEST(PayloadTextTest, WellFormedTextAndUnknownFieldsStayAsTheyAre) {
  const BuildEvent e = text_cancel_event("all fine \xc3\xa9");
  std::string out = "untouched", fields = "stale";
  EXPECT_FALSE(repair_payload_text(e.SerializeAsString(), out, &fields));
  EXPECT_EQ(fields, "");
  BuildEvent parsed;
  ASSERT_TRUE(parse_event_payload(e.SerializeAsString(), EventDetail::full, &parsed, &fields));
  EXPECT_EQ(fields, "");
  EXPECT_EQ(parsed.SerializeAsString(), e.SerializeAsString());

  // An unknown field (number 1000, a string's wire type) after damaged text: kept, byte for byte.
  std::string bytes = with_bad_byte(text_cancel_event("x~y"), '\xff');
  const std::string unknown = std::string("\xc2\x3e\x03", 3) + "a\xffz";
  bytes += unknown;
  ASSERT_TRUE(repair_payload_text(bytes, out));
  EXPECT_EQ(out.substr(out.size() - unknown.size()), unknown);
  ASSERT_TRUE(parsed.ParseFromString(out));
  EXPECT_FALSE(parsed.GetReflection()->GetUnknownFields(parsed).empty());
}

TEST(PayloadTextTest, BytesThatAreNotAMessageStayUnreadable) {
  const std::string bytes = with_bad_byte(text_cancel_event("bad ~ reason"), '\xff');
  BuildEvent head = text_cancel_event("");
  head.clear_build_cancel_event();
  // Every cut inside the last field (the cancel event), whose length then overruns the bytes.
  for (size_t cut = head.ByteSizeLong() + 1; cut < bytes.size(); ++cut) {
    const std::string truncated = bytes.substr(0, cut);
    std::string out;
    BuildEvent parsed;
    EXPECT_FALSE(repair_payload_text(truncated, out)) << cut;
    EXPECT_FALSE(parse_event_payload(truncated, EventDetail::full, &parsed)) << cut;
  }
  std::string out;
  EXPECT_FALSE(repair_payload_text(std::string("\x8a\xff\xff\xff\xff\xff", 6), out));
}

}  // namespace
}  // namespace bel::storage
