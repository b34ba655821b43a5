// The bel binary the app suite's end-to-end tests run: BEL_BINARY, which tests/CMakeLists.txt
// defines for this suite.
#ifndef BEL_TESTS_APP_BEL_BINARY_H_
#define BEL_TESTS_APP_BEL_BINARY_H_

#include <string>

namespace bel::testing {

inline const std::string kBel = BEL_BINARY;

}  // namespace bel::testing

#endif  // BEL_TESTS_APP_BEL_BINARY_H_
