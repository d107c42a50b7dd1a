// DataFetcher: the seed's "Task for Async Operations". fetch_all starts three tasks that simulate
// API calls (100, 200 and 150 ms) and collects their results with await_many: they run in
// parallel, so the whole takes about as long as the slowest one, not the sum. Past the timeout
// (5 s by default) fetch_all returns a timeout error and the unfinished tasks are killed.
//
//   seed::DataFetcher::Data d = seed::DataFetcher::fetch_all(node).value();
//   d.users;  // => {"user1", "user2", "user3"}
//
// Like Task.await_many, fetch_all blocks its caller: call it from main, a test or a task, not from
// a GenServer handler (there it returns would_block at once). Inside a process, DataFetcher::Server
// does the same without blocking: its handler starts the three tasks and collects them with
// otp::task::then_many, one continuation for all three results.
//
//   auto pid = otp::gen_server::start_link<seed::DataFetcher::Server>(node).value();
//   auto d = otp::gen_server::call<seed::DataFetcher::Data>(node, pid,
//   seed::DataFetcher::FetchAll{});
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "otp/otp.hpp"

namespace seed {

struct DataFetcher {
  using List = std::vector<std::string>;
  /// %{users: ..., posts: ..., comments: ...}
  struct Data {
    List users;
    List posts;
    List comments;
  };

  /// Where the three lists come from. fetch_all(node, timeout) uses the simulated API calls
  /// below; tests pass functions that observe how the tasks run.
  struct Sources {
    std::function<List()> users;
    std::function<List()> posts;
    std::function<List()> comments;
  };

  static otp::Result<Data> fetch_all(otp::Node& node,
                                     std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    return fetch_all(node, timeout, Sources{fetch_users, fetch_posts, fetch_comments});
  }

  static otp::Result<Data> fetch_all(otp::Node& node, std::chrono::milliseconds timeout,
                                     const Sources& from) {
    if (otp::self())  // refuse before starting tasks nobody could wait for
      return otp::Error(otp::ErrorCode::would_block,
                        "DataFetcher::fetch_all inside a handler would block the process: use "
                        "DataFetcher::Server, or start the tasks and use otp::task::then_many");
    auto users = otp::task::async(node, from.users);
    auto posts = otp::task::async(node, from.posts);
    auto comments = otp::task::async(node, from.comments);
    auto results = otp::task::await_many(std::tuple{users, posts, comments}, timeout);
    if (!results) return results.error();
    auto& [u, p, c] = *results;
    return Data{std::move(u), std::move(p), std::move(c)};
  }

  /// The request DataFetcher::Server answers with a Data (or the error fetch_all would return).
  struct FetchAll {
    std::chrono::milliseconds timeout = std::chrono::seconds(5);
  };

  /// fetch_all inside a GenServer: the handler starts the tasks (linked to the server) and
  /// returns task::then_many, which parks the server until all three results are in, or the
  /// timeout (the unfinished tasks are then killed, unlinked first, and the caller gets the
  /// timeout error; the server carries on).
  class Server : public otp::GenServer {
   public:
    explicit Server(Sources from = {fetch_users, fetch_posts, fetch_comments})
        : from_(std::move(from)) {}
    otp::Action handle_call(const otp::Message& m, const otp::From&) override {
      return m.match([&](const FetchAll& f) {
        auto users = otp::task::async(node(), from_.users);
        auto posts = otp::task::async(node(), from_.posts);
        auto comments = otp::task::async(node(), from_.comments);
        return otp::task::then_many(
            std::tuple{users, posts, comments},
            [](otp::Result<std::tuple<List, List, List>> r) {
              if (!r) return otp::reply(r.error());
              auto& [u, p, c] = *r;
              return otp::reply(Data{std::move(u), std::move(p), std::move(c)});
            },
            f.timeout);
      });
    }

   private:
    Sources from_;
  };

  // The simulated API calls (defp in the seed). Task functions may block: they run on the
  // node's blocking pool, not on a scheduler thread.
  static List fetch_users() {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    return {"user1", "user2", "user3"};
  }
  static List fetch_posts() {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    return {"post1", "post2"};
  }
  static List fetch_comments() {
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    return {"comment1", "comment2", "comment3"};
  }
};

}  // namespace seed
