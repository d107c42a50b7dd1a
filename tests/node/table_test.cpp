// Table: types, access rules, ownership and heirs, atomic counters, whole-table operations.
#include <thread>

#include "support/eventually.hpp"
#include "support/workers.hpp"

using namespace std::chrono_literals;
using namespace otp_test;
using otp::ErrorCode;
using otp::Pid;
using StrTable = otp::Table<std::string, int>;

namespace {
struct MakeTable {
  otp::TableAccess access;
  std::string name;
  Pid heir;
};
struct Write {
  std::string key;
  int value;
};

/// Creates and owns a table; writes to it on request (the owner-writes pattern).
class Owner : public otp::GenServer {
 public:
  otp::Action handle_call(const otp::Message& m, const otp::From&) override {
    return m.match(
        [&](const MakeTable& mt) -> otp::Action {
          auto t = StrTable::start(node(), {.access = mt.access,
                                            .name = mt.name,
                                            .heir = mt.heir,
                                            .heir_data = otp::Message(std::string("legacy"))});
          if (!t) return otp::reply(t.error());
          table_ = *t;
          return otp::reply(true);
        },
        [&](const Write& w) {
          table_->insert(w.key, w.value);
          return otp::reply(true);
        });
  }

 private:
  std::shared_ptr<StrTable> table_;
};

/// Records TableTransfer messages it inherits.
class Heir : public otp::GenServer {
 public:
  explicit Heir(std::shared_ptr<EventLog> log) : log_(std::move(log)) {}
  otp::Action handle_info(const otp::Message& m) override {
    if (auto* t = m.get_if<otp::TableTransfer>())
      log_->add("transfer:" + t->table + ":" + t->heir_data.get<std::string>());
    return otp::noreply();
  }

 private:
  std::shared_ptr<EventLog> log_;
};

class TableTest : public ::testing::Test {
 protected:
  otp::Node node{{.name = "tab", .scheduler_threads = 2, .log_crashes = false}};
  std::shared_ptr<EventLog> log = std::make_shared<EventLog>();

  Pid owner_with(otp::TableAccess access, const std::string& name, Pid heir = {}) {
    Pid o = otp::gen_server::start<Owner>(node).value();
    EXPECT_TRUE(otp::gen_server::call<bool>(node, o, MakeTable{access, name, heir}));
    return o;
  }
};
}  // namespace

TEST_F(TableTest, ProtectedTableIsReadableByAllButWritableOnlyByItsOwner) {
  Pid o = owner_with(otp::TableAccess::protected_, "prot");
  auto t = StrTable::find(node, "prot").value();
  ASSERT_TRUE(otp::gen_server::call<bool>(node, o, Write{"k", 1}));
  EXPECT_EQ(t->lookup("k"), 1);
  try {
    t->insert("k", 2);
    FAIL() << "a non-owner wrote to a protected table";
  } catch (const otp::CallFailed& e) {
    EXPECT_EQ(e.error().code(), ErrorCode::badarg);
    EXPECT_NE(std::string(e.what()).find("protected table prot"), std::string::npos) << e.what();
  }
  EXPECT_EQ(t->lookup("k"), 1);
}

TEST_F(TableTest, PrivateTableCanNotEvenBeReadByOthers) {
  owner_with(otp::TableAccess::private_, "priv");
  auto t = StrTable::find(node, "priv").value();
  EXPECT_THROW((void)t->lookup("k"), otp::CallFailed);
  EXPECT_THROW((void)t->to_list(), otp::CallFailed);
}

TEST_F(TableTest, PublicTableIsWritableByAnyone) {
  owner_with(otp::TableAccess::public_, "pub");
  auto t = StrTable::find(node, "pub").value();
  t->insert("a", 1);
  EXPECT_EQ(t->lookup("a"), 1);
}

TEST_F(TableTest, ATableDiesWithItsOwner) {
  Pid o = owner_with(otp::TableAccess::public_, "mortal");
  auto t = StrTable::find(node, "mortal").value();
  t->insert("a", 1);
  otp::Inbox inbox(node);
  inbox.monitor(o);
  otp::exit(o, otp::Reason::kill());
  ASSERT_TRUE(inbox.receive_as<otp::Down>(10s));
  EXPECT_TRUE(t->deleted());
  EXPECT_THROW((void)t->lookup("a"), otp::CallFailed);
  EXPECT_EQ(StrTable::find(node, "mortal").code(), ErrorCode::not_found);
}

TEST_F(TableTest, TheHeirInheritsTheTableAndIsTold) {
  Pid heir = otp::gen_server::start<Heir>(node, log).value();
  Pid o = owner_with(otp::TableAccess::protected_, "inherited", heir);
  ASSERT_TRUE(otp::gen_server::call<bool>(node, o, Write{"k", 7}));
  otp::exit(o, otp::Reason::kill());
  ASSERT_TRUE(eventually([&] { return log->count("transfer:inherited:legacy") == 1; }));
  auto t = StrTable::find(node, "inherited").value();
  EXPECT_EQ(t->owner(), heir);
  EXPECT_EQ(t->lookup("k"), 7);
}

TEST_F(TableTest, NamesAreUniqueAndTypeChecked) {
  auto t = StrTable::start(node, {.name = "named"});
  ASSERT_TRUE(t);
  EXPECT_EQ(StrTable::start(node, {.name = "named"}).code(), ErrorCode::already_started);
  EXPECT_EQ((otp::Table<int, int>::find(node, "named").code()), ErrorCode::badarg);
  EXPECT_EQ(StrTable::find(node, "nope").code(), ErrorCode::not_found);
}

TEST_F(TableTest, SetReplacesBagKeepsDistinctValuesOrderedSetIsSorted) {
  auto set = StrTable::start(node, {.type = otp::TableType::set}).value();
  set->insert("k", 1);
  set->insert("k", 2);
  EXPECT_EQ(set->lookup_all("k"), std::vector<int>{2});

  auto bag = StrTable::start(node, {.type = otp::TableType::bag}).value();
  bag->insert("k", 1);
  bag->insert("k", 2);
  bag->insert("k", 1);
  EXPECT_EQ(bag->lookup_all("k"), (std::vector<int>{1, 2}));
  EXPECT_EQ(bag->size(), 2u);

  auto ordered = StrTable::start(node, {.type = otp::TableType::ordered_set}).value();
  for (auto k : {"c", "a", "b"}) ordered->insert(k, 0);
  auto list = ordered->to_list();
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0].first, "a");
  EXPECT_EQ(list[2].first, "c");
}

TEST_F(TableTest, InsertNewMemberTakeEraseSelectFoldl) {
  auto t = StrTable::start(node).value();
  EXPECT_TRUE(t->insert_new("a", 1));
  EXPECT_FALSE(t->insert_new("a", 9));
  EXPECT_EQ(t->lookup("a"), 1);
  t->insert("b", 2);
  t->insert("c", 3);
  EXPECT_TRUE(t->member("b"));
  EXPECT_EQ(t->take("b"), std::vector<int>{2});
  EXPECT_FALSE(t->member("b"));
  t->erase("c");
  EXPECT_EQ(t->size(), 1u);
  t->insert("d", 4);
  auto big = t->select([](const std::string&, const int& v) { return v > 1; });
  ASSERT_EQ(big.size(), 1u);
  EXPECT_EQ(big[0].first, "d");
  EXPECT_EQ(t->foldl([](const std::string&, const int& v, int acc) { return acc + v; }, 0), 5);
}

TEST_F(TableTest, UpdateCounterIsAtomicUnderConcurrentWriters) {
  auto t =
      otp::Table<std::string, long>::start(node, {.access = otp::TableAccess::public_}).value();
  std::vector<std::thread> writers;
  for (int i = 0; i < 4; ++i)
    writers.emplace_back([&] {
      for (int j = 0; j < 10000; ++j) t->update_counter("hits", 1);
    });
  for (auto& w : writers) w.join();
  EXPECT_EQ(t->lookup("hits"), 40000);
  EXPECT_EQ(t->update_counter("new", 5, 100), 105);
}

TEST_F(TableTest, DeleteTableMakesEveryLaterOperationFail) {
  auto t = StrTable::start(node, {.name = "gone"}).value();
  t->insert("a", 1);
  t->delete_table();
  EXPECT_THROW(t->insert("a", 1), otp::CallFailed);
  EXPECT_EQ(StrTable::find(node, "gone").code(), ErrorCode::not_found);
}
