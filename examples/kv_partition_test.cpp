// The kv store's promise under a partition, checked with otp::testkit (README "Test your
// cluster" shows this test): three nodes in this process, the store on n1. While n3 is cut off,
// a put through n1 is acknowledged and one through n3 fails (its node saw n1 go down, and the
// name with it); after the heal n3 reaches the store again, and every acknowledged put is in it.
#include <gtest/gtest.h>

#include <otp/testkit/testkit.hpp>

#include "kv_store.hpp"  // the service: kv::start, kv::put, kv::dump

TEST(KvPartition, AcknowledgedPutsSurviveAPartition) {
  kv::register_types();
  auto store_on_n1 = [](otp::Node& node, size_t i) {
    if (i == 0) kv::start(node).value();  // under its global name, "kv"
  };
  otp::testkit::LocalCluster cluster({.nodes = 3, .setup = store_on_n1});
  cluster.await_global_name("kv", 0);

  otp::testkit::History history;
  auto put = [&](size_t via, const std::string& key) {  // a client on node `via`
    auto id = history.invoke("put", key);
    auto done = kv::put(cluster.node(via), key, "v");
    if (done) {
      history.ok(id);
    } else if (done.code() == otp::ErrorCode::noproc) {
      history.fail(id);  // no owner known there: never sent
    } else {
      history.unknown(id);  // nodedown, timeout: maybe applied
    }
    return done.ok();
  };

  cluster.partition({{0, 1}, {2}});  // n3 cut off from the store
  cluster.await_nodedown(2, 0);
  EXPECT_TRUE(put(0, "a"));
  EXPECT_FALSE(put(2, "b"));
  cluster.heal();
  cluster.await_members(3);
  cluster.await_global_name("kv", 0);
  EXPECT_TRUE(put(2, "c"));

  auto store = kv::dump(cluster.node(0)).value();  // std::map<std::string, std::string>
  auto in_store = [&](const otp::testkit::Operation& op) {
    return store.count(op.arg.get<std::string>());
  };
  auto lost = otp::testkit::check_acknowledged(history, in_store);
  EXPECT_TRUE(lost.ok) << lost.why;  // no acknowledged put was lost
}
