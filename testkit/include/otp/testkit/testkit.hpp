// otp::testkit: test your own service on a cluster. One include for the whole kit:
//   local_cluster.hpp  LocalCluster: N nodes inside the test process, faults through the
//                      cluster's fault seam (partition, heal, drop, slow, kill, restart), awaits
//   await.hpp          Signal and AwaitError: wait on a condition with a deadline, no sleeps
//   history.hpp        History: what the clients did (invoke, ok / fail / unknown, with times)
//   check.hpp          check_acknowledged, check_no_duplicates: the history against the final state
// Link the CMake target otp::testkit (otp_testkit in this tree).
//
// clang-format off
//   #include "otp/testkit/testkit.hpp"
//   TEST(MyService, SurvivesAPartition) {
//     otp::testkit::LocalCluster cluster({.nodes = 3, .setup = start_my_service});
//     otp::testkit::History history;
//     cluster.partition({{0}, {1, 2}});
//     run_clients(cluster, history);                  // invoke / ok / fail / unknown
//     cluster.heal();
//     cluster.await_members(3);
//     auto lost = otp::testkit::check_acknowledged(history, applied_in(final_state(cluster)));
//     EXPECT_TRUE(lost.ok) << lost.why;
//   }
// clang-format on
#pragma once

#include "otp/testkit/await.hpp"
#include "otp/testkit/check.hpp"
#include "otp/testkit/history.hpp"
#include "otp/testkit/local_cluster.hpp"
