// otp::Table<K, V>: an ETS-like in-memory table shared between processes and threads. As in the
// seed's CacheServer, readers go straight to the table and writes go through the owning server:
//
// clang-format off
//   // in CacheServer::init():
//   table_ = otp::Table<std::string, std::string>::start(node(), {.type = otp::TableType::set,
//                                 .access = otp::TableAccess::public_, .name = "cache"}).value();
//   // anywhere:
//   auto t = otp::Table<std::string, std::string>::find(node, "cache");
//   if (auto v = t->lookup("k")) ...
// clang-format on
//
// Types: set (one value per key), ordered_set (one value per key, iterated in key order), bag
// (several distinct values per key). Access, enforced on every operation: public (anyone reads
// and writes), protected (the owner writes, anyone reads), private (only the owner). A table is
// owned by the process that created it and is deleted when the owner dies, unless an heir is set:
// the heir then becomes the owner and receives otp::TableTransfer in handle_info.
//
// Misuse raises, as ETS raises badarg: an operation on a deleted table, or one the access rule
// forbids, throws otp::CallFailed with code badarg naming the table and the rule.
//
// Concurrency: set and bag tables are split into partitions by key hash, each behind its own
// reader-writer lock whose readers write nothing shared, so concurrent readers scale with cores
// and wait only for a writer of the same partition; update_counter is atomic. Operations over the
// whole table (select, foldl, to_list, size) visit one partition at a time: they see each partition
// consistently, not the whole table at one instant (ETS without safe_fixtable behaves the same
// way). ordered_set uses one lock. K needs std::hash and operator<; values are copied out, so keep
// them cheap to copy (or use shared_ptr).
#pragma once

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "otp/detail/read_mostly_lock.hpp"
#include "otp/detail/table.hpp"
#include "otp/error.hpp"
#include "otp/message.hpp"
#include "otp/node.hpp"
#include "otp/pid.hpp"
#include "otp/process.hpp"

namespace otp {

/// set: one value per key; ordered_set: the same, iterated in key order; bag: several distinct
/// values per key.
enum class TableType { set, ordered_set, bag };
/// Who may read and write (the owner always may): public_ anyone, protected_ anyone reads,
/// private_ nobody else.
enum class TableAccess { public_, protected_, private_ };

/// How Table::start sets up a table (ETS's options list).
struct TableOptions {
  /// set, ordered_set or bag.
  TableType type = TableType::set;
  /// Who besides the owner may read and write.
  TableAccess access = TableAccess::protected_;
  /// Named tables are found with Table<K, V>::find(node, name); empty = unnamed.
  std::string name = {};
  /// Receives the table when the owner dies; otherwise the table is deleted with its owner.
  Pid heir = {};
  /// Sent to the heir with the table (TableTransfer::heir_data).
  Message heir_data = {};
  /// Lock partitions for set and bag (more partitions: less waiting between writers); 0 = 16.
  size_t partitions = 0;
};

/// Sent to the heir when it inherits a table (ETS's {'ETS-TRANSFER', Tab, FromPid, HeirData}).
struct TableTransfer {
  std::string table;
  Pid from;
  Message heir_data;
};

/// A table of K -> V (see the header comment); shared by shared_ptr, found by name.
template <class K, class V>
class Table final : public detail::TableCore {
  struct Partition {
    mutable detail::ReadMostlyLock mx;
    std::unordered_map<K, std::vector<V>> data;
  };

 public:
  /// Creates a table owned by the running process. Created outside any process, it belongs to
  /// the threads outside the actor system (they count as its owner) and lives until deleted or
  /// the node stops. Errors: already_started when the name is taken.
  static Result<std::shared_ptr<Table>> start(Node& node, TableOptions options = {}) {
    return start(node, std::move(options), self());
  }
  /// The same, owned by owner instead of the running process.
  static Result<std::shared_ptr<Table>> start(Node& node, TableOptions options, Pid owner) {
    std::shared_ptr<Table> t(new Table(node, options, owner));
    if (!options.name.empty()) {
      auto r = t->publish(node, t);
      if (!r) return r.error();
    }
    t->watch_owner(t);
    return t;
  }
  /// The named table; not_found when missing, badarg when it holds other types.
  static Result<std::shared_ptr<Table>> find(Node& node, const std::string& name) {
    auto r = detail::TableCore::find(node, name, typeid(Table));
    if (!r) return r.error();
    return std::static_pointer_cast<Table>(*r);
  }

  /// Inserts (set/ordered_set: replaces the value; bag: adds it unless the same value is there).
  void insert(const K& key, V value) {
    check_write();
    with_values_w(key, [&](std::vector<V>& vs) {
      if (type() != TableType::bag) {
        vs.assign(1, std::move(value));
      } else if (std::find(vs.begin(), vs.end(), value) == vs.end()) {
        vs.push_back(std::move(value));
      }
    });
  }
  /// Inserts only if the key is absent; returns whether it did.
  bool insert_new(const K& key, V value) {
    check_write();
    bool inserted = false;
    with_values_w(key, [&](std::vector<V>& vs) {
      if (vs.empty()) {
        vs.push_back(std::move(value));
        inserted = true;
      }
    });
    return inserted;
  }
  /// The value under key (the first one, for a bag).
  std::optional<V> lookup(const K& key) const {
    check_read();
    std::optional<V> out;
    with_values_r(key, [&](const std::vector<V>& vs) {
      if (!vs.empty()) out = vs.front();
    });
    return out;
  }
  /// Every value under key.
  std::vector<V> lookup_all(const K& key) const {
    check_read();
    std::vector<V> out;
    with_values_r(key, [&](const std::vector<V>& vs) { out = vs; });
    return out;
  }
  /// Whether key has a value.
  bool member(const K& key) const {
    check_read();
    bool found = false;
    with_values_r(key, [&](const std::vector<V>& vs) { found = !vs.empty(); });
    return found;
  }
  /// Removes key and its values.
  void erase(const K& key) { take(key); }
  /// Removes key and returns its values.
  std::vector<V> take(const K& key) {
    check_write();
    if (type() == TableType::ordered_set) {
      std::unique_lock<detail::ReadMostlyLock> w(ordered_mx_);
      auto it = ordered_.find(key);
      if (it == ordered_.end()) return {};
      std::vector<V> out{std::move(it->second)};
      ordered_.erase(it);
      return out;
    }
    Partition& p = part(key);
    std::unique_lock<detail::ReadMostlyLock> w(p.mx);
    auto it = p.data.find(key);
    if (it == p.data.end()) return {};
    std::vector<V> out = std::move(it->second);
    p.data.erase(it);
    return out;
  }
  /// Atomically adds incr to the integer under key (inserting `initial` first if absent) and
  /// returns the new value. Set and ordered_set only.
  V update_counter(const K& key, V incr, V initial = V{}) requires std::is_integral_v<V> {
    check_write();
    if (type() == TableType::bag)
      throw CallFailed(Error(ErrorCode::badarg, "update_counter on a bag"));
    V result{};
    with_values_w(key, [&](std::vector<V>& vs) {
      if (vs.empty()) vs.push_back(initial);
      vs.front() += incr;
      result = vs.front();
    });
    return result;
  }
  /// Every (key, value) for which pred holds (ETS select/match with a predicate).
  std::vector<std::pair<K, V>> select(const std::function<bool(const K&, const V&)>& pred) const {
    std::vector<std::pair<K, V>> out;
    for_each([&](const K& k, const V& v) {
      if (pred(k, v)) out.emplace_back(k, v);
    });
    return out;
  }
  /// acc = fn(key, value, acc) over every object (in key order for ordered_set).
  template <class Acc, class F>
  Acc foldl(F fn, Acc acc) const {
    for_each([&](const K& k, const V& v) { acc = fn(k, v, std::move(acc)); });
    return acc;
  }
  /// Every (key, value).
  std::vector<std::pair<K, V>> to_list() const {
    return select([](const K&, const V&) { return true; });
  }
  /// Number of objects ((key, value) pairs).
  size_t size() const {
    return foldl([](const K&, const V&, size_t n) { return n + 1; }, size_t{0});
  }

 protected:
  void clear_data() override {
    for (auto& p : parts_) {
      std::unique_lock<detail::ReadMostlyLock> w(p->mx);
      p->data.clear();
    }
    std::unique_lock<detail::ReadMostlyLock> w(ordered_mx_);
    ordered_.clear();
  }

 private:
  Table(Node& node, const TableOptions& options, Pid owner)
      : TableCore(node, options, std::move(owner), typeid(Table)) {
    size_t n = options.partitions ? options.partitions : 16;
    if (options.type == TableType::ordered_set) n = 0;
    for (size_t i = 0; i < n; ++i) parts_.push_back(std::make_unique<Partition>());
  }

  Partition& part(const K& key) const { return *parts_[std::hash<K>{}(key) % parts_.size()]; }

  template <class F>
  void with_values_r(const K& key, F&& f) const {
    static const std::vector<V> none;
    if (type() == TableType::ordered_set) {
      std::shared_lock<detail::ReadMostlyLock> r(ordered_mx_);
      auto it = ordered_.find(key);
      f(it == ordered_.end() ? none : it->second);
      return;
    }
    Partition& p = part(key);
    std::shared_lock<detail::ReadMostlyLock> r(p.mx);
    auto it = p.data.find(key);
    f(it == p.data.end() ? none : it->second);
  }

  template <class F>
  void with_values_w(const K& key, F&& f) {
    if (type() == TableType::ordered_set) {
      std::unique_lock<detail::ReadMostlyLock> w(ordered_mx_);
      auto& vs = ordered_[key];
      f(vs);
      if (vs.empty()) ordered_.erase(key);
      return;
    }
    Partition& p = part(key);
    std::unique_lock<detail::ReadMostlyLock> w(p.mx);
    auto& vs = p.data[key];
    f(vs);
    if (vs.empty()) p.data.erase(key);
  }

  // f runs outside the table's locks (on a copy of one partition at a time), so it may use the
  // table itself.
  template <class F>
  void for_each(F&& f) const {
    check_read();
    std::vector<std::pair<K, std::vector<V>>> copy;
    if (type() == TableType::ordered_set) {
      {
        std::shared_lock<detail::ReadMostlyLock> r(ordered_mx_);
        copy.assign(ordered_.begin(), ordered_.end());
      }
      for (auto& [k, vs] : copy)
        for (auto& v : vs) f(k, v);
      return;
    }
    for (auto& p : parts_) {
      {
        std::shared_lock<detail::ReadMostlyLock> r(p->mx);
        copy.assign(p->data.begin(), p->data.end());
      }
      for (auto& [k, vs] : copy)
        for (auto& v : vs) f(k, v);
    }
  }

  std::vector<std::unique_ptr<Partition>> parts_;
  mutable detail::ReadMostlyLock ordered_mx_;
  std::map<K, std::vector<V>> ordered_;
};

}  // namespace otp
