#include "services/cluster_services.hpp"

#include <atomic>
#include <iostream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <unordered_map>

namespace services {

namespace {

/// Where a counter keeps its value when it must outlive the counter's process.
using KeptValue = std::shared_ptr<std::atomic<int>>;

class Counter : public otp::GenServer {
 public:
  Counter() = default;
  explicit Counter(KeptValue kept) : value_(kept->load()), kept_(std::move(kept)) {}

  otp::Action handle_call(const otp::Message& m, const otp::From&) override {
    return m.match(
        [&](const Get&) { return otp::reply(value_); },
        [&](const Add& a) {
          add(a.by);
          return otp::reply(value_);
        },
        [&](const Crash&) -> otp::Action { throw std::runtime_error("counter asked to crash"); });
  }
  otp::Action handle_cast(const otp::Message& m) override {
    return m.match([&](const Increment& i) {
      add(i.by);
      return otp::noreply();
    });
  }
  otp::Action handle_info(const otp::Message& m) override {
    if (const auto* lost = m.get_if<otp::NameConflict>()) {
      // The registry exits this process next ({shutdown, name_conflict}); say who was told.
      // One write: the node's log lines go to stderr from other threads at the same moment.
      std::ostringstream line;
      line << "counter " << self() << " lost global name " << lost->name << " to " << lost->winner
           << "\n";
      std::cerr << line.str() << std::flush;
      return otp::noreply();
    }
    return GenServer::handle_info(m);
  }

 private:
  void add(int by) {
    value_ += by;
    if (kept_) kept_->store(value_);
  }

  int value_ = 0;
  KeptValue kept_;
};

struct SlowDone {
  otp::From from;
};

class Echo : public otp::GenServer {
 public:
  otp::Action handle_call(const otp::Message& m, const otp::From& from) override {
    return m.match(
        [&](const nlohmann::json& j) { return otp::reply(j); },
        [&](const WhoAmI&) { return otp::reply(self()); },
        [&](const Crash&) -> otp::Action { throw std::runtime_error("echo asked to crash"); },
        [&](const Never&) { return otp::noreply(); },
        [&](const Slow& s) {
          otp::send_after(node(), self(), SlowDone{from}, std::chrono::milliseconds(s.ms));
          return otp::noreply();
        });
  }
  otp::Action handle_info(const otp::Message& m) override {
    if (const auto* done = m.get_if<SlowDone>()) {
      otp::gen_server::reply(done->from, otp::Ok{});
      return otp::noreply();
    }
    return GenServer::handle_info(m);
  }
};

class RelayServer : public otp::GenServer {
 public:
  otp::Action init() override {
    trap_exit(true);
    return otp::ok();
  }
  otp::Action handle_call(const otp::Message& m, const otp::From&) override {
    return m.match([&](const Relay& r) {
      return await_call(
          otp::remote_name(r.name, r.node), r.request,
          [](otp::Result<otp::Message> answer) {
            if (!answer) return otp::reply(nlohmann::json{{"error", answer.error().to_string()}});
            if (const auto* j = answer->get_if<nlohmann::json>()) return otp::reply(*j);
            if (const auto* i = answer->get_if<int>()) return otp::reply(nlohmann::json(*i));
            return otp::reply(nlohmann::json{{"type", answer->type_name()}});
          },
          std::chrono::seconds(10));
    });
  }
  otp::Action handle_cast(const otp::Message& m) override {
    return m.match(
        [&](const Forward& f) {
          otp::send(f.to, f.message);
          return otp::noreply();
        },
        [&](const Watch& w) {
          watchers_[otp::monitor(w.pid).value()] = w.notify;
          otp::link(w.pid);
          linked_.emplace_back(w.pid, w.notify);
          return otp::noreply();
        });
  }
  otp::Action handle_info(const otp::Message& m) override {
    if (const auto* d = m.get_if<otp::Down>()) {
      auto it = watchers_.find(d->ref.value());
      if (it != watchers_.end()) {
        otp::send(it->second, Event{"down", d->pid, d->reason.to_string()});
        watchers_.erase(it);
      }
    } else if (const auto* x = m.get_if<otp::ExitSignal>()) {
      for (auto it = linked_.begin(); it != linked_.end(); ++it) {
        if (it->first == x->from) {
          otp::send(it->second, Event{"exit", x->from, x->reason.to_string()});
          linked_.erase(it);
          break;
        }
      }
    }
    return otp::noreply();
  }

 private:
  std::unordered_map<uint64_t, otp::Pid> watchers_;    // monitor ref -> notify
  std::vector<std::pair<otp::Pid, otp::Pid>> linked_;  // linked pid -> notify
};

}  // namespace

void register_types() {
  otp::register_remote_type<Increment>("svc.increment");
  otp::register_remote_type<Get>("svc.get");
  otp::register_remote_type<Add>("svc.add");
  otp::register_remote_type<WhoAmI>("svc.who_am_i");
  otp::register_remote_type<Crash>("svc.crash");
  otp::register_remote_type<Never>("svc.never");
  otp::register_remote_type<Slow>("svc.slow");
  otp::register_remote_type<Relay>("svc.relay");
  otp::register_remote_type<Forward>("svc.forward");
  otp::register_remote_type<Watch>("svc.watch");
  otp::register_remote_type<Event>("svc.event");
}

std::vector<otp::ChildSpec> child_specs() {
  return {otp::worker<Counter>("counter").named("counter"), otp::worker<Echo>("echo").named("echo"),
          otp::worker<RelayServer>("relay").named("relay")};
}

otp::ChildSpec global_counter(const std::string& name, otp::Restart restart) {
  return otp::worker<Counter>("global:" + name, std::make_shared<std::atomic<int>>(0))
      .named(otp::global_name(name))
      .restart(restart);
}

}  // namespace services
