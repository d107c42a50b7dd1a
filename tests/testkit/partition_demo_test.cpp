// The test kit's promise: a partition test of a service of your own in a dozen lines of
// GoogleTest. The service: a journal under a global name on n1 that appends the tokens it is
// given. Clients on every node add tokens while n1 is cut off from n2 and n3 and record what
// they were told in a History; after the heal the journal must hold every acknowledged token
// (none lost) and none twice or from a refused add.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "otp/distributed.hpp"
#include "otp/otp.hpp"
#include "otp/testkit/testkit.hpp"

namespace {

using namespace std::chrono_literals;

/// The service under test: call with an int token appends it (the reply: how many it holds);
/// call with "items" answers every token, in order.
class Journal : public otp::GenServer {
 public:
  otp::Action handle_call(const otp::Message& m, const otp::From&) override {
    if (const auto* token = m.get_if<int>()) {
      items_.push_back(*token);
      return otp::reply(static_cast<int>(items_.size()));
    }
    return otp::reply(nlohmann::json(items_));
  }

 private:
  std::vector<int> items_;
};

void start_journal(otp::Node& node, size_t i) {
  if (i == 0) {
    ASSERT_TRUE(otp::gen_server::start<Journal>(node, otp::name(otp::global_name("journal"))));
  }
}

/// One client: `count` adds through the global name from node i, each recorded.
void add_tokens(otp::testkit::LocalCluster& cluster, size_t i, int count,
                otp::testkit::History& history) {
  for (int k = 0; k < count; ++k) {
    const int token = static_cast<int>(i) * 1000 + k;
    auto id = history.invoke("add", token, cluster.name(i));
    auto r = otp::gen_server::call<int>(cluster.node(i), otp::global_name("journal"), token, 5s);
    if (r) {
      history.ok(id, *r);
    } else if (r.error().code() == otp::ErrorCode::noproc) {
      history.fail(id, r.error().to_string());  // no owner seen: never sent
    } else {
      history.unknown(id, r.error().to_string());  // a timeout, a nodedown: maybe applied
    }
  }
}

TEST(TestkitDemo, AcknowledgedAddsSurviveAPartition) {
  otp::testkit::LocalCluster cluster({.nodes = 3, .setup = start_journal});
  cluster.await_global_name("journal", 0);
  otp::testkit::History history;
  cluster.partition({{0}, {1, 2}});
  cluster.await_nodedown(1, 0);
  cluster.await_nodedown(2, 0);
  std::vector<std::thread> clients;
  for (size_t i = 0; i < 3; ++i)
    clients.emplace_back([&, i] { add_tokens(cluster, i, 20, history); });
  for (auto& c : clients) c.join();
  cluster.heal();
  cluster.await_members(3);
  cluster.await_global_name("journal", 0);

  auto items = otp::gen_server::call<nlohmann::json>(cluster.node(2), otp::global_name("journal"),
                                                     std::string("items"))
                   .value()
                   .get<std::vector<int>>();
  auto applied = [&](const otp::testkit::Operation& o) {
    return static_cast<size_t>(std::count(items.begin(), items.end(), o.arg.get<int>()));
  };
  auto lost = otp::testkit::check_acknowledged(history, applied);
  EXPECT_TRUE(lost.ok) << lost.why << history.to_string();
  auto twice = otp::testkit::check_no_duplicates(history, applied);
  EXPECT_TRUE(twice.ok) << twice.why << history.to_string();
  // The partition was real: only n1's own adds were acknowledged.
  for (const auto& o : history.operations()) {
    if (o.outcome == otp::testkit::Outcome::ok) {
      EXPECT_EQ(o.client, cluster.name(0)) << o.to_string();
    }
  }
  EXPECT_GT(history.count(otp::testkit::Outcome::ok), 0u) << history.to_string();
}

}  // namespace
