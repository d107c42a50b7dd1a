// Internal machinery of otp/table.hpp: the untyped part of every Table (ownership, access
// rules, naming, deletion with the owner). Read otp/table.hpp instead; nothing here is API.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <typeinfo>

#include "otp/error.hpp"
#include "otp/message.hpp"
#include "otp/node.hpp"
#include "otp/pid.hpp"

namespace otp {

enum class TableType;
enum class TableAccess;
struct TableOptions;

namespace detail {

/// The untyped part of a table: ownership, access rules, naming, deletion with the owner.
class TableCore {
 public:
  TableCore(Node& node, const TableOptions& options, Pid owner, const std::type_info& type);
  virtual ~TableCore();

  const std::string& name() const { return name_; }
  TableType type() const { return type_; }
  Pid owner() const;
  bool deleted() const { return deleted_.load(std::memory_order_acquire); }

  /// Throws badarg unless the running process may read / write.
  void check_read() const {
    if (deleted() || (read_needs_owner_ && !is_owner())) deny("read");
  }
  void check_write() const {
    if (deleted() || (write_needs_owner_ && !is_owner())) deny("write");
  }
  /// Deletes the table (owner, or anyone for a public table).
  void delete_table();

  /// Starts watching the owner; called once the typed table exists.
  void watch_owner(std::shared_ptr<TableCore> self);
  /// The owner died: hand the table to the heir or delete it.
  void owner_down(const Pid& old_owner);
  static Result<std::shared_ptr<TableCore>> find(Node& node, const std::string& name,
                                                 const std::type_info& type);
  Result<void> publish(Node& node, std::shared_ptr<TableCore> self);

 protected:
  virtual void clear_data() = 0;

 private:
  bool is_owner() const;
  [[noreturn]] void deny(const char* what) const;

  class OwnerWatch;
  Node* node_;
  std::string name_;
  TableType type_;
  TableAccess access_;
  bool read_needs_owner_;   // private
  bool write_needs_owner_;  // protected or private
  const std::type_info& kv_type_;
  std::atomic<uint64_t> owner_id_;
  std::atomic<uint32_t> owner_serial_;
  mutable std::mutex mx_;  // owner pid / heir hand-over
  Pid owner_;
  Pid heir_;
  Message heir_data_;
  std::atomic<bool> deleted_{false};
  std::shared_ptr<OwnerWatch> watch_;
};

}  // namespace detail

}  // namespace otp
