// One NameTable driven by hand (and two or three wired by hand for conflicts): each rule of the
// header's semantics on its own. Whole clusters are in simulation_test.cpp.
#include <gtest/gtest.h>

#include <algorithm>

#include "otp/global/name_table.hpp"

namespace otp::global {
namespace {

using protocol::NodeId;
using protocol::Pid;

const NodeId kA{"a", "h", 1};
const NodeId kB{"b", "h", 1};
const NodeId kC{"c", "h", 1};

Time ms(int64_t t) {
  return Time(t);
}

std::vector<Event> events_of(const Output& out, EventKind kind) {
  std::vector<Event> found;
  std::copy_if(out.events.begin(), out.events.end(), std::back_inserter(found),
               [&](const Event& e) { return e.kind == kind; });
  return found;
}

/// The Update messages of an output (all broadcasts).
std::vector<Update> updates_of(const Output& out) {
  std::vector<Update> found;
  for (const Outgoing& m : out.messages) {
    if (const auto* u = std::get_if<Update>(&m.message)) {
      EXPECT_FALSE(m.to.has_value()) << "updates go to every peer";
      found.push_back(*u);
    }
  }
  return found;
}

Update add(std::string name, Pid owner, Stamp stamp, Metadata metadata = {}) {
  return Update{UpdateKind::add,
                Claim{std::move(name), std::move(owner), stamp, std::move(metadata)}};
}

NameTable linked_table(const NodeId& self, std::initializer_list<NodeId> peers) {
  NameTable t(self);
  for (const NodeId& p : peers) (void)t.on_link_up(p);
  return t;
}

// -- register / unregister / exit ---------------------------------------------------------------

TEST(Register, RecordsTheNameReportsItAndReplicatesItToEveryPeer) {
  NameTable t = linked_table(kA, {kB});
  const Pid p{kA, 7};
  RegisterOutcome r = t.register_name("counter", p, R"({"zone":"eu"})", ms(100));
  EXPECT_EQ(r.status, RegisterStatus::ok);
  EXPECT_EQ(r.holder, p);
  ASSERT_TRUE(t.whereis("counter"));
  EXPECT_EQ(t.whereis("counter")->pid, p);
  EXPECT_EQ(*t.whereis("counter")->metadata, R"({"zone":"eu"})");
  const auto updates = updates_of(r.output);
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_EQ(updates[0].kind, UpdateKind::add);
  EXPECT_EQ(updates[0].claim, t.claims("counter").at(0));
  const auto registered = events_of(r.output, EventKind::registered);
  ASSERT_EQ(registered.size(), 1u);
  EXPECT_EQ(registered[0].owner, p);
  EXPECT_EQ(t.registered_names(), std::vector<std::string>{"counter"});
}

TEST(Register, ATakenNameFailsNamingTheOwnerAndItsNodeAndSendsNothing) {
  NameTable t = linked_table(kA, {kB});
  const Pid remote{kB, 3};
  (void)t.on_update(kB, add("counter", remote, {50, 0}), ms(100));
  RegisterOutcome r = t.register_name("counter", Pid{kA, 1}, {}, ms(100));
  EXPECT_EQ(r.status, RegisterStatus::already_registered);
  EXPECT_EQ(r.holder, remote);
  EXPECT_EQ(r.holder.node, kB);
  EXPECT_TRUE(r.output.empty());
  // the same process twice, too
  ASSERT_EQ(t.register_name("x", Pid{kA, 1}, {}, ms(101)).status, RegisterStatus::ok);
  EXPECT_EQ(t.register_name("x", Pid{kA, 1}, {}, ms(102)).status,
            RegisterStatus::already_registered);
}

TEST(Register, AnotherNodesProcessIsRegisteredOnItsOwnNode) {
  NameTable t(kA);
  RegisterOutcome r = t.register_name("counter", Pid{kB, 1}, {}, ms(1));
  EXPECT_EQ(r.status, RegisterStatus::not_local);
  EXPECT_FALSE(t.whereis("counter"));
}

TEST(Register, AProcessMayHoldSeveralNames) {
  NameTable t(kA);
  const Pid p{kA, 1};
  EXPECT_EQ(t.register_name("x", p, {}, ms(1)).status, RegisterStatus::ok);
  EXPECT_EQ(t.register_name("y", p, {}, ms(1)).status, RegisterStatus::ok);
  EXPECT_EQ(t.size(), 2u);
}

TEST(Register, StampsOfOneNodeIncreaseEvenWhenItsClockGoesBack) {
  NameTable t(kA);
  (void)t.register_name("x", Pid{kA, 1}, {}, ms(100));
  (void)t.register_name("y", Pid{kA, 1}, {}, ms(40));
  EXPECT_LT(t.whereis("x")->stamp, t.whereis("y")->stamp);
}

TEST(Unregister, OnTheOwnersNodeRemovesTheNameEverywhere) {
  NameTable t = linked_table(kA, {kB});
  const Pid p{kA, 1};
  (void)t.register_name("x", p, {}, ms(1));
  OwnerOutcome u = t.unregister_name("x", ms(2));
  EXPECT_EQ(u.status, OwnerStatus::ok);
  EXPECT_EQ(u.holder, p);
  EXPECT_FALSE(t.whereis("x"));
  const auto updates = updates_of(u.output);
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_EQ(updates[0].kind, UpdateKind::remove);
  EXPECT_EQ(updates[0].claim.name, "x");
  EXPECT_EQ(updates[0].claim.owner, p);
  EXPECT_EQ(events_of(u.output, EventKind::unregistered).size(), 1u);
  // the process no longer holds it: its exit has nothing to remove
  EXPECT_TRUE(t.process_exit(p, ms(3)).empty());
}

TEST(Unregister, ANameHeldElsewhereOrNotAtAllIsRefused) {
  NameTable t = linked_table(kA, {kB});
  (void)t.on_update(kB, add("x", Pid{kB, 1}, {5, 0}), ms(1));
  OwnerOutcome elsewhere = t.unregister_name("x", ms(2));
  EXPECT_EQ(elsewhere.status, OwnerStatus::not_owner);
  EXPECT_EQ(elsewhere.holder, (Pid{kB, 1}));
  EXPECT_TRUE(t.whereis("x"));
  EXPECT_EQ(t.unregister_name("nobody", ms(2)).status, OwnerStatus::not_registered);
}

TEST(ProcessExit, DropsEveryNameOfTheProcessAndReplicatesEachRemoval) {
  NameTable t = linked_table(kA, {kB});
  const Pid p{kA, 1};
  const Pid other{kA, 2};
  (void)t.register_name("x", p, {}, ms(1));
  (void)t.register_name("y", p, {}, ms(1));
  (void)t.register_name("z", other, {}, ms(1));
  Output out = t.process_exit(p, ms(5));
  EXPECT_EQ(t.registered_names(), std::vector<std::string>{"z"});
  const auto updates = updates_of(out);
  ASSERT_EQ(updates.size(), 2u);
  EXPECT_TRUE(std::all_of(updates.begin(), updates.end(),
                          [](const Update& u) { return u.kind == UpdateKind::remove; }));
  EXPECT_EQ(events_of(out, EventKind::unregistered).size(), 2u);
}

TEST(ProcessExit, MayBeGivenTheOwnerThatWhereisReturned) {
  NameTable t(kA);
  (void)t.register_name("x", Pid{kA, 1}, {}, ms(1));
  (void)t.register_name("y", Pid{kA, 1}, {}, ms(1));
  (void)t.register_name("z", Pid{kA, 2}, {}, ms(1));
  const Output out = t.process_exit(t.whereis("x")->pid, ms(2));
  EXPECT_EQ(t.registered_names(), std::vector<std::string>{"z"});
  for (const Update& u : updates_of(out)) EXPECT_EQ(u.claim.owner, (Pid{kA, 1}));
}

TEST(ProcessExit, OfAnotherNodesProcessIsLeftToThatNode) {
  NameTable t = linked_table(kA, {kB});
  (void)t.on_update(kB, add("x", Pid{kB, 1}, {5, 0}), ms(1));
  EXPECT_TRUE(t.process_exit(Pid{kB, 1}, ms(2)).empty());
  EXPECT_TRUE(t.whereis("x"));
}

// -- metadata -------------------------------------------------------------------------------------

TEST(UpdateMetadata, OnTheOwnersNodeReplicatesTheClaimWithItsRegistrationStamp) {
  NameTable t = linked_table(kA, {kB});
  const Pid p{kA, 1};
  (void)t.register_name("x", p, R"({"v":1})", ms(10));
  const Owner before = *t.whereis("x");
  OwnerOutcome u = t.update_metadata("x", R"({"v":2})", ms(20));
  EXPECT_EQ(u.status, OwnerStatus::ok);
  EXPECT_EQ(u.holder, p);
  EXPECT_EQ(*t.whereis("x")->metadata, R"({"v":2})");
  EXPECT_EQ(t.whereis("x")->stamp, before.stamp);  // still registered when it was
  EXPECT_EQ(*before.metadata, R"({"v":1})");       // a value: what a reader copied out stays
  const auto updates = updates_of(u.output);
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_EQ(updates[0], add("x", p, before.stamp, R"({"v":2})"));
  ASSERT_EQ(u.output.events.size(), 1u);
  EXPECT_EQ(u.output.events[0], (Event{EventKind::updated, "x", p, {}, R"({"v":2})", false}));
  EXPECT_EQ(t.claim_count(), 1u);
}

TEST(UpdateMetadata, APeerReplacesTheMetadataAndReportsOnlyTheUpdate) {
  NameTable a = linked_table(kA, {kB});
  NameTable b = linked_table(kB, {kA});
  const Pid p{kA, 1};
  RegisterOutcome r = a.register_name("x", p, {}, ms(10));
  (void)b.on_message(kA, r.output.messages.at(0).message, ms(11));
  OwnerOutcome u = a.update_metadata("x", "\"primary\"", ms(12));
  const Output at_b = b.on_message(kA, u.output.messages.at(0).message, ms(13));
  EXPECT_EQ(*b.whereis("x")->metadata, "\"primary\"");
  EXPECT_EQ(b.whereis("x")->stamp, a.whereis("x")->stamp);
  ASSERT_EQ(at_b.events.size(), 1u);  // no unregistered / registered: the owner did not change
  EXPECT_EQ(at_b.events[0].kind, EventKind::updated);
  EXPECT_EQ(b.snapshot(), a.snapshot());
  // back to none
  u = a.update_metadata("x", {}, ms(14));
  (void)b.on_message(kA, u.output.messages.at(0).message, ms(15));
  EXPECT_EQ(*b.whereis("x")->metadata, "");
  EXPECT_EQ(b.snapshot(), a.snapshot());
}

TEST(UpdateMetadata, ASyncWithNewMetadataForAKnownClaimIsAnUpdate) {
  NameTable t = linked_table(kA, {kB});
  (void)t.on_update(kB, add("x", Pid{kB, 1}, {5, 0}, "1"), ms(1));
  const Output out = t.on_sync(kB, Sync{{Claim{"x", Pid{kB, 1}, {5, 0}, "2"}}}, ms(2));
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_EQ(out.events[0].kind, EventKind::updated);
  EXPECT_EQ(*t.whereis("x")->metadata, "2");
}

TEST(UpdateMetadata, ANameHeldElsewhereOrNotAtAllIsRefusedAndTheSameValueSendsNothing) {
  NameTable t = linked_table(kA, {kB});
  (void)t.on_update(kB, add("x", Pid{kB, 1}, {5, 0}), ms(1));
  OwnerOutcome elsewhere = t.update_metadata("x", "{}", ms(2));
  EXPECT_EQ(elsewhere.status, OwnerStatus::not_owner);
  EXPECT_EQ(elsewhere.holder, (Pid{kB, 1}));
  EXPECT_TRUE(elsewhere.output.empty());
  EXPECT_EQ(t.update_metadata("nobody", "{}", ms(2)).status, OwnerStatus::not_registered);
  (void)t.register_name("mine", Pid{kA, 1}, "{}", ms(3));
  OwnerOutcome same = t.update_metadata("mine", "{}", ms(4));
  EXPECT_EQ(same.status, OwnerStatus::ok);
  EXPECT_TRUE(same.output.empty());
}

// -- peers ----------------------------------------------------------------------------------------

TEST(Peers, AnUpdateFromALinkedPeerAddsAndRemovesItsName) {
  NameTable t = linked_table(kA, {kB});
  Output added = t.on_update(kB, add("x", Pid{kB, 1}, {5, 0}, "{}"), ms(1));
  EXPECT_EQ(events_of(added, EventKind::registered).size(), 1u);
  EXPECT_TRUE(added.messages.empty());
  EXPECT_EQ(t.whereis("x")->pid, (Pid{kB, 1}));
  Output removed =
      t.on_update(kB, Update{UpdateKind::remove, Claim{"x", Pid{kB, 1}, {6, 0}, {}}}, ms(2));
  EXPECT_EQ(events_of(removed, EventKind::unregistered).size(), 1u);
  EXPECT_FALSE(t.whereis("x"));
  EXPECT_EQ(t.stats().updates_received, 2u);
}

TEST(Peers, AReceivedStampAdvancesTheClock) {
  NameTable t = linked_table(kA, {kB});
  (void)t.on_update(kB, add("x", Pid{kB, 1}, {9'000, 3}), ms(1));
  (void)t.register_name("y", Pid{kA, 1}, {}, ms(2));
  EXPECT_GT(t.whereis("y")->stamp, t.whereis("x")->stamp);
}

TEST(Peers, MessagesFromNodesNotLinkedOrFromAnotherRunAreDroppedAndCounted) {
  NameTable t = linked_table(kA, {kB});
  EXPECT_TRUE(t.on_update(kC, add("x", Pid{kC, 1}, {5, 0}), ms(1)).empty());
  const NodeId b_old{"b", "h", 0};
  EXPECT_TRUE(t.on_update(b_old, add("x", Pid{b_old, 1}, {5, 0}), ms(1)).empty());
  EXPECT_TRUE(t.on_sync(kC, Sync{{Claim{"x", Pid{kC, 1}, {5, 0}, {}}}}, ms(1)).empty());
  EXPECT_EQ(t.stats().dropped_unlinked, 3u);
  // a claim its sender does not own
  EXPECT_TRUE(t.on_update(kB, add("x", Pid{kC, 1}, {5, 0}), ms(1)).empty());
  EXPECT_EQ(t.stats().dropped_foreign, 1u);
  EXPECT_EQ(t.size(), 0u);
}

TEST(Peers, NodedownDropsEveryNameOfThatNodeOnly) {
  NameTable t = linked_table(kA, {kB, kC});
  (void)t.on_update(kB, add("x", Pid{kB, 1}, {5, 0}), ms(1));
  (void)t.on_update(kB, add("y", Pid{kB, 2}, {5, 1}), ms(1));
  (void)t.on_update(kC, add("z", Pid{kC, 1}, {5, 0}), ms(1));
  (void)t.register_name("mine", Pid{kA, 1}, {}, ms(1));
  Output out = t.on_nodedown(kB);
  EXPECT_EQ(t.registered_names(), (std::vector<std::string>{"mine", "z"}));
  EXPECT_EQ(events_of(out, EventKind::unregistered).size(), 2u);
  EXPECT_TRUE(out.messages.empty());
  EXPECT_EQ(t.peers(), std::vector<NodeId>{kC});
  // messages still in flight from the dead run are dropped
  EXPECT_TRUE(t.on_update(kB, add("x", Pid{kB, 1}, {5, 0}), ms(1)).empty());
}

TEST(Peers, NodedownInPartsDropsThemAllWithOtherInputInBetween) {
  NameTable t = linked_table(kA, {kB, kC});
  for (uint64_t i = 0; i < 10; ++i)
    (void)t.on_update(kB, add("b" + std::to_string(i), Pid{kB, i + 1}, {5, 0}), ms(1));
  // c claims b5 later than b: held in reserve until b's claim goes.
  (void)t.on_update(kC, add("b5", Pid{kC, 1}, {9, 0}), ms(1));
  (void)t.register_name("mine", Pid{kA, 1}, {}, ms(1));
  std::vector<size_t> parts;
  size_t unregistered = 0;
  bool done = false;
  bool registered_b0 = false;
  while (!done) {
    Output out = t.on_nodedown(kB, 3, &done);
    parts.push_back(out.events.size());
    unregistered += events_of(out, EventKind::unregistered).size();
    EXPECT_TRUE(t.peers() == std::vector<NodeId>{kC}) << "unlinked at the first part";
    // Between parts: this node's registrations go on; a name of b not yet dropped is still b's.
    if (!registered_b0 && !t.whereis("b0")) {
      EXPECT_EQ(t.register_name("b0", Pid{kA, 2}, {}, ms(2)).status, RegisterStatus::ok);
      registered_b0 = true;
    }
  }
  EXPECT_EQ(unregistered, 10u);
  EXPECT_EQ(parts.size(), 4u);  // 3 + 3 + 3 + 1 names (b5's part also reports c's claim)
  EXPECT_TRUE(registered_b0);
  EXPECT_EQ(t.registered_names(), (std::vector<std::string>{"b0", "b5", "mine"}));
  EXPECT_EQ(t.whereis("b5")->pid, (Pid{kC, 1}));
  EXPECT_EQ(t.known_nodes(), 2u);  // a and c: b is forgotten
  bool again = false;
  EXPECT_TRUE(t.on_nodedown(kB, 3, &again).empty());
  EXPECT_TRUE(again);
}

TEST(Peers, ANewRunOfANodeLinkingUpDropsTheOldRunsNames) {
  NameTable t = linked_table(kA, {kB});
  (void)t.on_update(kB, add("x", Pid{kB, 1}, {5, 0}), ms(1));
  const NodeId b2{"b", "h", 2};
  Output out = t.on_link_up(b2);  // no nodedown seen for the old run
  EXPECT_FALSE(t.whereis("x"));
  EXPECT_EQ(events_of(out, EventKind::unregistered).size(), 1u);
  EXPECT_EQ(t.peers(), std::vector<NodeId>{b2});
  // a late nodedown of the old run does not cut the new one
  (void)t.on_nodedown(kB);
  EXPECT_EQ(t.peers(), std::vector<NodeId>{b2});
}

TEST(Peers, ANodeIsForgottenOnceItClaimsNothingSoRestartsDoNotAccumulate) {
  NameTable t = linked_table(kA, {kB});
  EXPECT_EQ(t.known_nodes(), 1u);  // itself
  for (uint32_t creation = 2; creation < 50; ++creation) {
    const NodeId run{"b", "h", creation};
    (void)t.on_link_up(run);  // the previous run's names go
    (void)t.on_update(run, add("x", Pid{run, 1}, {creation, 0}), ms(creation));
    EXPECT_EQ(t.known_nodes(), 2u);
  }
  (void)t.on_update(
      NodeId{"b", "h", 49},
      Update{UpdateKind::remove, Claim{"x", Pid{NodeId{"b", "h", 49}, 1}, {60, 0}, {}}}, ms(60));
  EXPECT_EQ(t.known_nodes(), 1u);
  EXPECT_EQ(t.size(), 0u);
}

TEST(Peers, LinkUpSendsTheNamesThisNodeOwnsAndNoOthers) {
  NameTable t = linked_table(kA, {kB});
  (void)t.on_update(kB, add("theirs", Pid{kB, 1}, {5, 0}), ms(1));
  (void)t.register_name("mine", Pid{kA, 1}, "{}", ms(1));
  (void)t.register_name("also", Pid{kA, 2}, {}, ms(1));
  Output out = t.on_link_up(kC);
  ASSERT_EQ(out.messages.size(), 1u);
  EXPECT_EQ(out.messages[0].to, kC);
  const Sync& sync = std::get<Sync>(out.messages[0].message);
  ASSERT_EQ(sync.claims.size(), 2u);
  EXPECT_EQ(sync.claims[0], t.claims("also").at(0));
  EXPECT_EQ(sync.claims[1], t.claims("mine").at(0));
}

TEST(Peers, ASyncReplacesEverythingKnownOfTheSender) {
  NameTable t = linked_table(kA, {kB, kC});
  (void)t.on_update(kB, add("stale", Pid{kB, 1}, {5, 0}), ms(1));
  (void)t.on_update(kB, add("kept", Pid{kB, 2}, {5, 1}), ms(1));
  (void)t.on_update(kC, add("other", Pid{kC, 1}, {5, 0}), ms(1));
  const Claim kept = t.claims("kept").at(0);
  Output out = t.on_sync(kB, Sync{{kept, Claim{"new", Pid{kB, 3}, {7, 0}, {}}}}, ms(2));
  EXPECT_EQ(t.registered_names(), (std::vector<std::string>{"kept", "new", "other"}));
  // "kept" was already known as is: no event for it
  const auto registered = events_of(out, EventKind::registered);
  ASSERT_EQ(registered.size(), 1u);
  EXPECT_EQ(registered[0].name, "new");
  ASSERT_EQ(events_of(out, EventKind::unregistered).size(), 1u);
  EXPECT_EQ(events_of(out, EventKind::unregistered)[0].name, "stale");
  // an empty sync: the sender owns nothing
  (void)t.on_sync(kB, Sync{}, ms(3));
  EXPECT_EQ(t.registered_names(), std::vector<std::string>{"other"});
}

// -- conflicts ------------------------------------------------------------------------------------

/// Feeds every message of `out` (from `from`) to `to`; returns what `to` produced.
Output deliver(const NodeId& from, const Output& out, NameTable& to, Time now) {
  Output produced;
  for (const Outgoing& m : out.messages) {
    if (m.to && *m.to != to.self()) continue;
    produced.append(to.on_message(from, m.message, now));
  }
  return produced;
}

TEST(Conflict, TheEarlierRegistrationWinsOnBothSidesWithoutARoundOfMessages) {
  NameTable a = linked_table(kA, {kB});
  NameTable b = linked_table(kB, {kA});
  const Pid pa{kA, 1};
  const Pid pb{kB, 1};
  RegisterOutcome ra = a.register_name("x", pa, {}, ms(10));
  RegisterOutcome rb = b.register_name("x", pb, {}, ms(20));
  ASSERT_EQ(ra.status, RegisterStatus::ok);
  ASSERT_EQ(rb.status, RegisterStatus::ok);

  Output at_a = deliver(kB, rb.output, a, ms(21));
  Output at_b = deliver(kA, ra.output, b, ms(21));
  EXPECT_EQ(a.whereis("x")->pid, pa);
  EXPECT_EQ(b.whereis("x")->pid, pa);

  // a, the winner's node: a conflict for the log, nothing to do
  const auto conflict_a = events_of(at_a, EventKind::conflict);
  ASSERT_EQ(conflict_a.size(), 1u);
  EXPECT_EQ(conflict_a[0].owner, pb);
  EXPECT_EQ(conflict_a[0].winner, pa);
  EXPECT_FALSE(conflict_a[0].local_loser);
  EXPECT_TRUE(at_a.messages.empty());
  // b, the loser's node: told to exit its process, the name moves to pa, a removal goes out
  const auto conflict_b = events_of(at_b, EventKind::conflict);
  ASSERT_EQ(conflict_b.size(), 1u);
  EXPECT_EQ(conflict_b[0].owner, pb);
  EXPECT_EQ(conflict_b[0].winner, pa);
  EXPECT_TRUE(conflict_b[0].local_loser);
  EXPECT_EQ(b.stats().local_losses, 1u);
  const auto removal = updates_of(at_b);
  ASSERT_EQ(removal.size(), 1u);
  EXPECT_EQ(removal[0].kind, UpdateKind::remove);
  EXPECT_EQ(removal[0].claim.owner, pb);
  // the loser's exit later has nothing left to remove
  EXPECT_TRUE(b.process_exit(pb, ms(22)).empty());

  // a holds pb's claim in reserve until b's removal arrives
  EXPECT_EQ(a.claims("x").size(), 2u);
  (void)deliver(kB, at_b, a, ms(23));
  EXPECT_EQ(a.claims("x").size(), 1u);
  EXPECT_EQ(a.snapshot(), b.snapshot());
}

TEST(Conflict, AnEarlierClaimArrivingInASyncAfterAHealMakesTheLocalProcessLose) {
  NameTable a(kA);
  const Pid mine{kA, 1};
  (void)a.register_name("x", mine, {}, ms(50));  // alone: b's side of the partition
  (void)a.on_link_up(kB);                        // the heal
  Output out = a.on_sync(kB, Sync{{Claim{"x", Pid{kB, 4}, {20, 0}, {}}}}, ms(60));
  EXPECT_EQ(a.whereis("x")->pid, (Pid{kB, 4}));
  const auto lost = events_of(out, EventKind::conflict);
  ASSERT_EQ(lost.size(), 1u);
  EXPECT_TRUE(lost[0].local_loser);
  EXPECT_EQ(lost[0].owner, mine);
  ASSERT_EQ(updates_of(out).size(), 1u);
  EXPECT_EQ(updates_of(out)[0].kind, UpdateKind::remove);
  EXPECT_EQ(a.claim_count(), 1u);
}

TEST(Conflict, AThirdNodeReachesTheSameWinnerWhateverTheOrderItHearsTheClaims) {
  const Claim first{"x", Pid{kB, 1}, {10, 0}, {}};
  const Claim second{"x", Pid{kC, 1}, {20, 0}, {}};
  NameTable one = linked_table(kA, {kB, kC});
  NameTable two = linked_table(kA, {kB, kC});
  (void)one.on_update(kB, Update{UpdateKind::add, first}, ms(30));
  (void)one.on_update(kC, Update{UpdateKind::add, second}, ms(30));
  (void)two.on_update(kC, Update{UpdateKind::add, second}, ms(30));
  Output switched = two.on_update(kB, Update{UpdateKind::add, first}, ms(30));
  EXPECT_EQ(one.whereis("x")->pid, first.owner);
  EXPECT_EQ(two.whereis("x")->pid, first.owner);
  // two saw the owner change: down then up, for name monitors
  ASSERT_EQ(switched.events.size(), 3u);
  EXPECT_EQ(switched.events[0].kind, EventKind::conflict);
  EXPECT_EQ(switched.events[1].kind, EventKind::unregistered);
  EXPECT_EQ(switched.events[1].owner, second.owner);
  EXPECT_EQ(switched.events[2].kind, EventKind::registered);
  EXPECT_EQ(switched.events[2].owner, first.owner);
}

TEST(Conflict, EqualStampsAreBrokenByNodeIdThenPid) {
  const Stamp same{10, 0};
  EXPECT_TRUE(earlier_wins(Claim{"x", Pid{kA, 9}, same, {}}, Claim{"x", Pid{kB, 1}, same, {}}));
  EXPECT_FALSE(earlier_wins(Claim{"x", Pid{kB, 1}, same, {}}, Claim{"x", Pid{kA, 9}, same, {}}));
  EXPECT_TRUE(earlier_wins(Claim{"x", Pid{kA, 1}, same, {}}, Claim{"x", Pid{kA, 2}, same, {}}));
  EXPECT_TRUE(
      earlier_wins(Claim{"x", Pid{kB, 1}, {9, 5}, {}}, Claim{"x", Pid{kA, 1}, {10, 0}, {}}));
}

/// A user resolver: the claim whose metadata says "primary" wins; otherwise the default rule.
bool primary_wins(const Claim& a, const Claim& b) {
  const bool pa = a.metadata == "\"primary\"";
  const bool pb = b.metadata == "\"primary\"";
  if (pa != pb) return pa;
  return earlier_wins(a, b);
}

TEST(Conflict, AUserResolverOverridesTheRuleOnEveryNode) {
  NameTable a(kA, primary_wins);
  NameTable b(kB, primary_wins);
  (void)a.on_link_up(kB);
  (void)b.on_link_up(kA);
  RegisterOutcome ra = a.register_name("x", Pid{kA, 1}, "\"standby\"", ms(10));
  RegisterOutcome rb = b.register_name("x", Pid{kB, 1}, "\"primary\"", ms(20));
  Output at_a = deliver(kB, rb.output, a, ms(21));
  (void)deliver(kA, ra.output, b, ms(21));
  EXPECT_EQ(a.whereis("x")->pid, (Pid{kB, 1}));
  EXPECT_EQ(b.whereis("x")->pid, (Pid{kB, 1}));
  const auto lost = events_of(at_a, EventKind::conflict);
  ASSERT_EQ(lost.size(), 1u);
  EXPECT_TRUE(lost[0].local_loser);
  EXPECT_EQ(lost[0].owner, (Pid{kA, 1}));
}

TEST(Conflict, AMetadataUpdateThatAUserResolverPrefersChangesTheWinnerEverywhere) {
  // c heard of both claims, a's earlier: a's is shown, b's held in reserve (b's node has not
  // heard of a's yet). a heard of none of b's.
  NameTable a(kA, primary_wins);
  NameTable c(kC, primary_wins);
  (void)a.on_link_up(kB);
  (void)c.on_link_up(kA);
  (void)c.on_link_up(kB);
  (void)a.register_name("x", Pid{kA, 1}, {}, ms(10));
  (void)c.on_update(kA, add("x", Pid{kA, 1}, a.whereis("x")->stamp), ms(30));
  (void)c.on_update(kB, add("x", Pid{kB, 1}, {20, 0}), ms(30));
  EXPECT_EQ(c.whereis("x")->pid, (Pid{kA, 1}));
  // b's process says it is the primary now
  const Update promoted = add("x", Pid{kB, 1}, {20, 0}, "\"primary\"");
  const Output at_c = c.on_update(kB, promoted, ms(31));
  EXPECT_EQ(c.whereis("x")->pid, (Pid{kB, 1}));
  const auto lost_c = events_of(at_c, EventKind::conflict);
  ASSERT_EQ(lost_c.size(), 1u);
  EXPECT_EQ(lost_c[0].owner, (Pid{kA, 1}));
  EXPECT_FALSE(lost_c[0].local_loser);
  // a hears b's claim for the first time, as the primary: its own process loses
  const Output at_a = a.on_update(kB, promoted, ms(31));
  EXPECT_EQ(a.whereis("x")->pid, (Pid{kB, 1}));
  const auto lost_a = events_of(at_a, EventKind::conflict);
  ASSERT_EQ(lost_a.size(), 1u);
  EXPECT_TRUE(lost_a[0].local_loser);
  ASSERT_EQ(updates_of(at_a).size(), 1u);
  EXPECT_EQ(updates_of(at_a)[0].kind, UpdateKind::remove);
  (void)c.on_update(kA, updates_of(at_a)[0], ms(32));
  EXPECT_EQ(c.claim_count(), 1u);
  EXPECT_EQ(a.snapshot(), c.snapshot());
}

TEST(Conflict, TheOwnersOwnMetadataUpdateCanLoseItTheNameUnderAUserResolver) {
  // A resolver that prefers no metadata: a's update makes its claim lose to b's, held in reserve.
  const Resolver plain_wins = [](const Claim& a, const Claim& b) {
    if (a.metadata.empty() != b.metadata.empty()) return a.metadata.empty();
    return earlier_wins(a, b);
  };
  NameTable a(kA, plain_wins);
  (void)a.on_link_up(kB);
  (void)a.register_name("x", Pid{kA, 1}, {}, ms(10));
  (void)a.on_update(kB, add("x", Pid{kB, 1}, {20, 0}), ms(21));  // loses: held in reserve
  ASSERT_EQ(a.claim_count(), 2u);
  OwnerOutcome u = a.update_metadata("x", "{}", ms(22));
  EXPECT_EQ(u.status, OwnerStatus::ok);
  EXPECT_EQ(a.whereis("x")->pid, (Pid{kB, 1}));
  EXPECT_EQ(a.claim_count(), 1u);
  const auto lost = events_of(u.output, EventKind::conflict);
  ASSERT_EQ(lost.size(), 1u);
  EXPECT_TRUE(lost[0].local_loser);
  // peers get the new metadata, then the removal, in that order
  const auto updates = updates_of(u.output);
  ASSERT_EQ(updates.size(), 2u);
  EXPECT_EQ(updates[0].kind, UpdateKind::add);
  EXPECT_EQ(updates[1].kind, UpdateKind::remove);
}

TEST(Conflict, AClaimHeldInReserveBecomesTheOwnerIfTheWinnerLeavesFirst) {
  // c heard of both claims; b's node never heard of a's (the link a-b was down) and a's
  // process exited before it could: b's claim is the owner now, as b itself believes.
  NameTable c = linked_table(kC, {kA, kB});
  (void)c.on_update(kA, add("x", Pid{kA, 1}, {10, 0}), ms(30));
  (void)c.on_update(kB, add("x", Pid{kB, 1}, {20, 0}, "{}"), ms(30));
  Output out =
      c.on_update(kA, Update{UpdateKind::remove, Claim{"x", Pid{kA, 1}, {31, 0}, {}}}, ms(31));
  EXPECT_EQ(c.whereis("x")->pid, (Pid{kB, 1}));
  ASSERT_EQ(out.events.size(), 2u);
  EXPECT_EQ(out.events[0].kind, EventKind::unregistered);
  EXPECT_EQ(out.events[1].kind, EventKind::registered);
  EXPECT_EQ(out.events[1].owner, (Pid{kB, 1}));
  EXPECT_EQ(out.events[1].metadata, "{}");
}

TEST(NameMonitor, ANameGettingAndLosingAnOwnerIsReportedOnEveryNode) {
  NameTable t = linked_table(kA, {kB});
  Output got = t.on_update(kB, add("standby", Pid{kB, 1}, {5, 0}), ms(1));
  Output lost = t.on_nodedown(kB);
  ASSERT_EQ(got.events.size(), 1u);
  EXPECT_EQ(got.events[0], (Event{EventKind::registered, "standby", Pid{kB, 1}, {}, {}, false}));
  ASSERT_EQ(lost.events.size(), 1u);
  EXPECT_EQ(lost.events[0], (Event{EventKind::unregistered, "standby", Pid{kB, 1}, {}, {}, false}));
}

}  // namespace
}  // namespace otp::global
