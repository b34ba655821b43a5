// bel::bench::AnswerTally: the answers a bench client that keeps requests in flight has had
// (acked appends, queries): how many succeeded, how many failed, and the first failure for the
// report.
//
//   tally.count(error);   // once per answer; nullptr for a success
//   BEL_RETURN_IF_ERROR(tally.check(uri + ": ", total, "appends were refused"));
#ifndef BEL_BENCH_ANSWER_TALLY_H_
#define BEL_BENCH_ANSWER_TALLY_H_

#include <cstdint>
#include <string>

#include "actors/caf_support.h"
#include "messages/error.h"

namespace bel::bench {

struct AnswerTally {
  int64_t answered = 0;  // successes
  int64_t failed = 0;
  std::string first_error;

  void count(const caf::error* error) {
    if (error == nullptr) {
      ++answered;
    } else if (failed++ == 0) {
      first_error = actors::from_caf_error(*error).to_string();
    }
  }

  // internal "<prefix><failed> of <total> <what>; first: <first_error>" when any failed.
  Status check(const std::string& prefix, int64_t total, const char* what) const {
    if (failed == 0) return ok_status();
    return make_error(ErrorCode::internal, prefix + std::to_string(failed) + " of " +
                                               std::to_string(total) + " " + what +
                                               "; first: " + first_error);
  }
};

}  // namespace bel::bench

#endif  // BEL_BENCH_ANSWER_TALLY_H_
