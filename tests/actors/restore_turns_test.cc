// RestoreTurns (actors/read/restore_turns.h): one turn at a time, in the order asked; a turn
// ends when its last copy goes, wherever that happens (dropped by its holder, destroyed with the
// state of an actor that stopped, or with a message to an actor that is gone).
#include "actors/read/restore_turns.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "actors/caf_support.h"
#include "actors/coordinator.h"

namespace bel::actors {
namespace {

using put_atom = caf::atom_constant<caf::atom("put")>;
using got_atom = caf::atom_constant<caf::atom("got")>;

// Keeps each turn it is given and tells `observer` the order it came in ("got", name).
struct HolderState {
  std::vector<RestoreTurn> held;
  static inline const char* name = "test.turn_holder";
};

caf::behavior holder(caf::stateful_actor<HolderState>* self, caf::actor observer,
                     std::string name) {
  return {
      [=](restore_atom, RestoreTurn turn) {
        self->state.held.push_back(std::move(turn));
        self->send(observer, got_atom::value, name);
      },
      // Drops every turn it holds.
      [=](put_atom) { self->state.held.clear(); },
  };
}

class RestoreTurnsTest : public ::testing::Test {
 protected:
  RestoreTurnsTest() {
    configure_actor_system(config_);
    system_ = std::make_unique<caf::actor_system>(config_);
    self_ = std::make_unique<caf::scoped_actor>(*system_);
  }
  ~RestoreTurnsTest() override {
    for (auto& a : spawned_) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    self_.reset();
    system_->await_all_actors_done();
  }

  caf::scoped_actor& self() { return *self_; }

  caf::actor spawn_holder(const std::string& name) {
    auto a = system_->spawn(holder, caf::actor{*self_}, name);
    spawned_.push_back(a);
    return a;
  }

  // The name of the next holder that got a turn.
  std::string next_got() {
    std::string out = "(none)";
    self()->receive([&](got_atom, const std::string& name) { out = name; },
                    caf::after(std::chrono::seconds(30)) >> [] {});
    return out;
  }

  // Stops `a` and waits until it is gone.
  void stop(const caf::actor& a) {
    self()->monitor(a);
    self()->send_exit(a, caf::exit_reason::user_shutdown);
    self()->receive([](const caf::down_msg&) {},
                    caf::after(std::chrono::seconds(30)) >> [] { ADD_FAILURE() << "not down"; });
  }

  caf::actor_system_config config_;
  std::unique_ptr<caf::actor_system> system_;
  std::unique_ptr<caf::scoped_actor> self_;
  std::vector<caf::actor> spawned_;
};

TEST_F(RestoreTurnsTest, OneTurnAtATimeInTheOrderAsked) {
  auto turns = std::make_shared<RestoreTurns>();
  auto a = spawn_holder("a");
  auto b = spawn_holder("b");
  auto c = spawn_holder("c");
  turns->wait(a);
  turns->wait(b);
  turns->wait(c);
  EXPECT_EQ(next_got(), "a");
  EXPECT_EQ(turns->given(), 1);
  EXPECT_EQ(turns->waiting(), 2u);

  self()->send(a, put_atom::value);
  EXPECT_EQ(next_got(), "b");
  EXPECT_EQ(turns->given(), 2);
  EXPECT_EQ(turns->waiting(), 1u);

  self()->send(b, put_atom::value);
  EXPECT_EQ(next_got(), "c");
  self()->send(c, put_atom::value);
  // No one waits: the next to ask gets its turn at once.
  turns->wait(a);
  EXPECT_EQ(next_got(), "a");
  EXPECT_EQ(turns->given(), 4);
  EXPECT_EQ(turns->waiting(), 0u);
}

TEST_F(RestoreTurnsTest, AHolderThatStopsEndsItsTurn) {
  auto turns = std::make_shared<RestoreTurns>();
  auto a = spawn_holder("a");
  auto b = spawn_holder("b");
  turns->wait(a);
  turns->wait(b);
  EXPECT_EQ(next_got(), "a");
  stop(a);  // its state, with the turn, is destroyed
  EXPECT_EQ(next_got(), "b");
}

// Two ways to be gone: stopped while something still holds a handle to it (the turn is sent
// and dropped with the message), and stopped with no handle of ours left (once CAF drops its own,
// its address gives no handle at all and the turn is not sent).
TEST_F(RestoreTurnsTest, ATurnForAnActorThatIsGoneGoesToTheNext) {
  auto turns = std::make_shared<RestoreTurns>();
  auto a = spawn_holder("a");
  auto stopped = spawn_holder("stopped");
  auto b = spawn_holder("b");
  turns->wait(a);
  EXPECT_EQ(next_got(), "a");
  turns->wait(stopped);
  {
    caf::actor forgotten = system_->spawn(holder, caf::actor{*self_}, std::string("forgotten"));
    turns->wait(forgotten);
    stop(forgotten);
  }  // the last handle to it goes here
  turns->wait(b);
  stop(stopped);
  self()->send(a, put_atom::value);
  EXPECT_EQ(next_got(), "b");
  EXPECT_EQ(turns->given(), 4);  // a, the two that were gone, b
  EXPECT_EQ(turns->waiting(), 0u);
}

TEST_F(RestoreTurnsTest, ATurnEndsWithItsLastCopy) {
  auto turns = std::make_shared<RestoreTurns>();
  auto b = spawn_holder("b");
  RestoreTurn mine;
  turns->wait(caf::actor{self()});
  self()->receive([&](restore_atom, RestoreTurn turn) { mine = std::move(turn); },
                  caf::after(std::chrono::seconds(30)) >> [] { ADD_FAILURE() << "no turn"; });
  turns->wait(b);
  RestoreTurn copy = mine;
  mine = nullptr;
  EXPECT_EQ(turns->waiting(), 1u);  // the copy still holds it
  copy = nullptr;
  EXPECT_EQ(next_got(), "b");
}

}  // namespace
}  // namespace bel::actors
