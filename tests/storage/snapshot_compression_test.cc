// Snapshot data at rest (storage/snapshot_codec.h): the codec on its own, then the SQLite file
// behind the storage's back, to see that what lands on disk is compressed and that logs written
// before compression still load. (The round trip through every backend is in the conformance
// suite.)
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "storage/snapshot_codec.h"
#include "storage/snapshot_stream.h"
#include "storage/storage.h"
#include "storage/storage_factory.h"
#include "tests/support/events.h"
#include "tests/support/run_command.h"

namespace bel::storage {
namespace {

const std::string kMagic("\0belZ", 5);      // a zstd frame follows: what bel writes
const std::string kZlibMagic("\0belz", 5);  // a zlib stream follows: what bel wrote before

// Bytes like a view state's: the same refs, ids and labels over and over, with a counter.
std::string repetitive(size_t at_least) {
  std::string out;
  for (int i = 0; out.size() < at_least; ++i) {
    out += "\x0a\x22partition/data/daily/2024-01-" + std::to_string(i % 31) +
           "\022\020build-request-" + std::to_string(i % 97) + "\x1a\x0b//jobs:etl_" +
           std::to_string(i % 13) + '\0';
  }
  return out;
}

std::string random_bytes(size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::string out(n, '\0');
  for (char& c : out) c = static_cast<char>(gen() & 0xff);
  return out;
}

std::string decoded_ok(const std::string& stored) {
  auto data = decode_snapshot_data(stored);
  EXPECT_TRUE(data.ok()) << data.error().to_string();
  return data.ok() ? *data : std::string();
}

std::string unhex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  }
  return out;
}

std::string encoded_ok(const std::string& data) {
  auto stored = encode_snapshot_data(data);
  EXPECT_TRUE(stored.ok()) << stored.error().to_string();
  return stored.ok() ? *stored : std::string();
}

// `data` through a SnapshotEncoder, handed over `chunk` bytes at a time.
std::string streamed_ok(const std::string& data, size_t chunk) {
  SnapshotEncoder encoder;
  for (size_t at = 0; at < data.size(); at += chunk) {
    encoder.add(std::string_view(data).substr(at, chunk));
  }
  EXPECT_EQ(encoder.plain_bytes(), data.size());
  auto stored = encoder.finish();
  EXPECT_TRUE(stored.ok()) << stored.error().to_string();
  return stored.ok() ? *stored : std::string();
}

// `data` as bel stored it before zstd: the zlib magic, the length, and a zlib stream (made here
// by zlib itself, at the level bel used then).
std::string zlib_blob(const std::string& data) {
  uLongf bound = compressBound(data.size());
  std::string stream(bound, '\0');
  EXPECT_EQ(compress2(reinterpret_cast<Bytef*>(stream.data()), &bound,
                      reinterpret_cast<const Bytef*>(data.data()), data.size(), 3),
            Z_OK);
  stream.resize(bound);
  std::string blob = kZlibMagic;
  for (int i = 0; i < 8; ++i) blob += static_cast<char>((data.size() >> (8 * i)) & 0xff);
  return blob + stream;
}

Error decode_error(const std::string& stored) {
  auto data = decode_snapshot_data(stored);
  EXPECT_FALSE(data.ok()) << "decoded " << data->size() << " bytes";
  return data.ok() ? Error{} : data.error();
}

// ---- the codec ---------------------------------------------------------------------------------

TEST(SnapshotCodecTest, RepetitiveDataShrinksBehindTheMagicAndComesBackByteForByte) {
  const std::string data = repetitive(1 << 20);
  const std::string stored = encoded_ok(data);
  EXPECT_EQ(stored.substr(0, 5), kMagic);
  EXPECT_LT(stored.size() * 4, data.size()) << stored.size() << " of " << data.size();
  EXPECT_EQ(decoded_ok(stored), data);
}

TEST(SnapshotCodecTest, DataThatWouldNotShrinkIsStoredAsItIs) {
  for (const std::string& data :
       {std::string(), std::string("v2"), std::string("a\0b\xff", 4), random_bytes(4096, 7)}) {
    EXPECT_EQ(encoded_ok(data), data) << data.size() << " bytes";
    EXPECT_EQ(decoded_ok(data), data);
  }
}

TEST(SnapshotCodecTest, DataWithoutTheMagicLoadsAsItIs) {
  // What logs written before compression hold: protobuf messages and the checkpoint's "belTS".
  for (const std::string& old :
       {std::string("\010\226\001\022\003abc"), repetitive(100000),
        std::string("belTS\x01") + repetitive(1000), std::string("\0bel", 4)}) {
    EXPECT_EQ(decoded_ok(old), old) << old.size() << " bytes";
  }
}

TEST(SnapshotCodecTest, DataStartingWithTheMagicIsAlwaysEncoded) {
  for (const std::string& data : {kMagic, kMagic + "x", kMagic + random_bytes(100, 3), kZlibMagic,
                                  kZlibMagic + random_bytes(100, 4)}) {
    const std::string stored = encoded_ok(data);
    EXPECT_NE(stored, data);
    EXPECT_EQ(decoded_ok(stored), data) << data.size() << " bytes";
  }
}

// Blobs written before bel moved to zstd hold zlib streams (from zlib's compress2, then from
// libdeflate): they load as they are. This one was made by zlib from the text below and is kept
// here as bytes.
TEST(SnapshotCodecTest, ABlobWrittenByZlibLoads) {
  std::string text;
  for (int i = 0; i < 40; ++i) text += "bel snapshot written by zlib ";
  const std::string zlib_stream = unhex(
      "785e4b4acd5128ce4b2c28cec82f51282fca2c2949cd5348aa54a8cac94c52481a951c0d84d194309a1d685f2600"
      "00ddc7b270");
  std::string blob("\0belz", 5);
  for (int i = 0; i < 8; ++i) blob += static_cast<char>((text.size() >> (8 * i)) & 0xff);
  blob += zlib_stream;
  EXPECT_EQ(decoded_ok(blob), text);
}

struct DamagedBlob {
  std::string name;
  std::string blob;
  const char* says;  // in the error's message
};

TEST(SnapshotCodecTest, LargerZlibBlobsOfEarlierVersionsLoad) {
  for (const std::string& data : {repetitive(300000), random_bytes(5000, 9), std::string("x")}) {
    EXPECT_EQ(decoded_ok(zlib_blob(data)), data) << data.size() << " bytes";
  }
}

// How a blob was made: encode_snapshot_data's zstd frame with its content size, SnapshotEncoder's
// without it (compressed as the data was made), or zlib's stream of earlier versions.
enum class Made { zstd, streamed, zlib };

// Damaged encodings of repetitive(100000), each with what its error says: as bel writes it now
// (zstd, whole or streamed) or wrote it before (zlib).
std::vector<DamagedBlob> damaged_blobs(Made made) {
  const bool zlib = made == Made::zlib;
  const std::string data = repetitive(100000);
  const std::string stored = zlib                 ? zlib_blob(data)
                             : made == Made::zstd ? encoded_ok(data)
                                                  : streamed_ok(data, 1000);
  EXPECT_GT(stored.size(), 40u);
  std::string flipped = stored;
  flipped[stored.size() / 2] ^= 0x5a;
  // `stored` with `size` in its header's length field (8 bytes, little endian).
  auto with_length = [&](uint64_t size) {
    std::string out = stored;
    for (int i = 0; i < 8; ++i) out[5 + i] = static_cast<char>((size >> (8 * i)) & 0xff);
    return out;
  };
  EXPECT_EQ(with_length(data.size()), stored);
  return {
      {"header cut short", stored.substr(0, 9), "cut short"},
      {"stream cut short", stored.substr(0, stored.size() - 10), "does not"},
      {"a byte flipped", flipped, "compressed data "},
      {"length one too many", with_length(data.size() + 1),
       zlib ? "inflates to" : "decompresses to"},
      {"length one too few", with_length(data.size() - 1),
       made == Made::zstd ? "decompresses to" : "does not end within"},
      {"absurd length", with_length(uint64_t{1} << 62), "claims"},
      {"bytes after the stream", stored + "xyz",
       zlib ? "after its zlib stream" : "after its zstd frame"},
  };
}

std::vector<DamagedBlob> damaged_blobs() {
  std::vector<DamagedBlob> out = damaged_blobs(Made::zstd);
  for (auto [made, name] : {std::pair{Made::streamed, "streamed, "}, {Made::zlib, "zlib, "}}) {
    for (auto& c : damaged_blobs(made)) {
      c.name = name + c.name;
      out.push_back(c);
    }
  }
  return out;
}

TEST(SnapshotCodecTest, DamagedBlobsAreStorageCorrupt) {
  for (const auto& c : damaged_blobs()) {
    Error error = decode_error(c.blob);
    EXPECT_EQ(error.code, ErrorCode::storage_corrupt) << c.name;
    EXPECT_NE(error.message.find(c.says), std::string::npos) << c.name << ": " << error.message;
  }
}

// ---- the codec read as a stream (snapshot_stream.h)
// ----------------------------------------------

// Everything `stream` yields, read block by block; each block is first handed back in part
// (BackUp) and read again, as protobuf's readers do.
std::string read_all(SnapshotDataStream& stream) {
  std::string out;
  const void* data = nullptr;
  int size = 0;
  bool backed = false;
  while (stream.Next(&data, &size)) {
    if (!backed && size > 1) {
      stream.BackUp(size / 2);
      out.append(static_cast<const char*>(data), static_cast<size_t>(size - size / 2));
      backed = true;
      continue;
    }
    backed = false;
    out.append(static_cast<const char*>(data), static_cast<size_t>(size));
  }
  return out;
}

TEST(SnapshotStreamTest, YieldsWhatDecodeReturnsAtAnyWindow) {
  for (const std::string& data :
       {repetitive(300000), random_bytes(5000, 9), std::string(), kMagic + random_bytes(100, 3)}) {
    for (const std::string& stored : {encoded_ok(data), zlib_blob(data)}) {
      for (size_t window : {size_t{1}, size_t{7}, size_t{4096}, SnapshotDataStream::kWindow}) {
        SnapshotDataStream stream(stored, true, window);
        EXPECT_EQ(read_all(stream), data) << data.size() << " bytes, window " << window;
        EXPECT_EQ(stream.ByteCount(), static_cast<int64_t>(data.size()));
        EXPECT_EQ(stream.size(), data.size());
        EXPECT_TRUE(stream.finish().ok()) << stream.finish().error().to_string();
      }
    }
  }
}

TEST(SnapshotStreamTest, PlainDataIsReadAsItIsEvenWithTheMagic) {
  const std::string data = kMagic + "not really compressed";
  SnapshotDataStream stream(data, /*encoded=*/false, 4);
  EXPECT_EQ(read_all(stream), data);
  EXPECT_TRUE(stream.finish().ok());
}

TEST(SnapshotStreamTest, SkipPassesOverInflatedBytes) {
  const std::string data = repetitive(200000);
  const std::string stored = encoded_ok(data);  // the stream reads it in place
  SnapshotDataStream stream(stored, true, 1000);
  ASSERT_TRUE(stream.Skip(123456));
  EXPECT_EQ(stream.ByteCount(), 123456);
  EXPECT_EQ(read_all(stream), data.substr(123456));
  EXPECT_TRUE(stream.finish().ok());
  EXPECT_FALSE(stream.Skip(1));  // past the end
}

TEST(SnapshotStreamTest, DamageEndsTheStreamAndFinishSaysWhy) {
  for (const auto& c : damaged_blobs()) {
    SnapshotDataStream stream(c.blob, true, 4096);
    read_all(stream);
    const Status done = stream.finish();
    ASSERT_FALSE(done.ok()) << c.name;
    EXPECT_EQ(done.error().code, ErrorCode::storage_corrupt) << c.name;
    EXPECT_NE(done.error().message.find(c.says), std::string::npos)
        << c.name << ": " << done.error().message;
    EXPECT_FALSE(stream.damage().ok()) << c.name;
  }
}

#ifdef __linux__
// Handed a blob it may release, the stream gives back the pages it has read: they read as zeros
// afterwards (compressed bytes rarely hold long runs of them), and what it yields is unchanged.
TEST(SnapshotStreamTest, ReleasedBytesAreGivenBackAsTheyAreRead) {
  std::mt19937 gen(11);
  std::string data(12 << 20, '\0');
  for (char& c : data) c = static_cast<char>('a' + gen() % 16);  // compresses about 2:1
  for (const std::string& encoded : {encoded_ok(data), zlib_blob(data)}) {
    ASSERT_GT(encoded.size(), 3 * SnapshotDataStream::kReleaseStep);
    std::string stored = encoded;  // the stream's to release
    SnapshotDataStream stream(stored, true);
    stream.release_read_bytes();
    EXPECT_EQ(read_all(stream), data);
    EXPECT_TRUE(stream.finish().ok());
    const size_t zeros = std::count(stored.begin(), stored.end(), '\0');
    EXPECT_GT(zeros, 2 * SnapshotDataStream::kReleaseStep) << zeros << " of " << stored.size();
    EXPECT_LT(std::count(encoded.begin(), encoded.end(), '\0'), 64 * 1024);
  }
}
#endif

TEST(SnapshotStreamTest, FinishBeforeTheEndIsAnError) {
  const std::string data = repetitive(100000);
  for (const std::string& stored : {encoded_ok(data), data}) {
    SnapshotDataStream stream(stored, true, 4096);
    const void* block = nullptr;
    int size = 0;
    ASSERT_TRUE(stream.Next(&block, &size));
    stream.BackUp(size / 2);            // plain data comes in one block: leave some unread
    EXPECT_TRUE(stream.damage().ok());  // nothing wrong so far
    const Status done = stream.finish();
    ASSERT_FALSE(done.ok());
    EXPECT_NE(done.error().message.find("not read to its end"), std::string::npos)
        << done.error().message;
  }
}

// ---- compressed as it is made (SnapshotEncoder) ----------------------------------------------

// A snapshot compressed as it is made, in chunks of any size, is one blob that decodes to the
// same bytes, with the plain size in its header; it is always compressed, even when that does not
// pay (the encoder never holds the plain bytes to fall back to).
TEST(SnapshotEncoderTest, ChunksOfAnySizeGiveOneBlobThatDecodesByteForByte) {
  for (const std::string& data : {repetitive(700000), random_bytes(5000, 9), std::string(),
                                  std::string("v2"), kMagic + random_bytes(100, 3)}) {
    for (size_t chunk : {size_t{1}, size_t{7}, size_t{4096}, size_t{1} << 20}) {
      if (chunk == 1 && data.size() > 10000) continue;  // a million calls prove nothing more
      const std::string stored = streamed_ok(data, chunk);
      EXPECT_EQ(stored.substr(0, 5), kMagic) << data.size() << " bytes, chunks of " << chunk;
      EXPECT_EQ(header_plain_size(stored), data.size());
      EXPECT_EQ(decoded_ok(stored), data) << data.size() << " bytes, chunks of " << chunk;
      SnapshotDataStream stream(stored, true, 4096);
      EXPECT_EQ(read_all(stream), data);
      EXPECT_TRUE(stream.finish().ok()) << stream.finish().error().to_string();
    }
  }
  const std::string data = repetitive(1 << 20);
  const std::string stored = streamed_ok(data, 128 << 10);
  EXPECT_LT(stored.size() * 4, data.size()) << stored.size() << " of " << data.size();
}

// Each encoder writes a frame of its own, on the thread's one compression context: one dropped
// half way leaves nothing behind for the next, and two in turn do not mix.
TEST(SnapshotEncoderTest, AnEncoderDroppedHalfWayLeavesTheNextOneWhole) {
  const std::string first = repetitive(300000);
  const std::string second = random_bytes(200000, 5) + repetitive(50000);
  {
    SnapshotEncoder dropped;
    dropped.add(std::string_view(first).substr(0, 150000));
  }
  EXPECT_EQ(decoded_ok(streamed_ok(second, 65536)), second);
  EXPECT_EQ(decoded_ok(streamed_ok(first, 65536)), first);
  EXPECT_EQ(decoded_ok(encoded_ok(second)), second);
}

// ---- the SQLite file ---------------------------------------------------------------------------

class SqliteSnapshotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = tmp_.path() + "/bel.db";
    uri_ = "sqlite://" + path_;
    auto log = open_storage(uri_, {});
    ASSERT_TRUE(log.ok()) << log.error().to_string();
    log_ = std::move(*log);
  }

  void TearDown() override {
    if (raw_ != nullptr) sqlite3_close(raw_);
  }

  // A plain connection beside the storage's own.
  sqlite3* raw() {
    if (raw_ == nullptr) {
      EXPECT_EQ(sqlite3_open(path_.c_str(), &raw_), SQLITE_OK);
    }
    return raw_;
  }

  // Runs `sql` with `blob` bound to its one parameter (if it has one).
  void exec(const std::string& sql, const std::string& blob = "") {
    sqlite3_stmt* stmt = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(raw(), sql.c_str(), -1, &stmt, nullptr), SQLITE_OK)
        << sql << ": " << sqlite3_errmsg(raw());
    if (sqlite3_bind_parameter_count(stmt) > 0) {
      sqlite3_bind_blob(stmt, 1, blob.data(), static_cast<int>(blob.size()), SQLITE_TRANSIENT);
    }
    EXPECT_EQ(sqlite3_step(stmt), SQLITE_DONE) << sql << ": " << sqlite3_errmsg(raw());
    sqlite3_finalize(stmt);
  }

  // The stored bytes of snapshot (view, version), as SQLite holds them.
  std::string stored(const std::string& view, int version) {
    sqlite3_stmt* stmt = nullptr;
    const char* sql = "SELECT data FROM snapshots WHERE view = ? AND version = ?";
    EXPECT_EQ(sqlite3_prepare_v2(raw(), sql, -1, &stmt, nullptr), SQLITE_OK);
    sqlite3_bind_text(stmt, 1, view.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(stmt, 2, version);
    std::string out;
    if (sqlite3_step(stmt) == SQLITE_ROW) {
      const char* bytes = static_cast<const char*>(sqlite3_column_blob(stmt, 0));
      out.assign(bytes != nullptr ? bytes : "", sqlite3_column_bytes(stmt, 0));
    } else {
      ADD_FAILURE() << "no snapshot " << view << " v" << version;
    }
    sqlite3_finalize(stmt);
    return out;
  }

  std::string loaded(const std::string& view, int version) {
    auto snapshot = log_->load_snapshot(view, version);
    EXPECT_TRUE(snapshot.ok()) << snapshot.error().to_string();
    if (!snapshot.ok() || !snapshot->has_value()) {
      ADD_FAILURE() << "no snapshot " << view << " v" << version;
      return "";
    }
    return (*snapshot)->data;
  }

  bel::testing::TempDir tmp_;
  std::string path_;
  std::string uri_;
  std::unique_ptr<Storage> log_;
  sqlite3* raw_ = nullptr;
};

TEST_F(SqliteSnapshotTest, LargeRepetitiveSnapshotIsCompressedOnDiskAndLoadsByteForByte) {
  const std::string data = repetitive(4 << 20);
  ASSERT_TRUE(log_->save_snapshot({"job_runs", 2, 1234, data}).ok());
  const std::string on_disk = stored("job_runs", 2);
  EXPECT_EQ(on_disk.substr(0, 5), kMagic);
  EXPECT_LT(on_disk.size() * 4, data.size()) << on_disk.size() << " of " << data.size();

  auto snapshot = log_->load_snapshot("job_runs", 2);
  ASSERT_TRUE(snapshot.ok() && snapshot->has_value());
  EXPECT_EQ((*snapshot)->applied_idx, 1234);
  EXPECT_EQ((*snapshot)->data, data);

  // Another connection (as after a restart) reads the same.
  log_.reset();
  auto reopened = open_storage(uri_, {});
  ASSERT_TRUE(reopened.ok()) << reopened.error().to_string();
  log_ = std::move(*reopened);
  EXPECT_EQ(loaded("job_runs", 2), data);
}

TEST_F(SqliteSnapshotTest, UncompressedSnapshotOfAnOlderLogLoadsAsItIs) {
  const std::string old = repetitive(200000);
  exec("INSERT INTO snapshots(view, version, applied_idx, data) VALUES('activity', 2, 7, ?)", old);
  EXPECT_EQ(stored("activity", 2), old);
  EXPECT_EQ(loaded("activity", 2), old);
}

TEST_F(SqliteSnapshotTest, CorruptCompressedSnapshotIsStorageCorruptNamingTheViewAndVersion) {
  ASSERT_TRUE(log_->save_snapshot({"build_summary", 2, 99, repetitive(100000)}).ok());
  std::string damaged = stored("build_summary", 2);
  ASSERT_EQ(damaged.substr(0, 5), kMagic);
  for (size_t i = 20; i < 40 && i < damaged.size(); ++i) damaged[i] ^= 0x33;
  exec("UPDATE snapshots SET data = ? WHERE view = 'build_summary' AND version = 2", damaged);

  auto snapshot = log_->load_snapshot("build_summary", 2);
  ASSERT_FALSE(snapshot.ok());
  EXPECT_EQ(snapshot.error().code, ErrorCode::storage_corrupt);
  const std::string& message = snapshot.error().message;
  EXPECT_EQ(message.rfind(uri_ + ": snapshot build_summary v2: ", 0), 0u) << message;
  EXPECT_NE(message.find("compressed data"), std::string::npos) << message;
}

// The data goes into its row a piece at a time (incremental blob I/O, 1 MiB each): random bytes,
// which do not shrink and so are stored as they are, land whole, each piece at its own offset; a
// smaller snapshot then replaces the row whole, with nothing of the longer one left behind.
TEST_F(SqliteSnapshotTest, DataOfSeveralPiecesLandsWholeAndAShorterOneReplacesIt) {
  const std::string data = random_bytes((5 << 19) + 17, 7);
  ASSERT_TRUE(log_->save_snapshot({"partition_status", 3, 50, data}).ok());
  EXPECT_EQ(stored("partition_status", 3), data);
  EXPECT_EQ(loaded("partition_status", 3), data);

  ASSERT_TRUE(log_->save_snapshot({"partition_status", 3, 60, "short"}).ok());
  EXPECT_EQ(stored("partition_status", 3), "short");
  ASSERT_TRUE(log_->save_snapshot({"partition_status", 3, 70, ""}).ok());
  EXPECT_EQ(stored("partition_status", 3), "");
  auto snapshot = log_->load_snapshot("partition_status", 3);
  ASSERT_TRUE(snapshot.ok() && snapshot->has_value());
  EXPECT_EQ((*snapshot)->applied_idx, 70);
}

// A save is one transaction: when it fails (here a trigger refuses the row), the older snapshot
// stays, and the connection is left outside any transaction, so that appends and saves go on.
TEST_F(SqliteSnapshotTest, AFailedSaveKeepsTheOlderSnapshotAndTheLogWritable) {
  const std::string older = repetitive(3 << 20);
  ASSERT_TRUE(log_->save_snapshot({"job_runs", 2, 10, older}).ok());
  exec(
      "CREATE TRIGGER refuse AFTER INSERT ON snapshots WHEN NEW.applied_idx = 20"
      " BEGIN SELECT RAISE(ABORT, 'no room for this snapshot'); END");

  Status failed = log_->save_snapshot({"job_runs", 2, 20, repetitive(4 << 20)});
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.error().message.find("no room for this snapshot"), std::string::npos)
      << failed.error().message;
  EXPECT_EQ(loaded("job_runs", 2), older);

  auto appended = log_->append_batch({bel::testing::with_id(
      bel::testing::partition_event("br-1", "data/a", v1::PARTITION_BUILDING), "e-1")});
  ASSERT_TRUE(appended.ok()) << appended.error().to_string();
  ASSERT_TRUE(log_->save_snapshot({"job_runs", 2, 30, "newer"}).ok());
  EXPECT_EQ(loaded("job_runs", 2), "newer");
}

}  // namespace
}  // namespace bel::storage
