// The state of one membership core and the steps that change it. Split by concern over
// core.cpp (construction, timers, the facade), probe.cpp (probing and indirect probes),
// updates.cpp (alive / suspect / dead news and events), packets.cpp (receiving, sending,
// push-pull).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "broadcast_queue.hpp"
#include "name_table.hpp"
#include "otp/membership/membership.hpp"
#include "otp/membership/timing.hpp"

namespace otp::membership {

namespace gossip = protocol::gossip;
using detail::Info;
using detail::InfoPtr;
using detail::Slot;

inline constexpr Time kNever = Time::max();

class Membership::Core {
 public:
  Core(Options config, protocol::NodeId self, Address gossip_address, Metadata metadata,
       uint64_t rng_seed, std::shared_ptr<detail::NameTable> names);
  ~Core();

  // -- facade (core.cpp) --
  Output join(std::vector<Address> seeds, Time now);
  void set_seeds(std::vector<Address> seeds);
  Output tick(Time now);
  Time next_deadline() const;
  Output leave(Time now);
  bool leave_propagated() const;
  Output update_metadata(Metadata metadata, Time now);
  Output update_address(Address gossip, Metadata metadata, Time now);
  std::vector<Member> members() const;
  std::optional<Member> member(std::string_view full_name) const;
  size_t live_peers() const { return live_peers_; }
  const protocol::NodeId& self() const { return self_info()->id; }
  uint32_t incarnation() const { return entries_[self_slot_].incarnation; }
  Stats stats() const;
  void preload(std::span<const Member> members, Time now);

  // -- packets (packets.cpp) --
  Output on_packet(const Address& from, std::span<const uint8_t> bytes, Channel channel, Time now);

 private:
  /// This core's view of one member; a slot whose info is null is not in the view.
  struct Entry {
    InfoPtr info;
    uint32_t incarnation = 0;
    MemberState state = MemberState::alive;
    bool in_probe_list = false;
    Time since{};  // when state last changed
  };
  /// A running suspicion timer (Lifeguard: shrinks with independent confirmations).
  struct Suspicion {
    Time start{};
    Duration min{};
    Duration max{};
    uint32_t k = 0;                     // confirmations expected at most (suspicion_mult - 2)
    std::vector<std::string> accusers;  // distinct; the first one started it
    Time next_probe{};                  // when we ping the suspect ourselves again
    // Direct evidence: a packet from the suspect itself (an ack to our own ping, its ping, its
    // push-pull) since the suspicion started or was last held. The timer does not declare such
    // a member failed; it holds the verdict until `held_until` and probes again (updates.cpp).
    bool heard = false;
    Time held_until{};
    // Before the verdict, one last ping (its seq, 0 when none is out): a member that answers it
    // is heard from, and the verdict is held again.
    uint32_t last_call = 0;
    // Another member already declared it failed (at this incarnation): the timer runs at its
    // minimum, it only waits for our own last call.
    bool declared_elsewhere = false;
  };
  /// Our probe of one member, at most one at a time.
  struct Probe {
    Slot slot = 0;
    protocol::NodeId target;
    uint32_t seq = 0;           // of our own pings: its ack is direct evidence
    uint32_t indirect_seq = 0;  // of the ping_reqs: acks forwarded by helpers, and their nacks
    Time indirect_at{};         // no ack by then: ask others
    Time retry_at{};            // still no ack by then: a third direct ping
    Time deadline{};            // no ack by then: suspect
    bool indirect_sent = false;
    bool retried = false;
    uint32_t expected_nacks = 0;
    uint32_t nacks = 0;
  };
  /// A probe we run for another member (ping_req): its ack is forwarded, or a nack sent.
  struct Relay {
    std::optional<Slot> target;  // as we know it: its ack is direct evidence for us too
    Address requester;
    uint32_t requester_seq = 0;
    bool want_nack = false;
    Time nack_at{};
  };

  // -- core.cpp --
  const Info* self_info() const { return entries_[self_slot_].info.get(); }
  Entry* entry(Slot slot);
  const Entry* entry(Slot slot) const;
  const Entry* find_entry(std::string_view full_name) const;
  Slot add_entry(const protocol::NodeId& id, const Address& gossip, const Metadata& meta, Time now,
                 bool is_self = false);
  void remove_entry(Slot slot);
  void set_state(Slot slot, MemberState state, Time now);
  Member to_member(const Entry& e) const;
  size_t known() const { return present_; }
  uint32_t retransmits() const { return retransmit_limit(config_, present_); }
  void reap(Time now);
  void start_push_pull(const Address& to, bool join, Output& out);
  void contact_seed(Time now, Output& out);
  void reconnect(Time now, Output& out);
  std::vector<Slot> random_live_members(size_t n, Slot exclude);

  // -- probe.cpp --
  void run_probe(Time now, Output& out);
  void start_probe(Time now, Output& out);
  void send_indirect_probes(Output& out);
  void finish_failed_probe(Time now, Output& out);
  void on_ack(uint32_t seq, Output& out);
  void on_nack(uint32_t seq);
  void send_ping(Output& out);
  void on_ping(const Address& from, const gossip::Ping& ping, Output& out);
  void on_ping_req(const Address& from, const gossip::PingReq& req, Time now, Output& out);
  void expire_relays(Time now, Output& out);
  std::optional<Slot> next_probe_target(Time now);

  // -- updates.cpp --
  void apply(const gossip::Update& u, Time now, Output& out);
  void apply_alive(const gossip::Update& u, Time now, Output& out);
  void apply_suspect(const gossip::Update& u, Time now, Output& out);
  void apply_dead(const gossip::Update& u, Time now, Output& out);
  void suspect(Slot slot, uint32_t incarnation, const std::string& accuser, Time now, Output& out);
  void declare_failed(Slot slot, const std::string& accuser, Time now, Output& out);
  void expire_suspicions(Time now, Output& out);
  uint32_t expected_confirmations_now(const Suspicion& s) const;
  Time suspicion_deadline(const Suspicion& s) const;
  void heard_from(Slot slot);
  void heard_from(const protocol::NodeId& id);
  void on_accused(const gossip::Update& u);
  void refute(uint32_t accused_incarnation);
  void emit(EventKind kind, const Entry& e, Output& out) const;
  std::optional<gossip::Update> update_about(Slot slot, const std::string& accuser) const;

  // -- packets.cpp --
  void send(const Address& to, gossip::Body body, std::vector<gossip::Update> first, Output& out);
  void gossip_round(Output& out);
  void on_push_pull(const Address& from, const gossip::PushPull& pp, Time now, Output& out);
  gossip::PushPull full_state(bool reply, bool join);
  bool count_rejection(gossip::Rejection r);

  Options config_;
  gossip::Key key_;
  std::shared_ptr<detail::NameTable> names_;
  std::mt19937_64 rng_;
  Slot self_slot_ = 0;
  Address gossip_address_;
  std::vector<Entry> entries_;  // indexed by slot
  size_t present_ = 0;          // entries in the view, self included
  size_t live_peers_ = 0;       // alive or suspect, self excluded

  std::vector<Slot> probe_list_;  // shuffled; round-robin
  size_t probe_index_ = 0;
  std::optional<Probe> probe_;
  bool last_probe_was_suspect_ = false;
  std::map<uint32_t, Relay> relays_;  // by the seq of our ping to the target
  std::unordered_map<Slot, Suspicion> suspicions_;
  std::unordered_map<uint32_t, Slot> last_calls_;  // seq of a last-call ping -> its suspect
  detail::BroadcastQueue queue_;
  std::set<std::pair<Time, Slot>> reap_queue_;  // (failed or left since, slot)
  Awareness awareness_;
  uint32_t seq_ = 0;

  std::vector<Address> seeds_;
  size_t seed_index_ = 0;
  bool started_ = false;
  bool leaving_ = false;
  Time next_probe_at_{};
  Time next_gossip_at_{};
  Time next_push_pull_at_{};
  Time next_seed_at_{};
  Time next_reconnect_at_{};
  Time joined_at_{};
  Time latest_{};  // the latest time passed in (Stats::running)
  Stats stats_;
};

}  // namespace otp::membership
