// One spdlog logger per component (CONVENTIONS: "one logger per component"): the logger
// registered under `name`, else a clone of the default logger (its sinks and level) named so.
//
//   std::shared_ptr<spdlog::logger> storage_log() {
//     static const auto logger = bel::actors::component_log("storage");  // made on first use,
//     return logger;                                                      // after main() set
//   }                                                                     // the default logger
#ifndef BEL_ACTORS_COMPONENT_LOG_H_
#define BEL_ACTORS_COMPONENT_LOG_H_

#include <memory>
#include <string>

#include <spdlog/spdlog.h>

namespace bel::actors {

inline std::shared_ptr<spdlog::logger> component_log(const std::string& name) {
  auto registered = spdlog::get(name);
  return registered ? registered : spdlog::default_logger()->clone(name);
}

}  // namespace bel::actors

#endif  // BEL_ACTORS_COMPONENT_LOG_H_
