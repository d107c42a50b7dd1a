#include "services/counter_standby.hpp"

#include <iostream>
#include <optional>

#include "services/cluster_services.hpp"

namespace services {

namespace {

/// The standby's own timer: the first claim may be made now.
struct FirstClaimDelayOver {};

/// Watches otp::global_name(name) and, while it has no owner, starts a counter under `owners` (a
/// dynamic supervisor of this node) registered under it.
class CounterStandby : public otp::GenServer {
 public:
  CounterStandby(std::string name, std::string owners, const otp::cluster::Cluster* cluster,
                 std::chrono::milliseconds first_claim_delay)
      : name_(std::move(name)),
        owners_(std::move(owners)),
        cluster_(*cluster),
        first_claim_delay_(first_claim_delay) {}

  otp::Action init() override {
    if (!otp::global::registry(node()))
      return otp::stop(otp::Reason::error("counter standby " + name_ + ": node not distributed"));
    // The first GlobalNameChanged (the current owner, or none) arrives at once.
    otp::global::monitor_name(node(), self(), name_);
    otp::send_after(node(), self(), FirstClaimDelayOver{}, first_claim_delay_);
    return otp::ok();
  }

  otp::Action handle_info(const otp::Message& m) override {
    if (const auto* changed = m.get_if<otp::GlobalNameChanged>()) {
      if (changed->name != name_ || changed->owner) return otp::noreply();
      return may_claim_ ? claim() : otp::noreply();
    }
    if (m.get_if<FirstClaimDelayOver>()) {
      may_claim_ = true;
      return claim();
    }
    return GenServer::handle_info(m);
  }

 private:
  /// Starts a counter registered under the name, unless the node is leaving, the name has an
  /// owner by now or a counter of this node still runs (one that crashed is being restarted by
  /// the owners' supervisor and registers the name again, with its value).
  otp::Action claim() {
    if (cluster_.leaving() || otp::global::whereis_name(node(), name_)) return otp::noreply();
    return await_call<otp::ChildCounts>(owners_, otp::dynamic_supervisor::CountChildren{},
                                        [this](otp::Result<otp::ChildCounts> counts) {
                                          if (!counts || counts->active > 0) return otp::noreply();
                                          return start_counter();
                                        });
  }

  /// The owners' supervisor answers once the counter's init ran (the name registered) or failed.
  otp::Action start_counter() {
    if (cluster_.leaving() || otp::global::whereis_name(node(), name_)) return otp::noreply();
    return await_call<otp::Pid>(
        owners_,
        otp::dynamic_supervisor::StartChild{global_counter(name_, otp::Restart::transient)},
        [this](otp::Result<otp::Pid> started) {
          // already_started: another node's counter registered first (its GlobalNameChanged is
          // on its way); nothing to do until the name is free again.
          if (!started && started.error().code() != otp::ErrorCode::already_started) {
            std::cerr << "counter standby " << name_ << ": " << started.error() << "\n"
                      << std::flush;
          }
          return otp::noreply();
        });
  }

  std::string name_;
  std::string owners_;  // local name of the dynamic supervisor the counter runs under
  const otp::cluster::Cluster& cluster_;
  std::chrono::milliseconds first_claim_delay_;
  bool may_claim_ = false;
};

}  // namespace

otp::ChildSpec counter_standby(const std::string& name, const otp::cluster::Cluster& cluster,
                               std::chrono::milliseconds first_claim_delay) {
  // rest_for_one: the owners' supervisor going down restarts the standby (which claims again);
  // the standby going down leaves a running counter alone.
  const std::string owners = "counter_standby_owners:" + name;
  return otp::supervisor::spec(
      "standby:" + name,
      {otp::dynamic_supervisor::spec("owners",
                                     {.max_restarts = 100, .max_time = std::chrono::seconds(10)})
           .named(owners),
       otp::worker<CounterStandby>("standby", name, owners, &cluster, first_claim_delay)},
      {.strategy = otp::Strategy::rest_for_one,
       .max_restarts = 100,
       .max_time = std::chrono::seconds(10)});
}

}  // namespace services
