#include "storage/event_page_arena.h"

#include <cstdlib>
#include <mutex>
#include <new>
#include <vector>

namespace bel::storage {
namespace {

// Arenas take their blocks from a pool of fixed-size blocks instead of malloc: with glibc, each
// free of a block this large consolidated every small free chunk of the heap (the strings the
// events' parsing left), which cost as much as the parsing. A page of 10,000 events takes a few
// MB, so about twenty blocks.
constexpr size_t kBlockBytes = 256 << 10;
constexpr size_t kPooledBlocks = 64;  // 16 MiB kept for reuse at most

struct BlockPool {
  std::mutex mu;
  std::vector<void*> free_blocks;
};

BlockPool& block_pool() {
  static auto* pool = new BlockPool;  // never destroyed: arenas may outlive static destruction
  return *pool;
}

void* alloc_block(size_t bytes) {
  if (bytes == kBlockBytes) {
    auto& pool = block_pool();
    std::lock_guard<std::mutex> lock(pool.mu);
    if (!pool.free_blocks.empty()) {
      void* block = pool.free_blocks.back();
      pool.free_blocks.pop_back();
      return block;
    }
  }
  void* block = std::malloc(bytes);
  if (block == nullptr) throw std::bad_alloc();
  return block;
}

void free_block(void* block, size_t bytes) {
  if (bytes == kBlockBytes) {
    auto& pool = block_pool();
    std::lock_guard<std::mutex> lock(pool.mu);
    if (pool.free_blocks.size() < kPooledBlocks) {
      pool.free_blocks.push_back(block);
      return;
    }
  }
  std::free(block);
}

google::protobuf::ArenaOptions page_arena_options() {
  google::protobuf::ArenaOptions options;
  options.start_block_size = kBlockBytes;
  options.max_block_size = kBlockBytes;
  options.block_alloc = alloc_block;
  options.block_dealloc = free_block;
  return options;
}

// A page and the arena it lives on, owned together by a shared_ptr.
struct ArenaPage {
  google::protobuf::Arena arena{page_arena_options()};
  EventPage* page = google::protobuf::Arena::CreateMessage<EventPage>(&arena);
};

}  // namespace

PageArena::PageArena() : arena_(std::make_unique<google::protobuf::Arena>(page_arena_options())) {}

EventPage* PageArena::fresh() {
  arena_->Reset();
  return google::protobuf::Arena::CreateMessage<EventPage>(arena_.get());
}

std::shared_ptr<EventPage> new_shared_page() {
  auto owner = std::make_shared<ArenaPage>();
  return std::shared_ptr<EventPage>(owner, owner->page);  // shares the owner's count
}

}  // namespace bel::storage
