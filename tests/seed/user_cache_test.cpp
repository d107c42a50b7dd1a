// The seed's UserCache: put/delete are casts, get/all are calls; get of an unknown id is nil.
#include "seed/user_cache.hpp"
#include "support/eventually.hpp"

using seed::User;
using seed::UserCache;

TEST(SeedUserCache, PutGetDeleteAll) {
  otp::Node node({.name = "users", .scheduler_threads = 2});
  otp::Pid pid = UserCache::start_link(node).value();
  EXPECT_EQ(node.whereis(UserCache::kName), pid);
  EXPECT_TRUE(UserCache::all(node).empty());  // init: {:ok, %{}}

  UserCache::put(node, 1, {"Alice", "alice@example.com"});
  UserCache::put(node, 2, {"Bob", "bob@example.com"});
  EXPECT_EQ(UserCache::get(node, 1), (User{"Alice", "alice@example.com"}));
  EXPECT_EQ(UserCache::all(node), (UserCache::Users{{1, {"Alice", "alice@example.com"}},
                                                    {2, {"Bob", "bob@example.com"}}}));

  UserCache::remove(node, 1);
  EXPECT_EQ(UserCache::get(node, 1), std::nullopt);
  EXPECT_EQ(UserCache::all(node), (UserCache::Users{{2, {"Bob", "bob@example.com"}}}));
}

TEST(SeedUserCache, GetOfAnUnknownIdIsNil) {
  otp::Node node({.name = "users", .scheduler_threads = 2});
  ASSERT_TRUE(UserCache::start_link(node));
  EXPECT_EQ(UserCache::get(node, 42), std::nullopt);
  UserCache::remove(node, 42);  // Map.delete of a missing key is a no-op
  EXPECT_TRUE(UserCache::all(node).empty());
}

TEST(SeedUserCache, PutReplacesTheUser) {
  otp::Node node({.name = "users", .scheduler_threads = 2});
  ASSERT_TRUE(UserCache::start_link(node));
  UserCache::put(node, 7, {"Carol", "carol@old.example"});
  UserCache::put(node, 7, {"Carol", "carol@new.example"});
  EXPECT_EQ(UserCache::get(node, 7), (User{"Carol", "carol@new.example"}));
  EXPECT_EQ(UserCache::all(node).size(), 1u);
}

TEST(SeedUserCache, ARequestItHasNoClauseForFailsTheCallerAndCrashesTheCache) {
  // As in Elixir (FunctionClauseError): the caller gets bad_call, the server exits.
  otp::Node node({.name = "users", .scheduler_threads = 2, .log_crashes = false});
  otp::Pid pid = UserCache::start_link(node).value();
  UserCache::put(node, 1, {"Alice", "a@example.com"});
  auto r = otp::gen_server::call(node, UserCache::kName, std::string("nonsense"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), otp::ErrorCode::bad_call);
  EXPECT_TRUE(otp_test::eventually([&] { return !otp::alive(pid); }));
}
