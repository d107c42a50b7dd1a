// DataFetcher: the seed's "Task for Async Operations". fetch_all starts three tasks that simulate
// API calls (100, 200 and 150 ms) and collects their results with await_many: they run in
// parallel, so the whole takes about as long as the slowest one, not the sum. Past the timeout
// (5 s by default) fetch_all returns a timeout error and the unfinished tasks are killed.
//
//   seed::DataFetcher::Data d = seed::DataFetcher::fetch_all(node).value();
//   d.users;  // => {"user1", "user2", "user3"}
//
// Like Task.await_many, fetch_all blocks its caller: call it from main, a test or a task, not from
// a GenServer handler (there it returns would_block at once; use otp::task::then).
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <thread>
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
                        "DataFetcher.fetch_all inside a GenServer handler would block a scheduler "
                        "thread; start the tasks and use otp::task::then");
    std::vector<otp::Task<List>> tasks = {
        otp::task::async(node, from.users),
        otp::task::async(node, from.posts),
        otp::task::async(node, from.comments),
    };
    auto results = otp::task::await_many(tasks, timeout);
    if (!results) return results.error();
    auto& r = *results;
    return Data{std::move(r.at(0)), std::move(r.at(1)), std::move(r.at(2))};
  }

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
