#include "app/local_log.h"

#include "actors/coordinator.h"
#include "storage/storage_factory.h"

namespace bel::app {

Result<std::unique_ptr<LocalLog>> LocalLog::open(const std::string& uri,
                                                 LocalLogOptions options) {
  storage::StorageOptions storage_options;
  storage_options.durability_full = options.durability_full;
  auto storage = storage::open_storage(uri, storage_options);
  if (!storage.ok()) return storage.error();
  auto reader = (*storage)->open_reader();
  if (!reader.ok()) return reader.error();
  auto writer = actors::LogWriter::open(std::move(*storage), {});
  if (!writer.ok()) return writer.error();

  std::unique_ptr<LocalLog> log(new LocalLog());
  log->options_ = options;
  log->config_ = std::make_unique<caf::actor_system_config>();
  actors::configure_actor_system(*log->config_);
  log->system_ = std::make_unique<caf::actor_system>(*log->config_);
  log->storage_ = actors::spawn_storage_actor(*log->system_, std::move(*writer));
  log->reader_ = std::move(*reader);
  return log;
}

LocalLog::~LocalLog() {
  if (system_) {
    caf::anon_send_exit(storage_, caf::exit_reason::user_shutdown);
    storage_ = nullptr;
    system_->await_all_actors_done();
  }
}

Result<std::vector<AppendAck>> LocalLog::append(std::vector<BuildEvent> events) {
  caf::scoped_actor self{*system_};
  Result<std::vector<AppendAck>> out = make_error(ErrorCode::internal, "no answer");
  self->request(storage_, options_.timeout, actors::append_atom::value, std::move(events))
      .receive(
          [&](const AppendAcks& acks) {
            out = std::vector<AppendAck>(acks.acks().begin(), acks.acks().end());
          },
          [&](const caf::error& e) { out = actors::from_caf_error(e); });
  return out;
}

}  // namespace bel::app
