// CacheServer: the seed's "Using ETS with GenServer". A GenServer registered as "CacheServer"
// whose init creates a named, public otp::Table "CacheServer" (string -> string). Writes go
// through the server (put is a call: once it returns, every reader sees the value); reads go
// straight to the table from the caller's thread, so they never queue behind the server, even
// while it is busy. The table belongs to the server: it dies with it (a restart starts empty).
//
//   seed::CacheServer::start_link(node);
//   seed::CacheServer::put(node, "k", "v");   // ok
//   seed::CacheServer::get(node, "k");        // "v"; error not_found for a missing key
//
// load(rows_fn) is a long write: rows_fn runs in a task (it may block, e.g. reading a database)
// while the server waits for it without blocking a scheduler thread and handles nothing else;
// readers keep reading meanwhile. A rows_fn that throws crashes the server (the task is linked to
// it), as in Elixir; its supervisor restarts it.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "otp/otp.hpp"

namespace seed {

class CacheServer : public otp::GenServer {
 public:
  static constexpr const char* kName = "CacheServer";
  using Table = otp::Table<std::string, std::string>;
  using Rows = std::vector<std::pair<std::string, std::string>>;
  struct Put {
    std::string key, value;
  };
  struct Load {
    std::function<Rows()> rows;
    std::chrono::milliseconds timeout;
  };

  // -- client API --
  static otp::Result<otp::Pid> start_link(otp::Node& node) {
    return otp::gen_server::start_link<CacheServer>(node, otp::name(kName));
  }
  static otp::ChildSpec child_spec() {
    return otp::worker<CacheServer>("cache_server").named(kName);
  }
  /// Through the server. Errors: noproc, timeout (the write may still happen later).
  static otp::Result<void> put(otp::Node& node, std::string key, std::string value,
                               std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    auto r = otp::gen_server::call(node, kName, Put{std::move(key), std::move(value)}, timeout);
    if (!r) return r.error();
    return {};
  }
  /// Straight from the table: {:ok, value}, or not_found (no such key, or no CacheServer).
  static otp::Result<std::string> get(otp::Node& node, const std::string& key) {
    auto table = Table::find(node, kName);
    if (!table) return table.error();
    try {
      if (auto v = (*table)->lookup(key)) return *v;
    } catch (const otp::CallFailed& e) {  // the table was deleted under us (its owner died)
      return e.error();
    }
    return otp::Error(otp::ErrorCode::not_found, "CacheServer.get: no key " + key);
  }
  /// Inserts every row rows() returns; the number of rows.
  static otp::Result<size_t> load(otp::Node& node, std::function<Rows()> rows,
                                  std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    return otp::gen_server::call<size_t>(node, kName, Load{std::move(rows), timeout}, timeout);
  }

  // -- server callbacks --
  otp::Action init() override {
    // :ets.new(CacheServer, [:named_table, :set, :public])
    auto t = Table::start(
        node(), {.type = otp::TableType::set, .access = otp::TableAccess::public_, .name = kName});
    if (!t) return otp::stop(otp::Reason::error(t.error().to_string()));
    table_ = *t;
    return otp::ok();
  }
  otp::Action handle_call(const otp::Message& request, const otp::From&) override {
    return request.match(
        [&](const Put& p) {
          table_->insert(p.key, p.value);
          return otp::reply(otp::Message());  // :ok
        },
        [&](const Load& l) {
          auto task = otp::task::async(node(), l.rows);
          return otp::task::then<Rows>(
              task,
              [this](otp::Result<Rows> rows) {
                if (!rows) return otp::reply(rows.error());  // a timeout (then killed the task)
                for (auto& [k, v] : *rows) table_->insert(k, v);
                return otp::reply(rows->size());
              },
              l.timeout);
        });
  }

 private:
  std::shared_ptr<Table> table_;
};

}  // namespace seed
