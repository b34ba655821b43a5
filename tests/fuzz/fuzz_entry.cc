// The libFuzzer entry point of one bel_fuzz_<name> binary: BEL_FUZZ_ENTRY names the harness of
// tests/fuzz/harnesses.h it runs.
#include <cstddef>
#include <cstdint>

#include "tests/fuzz/harnesses.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return bel::fuzz::BEL_FUZZ_ENTRY(data, size);
}
