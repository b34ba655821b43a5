// One spdlog logger per component (CONVENTIONS: "one logger per component"), which follows the
// process's default logger as it is when a line is logged: its sinks and its level, so that a
// program embedding bel may set them, or replace the default logger, at any time.
//
//   std::shared_ptr<spdlog::logger> storage_log() {
//     static const ComponentLog log("storage");
//     return log.get();
//   }
//   storage_log()->warn("commit failed error=\"{}\"", e.to_string());   // "[storage] [warning]
//   ..."
//
// A program routes one component's lines elsewhere by registering a logger named "bel.<name>"
// ("bel.storage"): that logger is used as it is.
#ifndef BEL_ACTORS_COMPONENT_LOG_H_
#define BEL_ACTORS_COMPONENT_LOG_H_

#include <spdlog/spdlog.h>

#include <memory>
#include <mutex>
#include <string>

namespace bel::actors {

class ComponentLog {
 public:
  explicit ComponentLog(std::string name) : name_(std::move(name)), registered_("bel." + name_) {}

  // The logger registered as "bel.<name>", else the default logger's clone named <name>, made
  // again when the default logger was replaced and given its current level.
  std::shared_ptr<spdlog::logger> get() const {
    if (auto registered = spdlog::get(registered_)) return registered;
    auto base = spdlog::default_logger();
    std::lock_guard<std::mutex> lock(mu_);
    if (base != base_ || !clone_) {
      clone_ = base->clone(name_);
      base_ = std::move(base);
    }
    clone_->set_level(base_->level());
    clone_->flush_on(base_->flush_level());
    return clone_;
  }

 private:
  const std::string name_;
  const std::string registered_;
  mutable std::mutex mu_;
  mutable std::shared_ptr<spdlog::logger> base_;  // the default logger clone_ was made from
  mutable std::shared_ptr<spdlog::logger> clone_;
};

}  // namespace bel::actors

#endif  // BEL_ACTORS_COMPONENT_LOG_H_
