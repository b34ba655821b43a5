// Names bel's long-lived threads as `top -H`, `ps -L`, perf and /proc/PID/task/TID/comm show
// them, so that they can be told apart (CAF names every detached actor's thread "caf.actor"):
//
//   bel::name_this_thread(bel::kStorageThreadName);   // on the thread being named
//   bel::name_thread(worker, "bel.checkpoint");       // a std::thread just started
//
// Linux keeps at most 15 characters; longer names are cut there.
#ifndef BEL_STORAGE_THREAD_NAME_H_
#define BEL_STORAGE_THREAD_NAME_H_

#include <pthread.h>

#include <cstring>
#include <thread>

namespace bel {

// The storage actor's thread: the one every acknowledged append passes through (`bel bench`
// reports its share of the CPU under P1).
inline constexpr const char* kStorageThreadName = "bel.storage";

inline void name_native_thread(pthread_t thread, const char* name) {
  char cut[16] = {};  // pthread_setname_np refuses a longer name rather than cut it
  std::strncpy(cut, name, sizeof cut - 1);
  pthread_setname_np(thread, cut);
}

inline void name_this_thread(const char* name) { name_native_thread(pthread_self(), name); }

// Named by its starter, so the name is there before the thread first runs.
inline void name_thread(std::thread& thread, const char* name) {
  name_native_thread(thread.native_handle(), name);
}

}  // namespace bel

#endif  // BEL_STORAGE_THREAD_NAME_H_
