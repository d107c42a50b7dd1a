// The untyped half of otp::Table: ownership, access rules, named lookup, and what happens when
// the owner dies (hand-over to the heir, or deletion).
#include <stdexcept>

#include "node_core.hpp"
#include "otp/table.hpp"
#include "process_control.hpp"

namespace otp::detail {

namespace {
std::string resource_key(const std::string& name) {
  return "table:" + name;
}
}  // namespace

/// Watches the owner: registered as a monitor on the owner's control block, so the owner's death
/// reaches the table synchronously, before anyone else sees the owner's Down.
class TableCore::OwnerWatch final : public Endpoint {
 public:
  explicit OwnerWatch(std::weak_ptr<TableCore> table) : table_(std::move(table)) {}
  void deliver(Envelope&& e, bool) override {
    if (e.kind != EnvelopeKind::down) return;
    if (auto t = table_.lock()) t->owner_down(e.from());
  }

 private:
  std::weak_ptr<TableCore> table_;
};

TableCore::TableCore(Node& node, const TableOptions& options, Pid owner, const std::type_info& type)
    : node_(&node),
      name_(options.name.empty() ? std::string("(unnamed)") : options.name),
      type_(options.type),
      access_(options.access),
      read_needs_owner_(options.access == TableAccess::private_),
      write_needs_owner_(options.access != TableAccess::public_),
      kv_type_(type),
      owner_id_(owner.id()),
      owner_serial_(owner.node_serial()),
      owner_(std::move(owner)),
      heir_(options.heir),
      heir_data_(options.heir_data) {}

TableCore::~TableCore() = default;

Pid TableCore::owner() const {
  std::lock_guard<std::mutex> g(mx_);
  return owner_;
}

bool TableCore::is_owner() const {
  Pid me = self();
  uint64_t id = owner_id_.load(std::memory_order_acquire);
  if (id == 0) return !me;  // owned by the threads outside the actor system
  return me && me.id() == id && me.node_serial() == owner_serial_.load(std::memory_order_acquire);
}

void TableCore::deny(const char* what) const {
  const char* rule = access_ == TableAccess::private_ ? "private" : "protected";
  if (deleted()) throw CallFailed(Error(ErrorCode::badarg, "table " + name_ + " was deleted"));
  throw CallFailed(Error(ErrorCode::badarg, std::string(what) + " of " + rule + " table " + name_ +
                                                " by " + self().to_string() +
                                                ", which is not its owner " + owner().to_string()));
}

void TableCore::watch_owner(std::shared_ptr<TableCore> self_ptr) {
  std::lock_guard<std::mutex> g(mx_);
  watch_ = std::make_shared<OwnerWatch>(self_ptr);
  if (!owner_) return;
  if (!RuntimeAccess::process(owner_)->add_monitor(Ref::make(), watch_)) {
    // The owner is already dead: as if it died right now.
    Pid gone = owner_;
    mx_.unlock();
    owner_down(gone);
    mx_.lock();
  }
}

void TableCore::owner_down(const Pid& old_owner) {
  Pid heir;
  Message heir_data;
  {
    std::lock_guard<std::mutex> g(mx_);
    if (!(old_owner == owner_) || deleted()) return;
    if (heir_ && RuntimeAccess::process(heir_)->alive() && !(heir_ == old_owner)) {
      heir = heir_;
      heir_data = heir_data_;
      heir_ = Pid();
      owner_ = heir;
      owner_serial_.store(heir.node_serial(), std::memory_order_release);
      owner_id_.store(heir.id(), std::memory_order_release);
      if (!RuntimeAccess::process(heir)->add_monitor(Ref::make(), watch_)) heir = Pid();
    }
  }
  if (heir) {
    send(heir, TableTransfer{name_, old_owner, std::move(heir_data)});
    return;
  }
  deleted_.store(true, std::memory_order_release);
  clear_data();
  RuntimeAccess::core(*node_).erase_resource(resource_key(name_), this);
}

void TableCore::delete_table() {
  check_write();
  deleted_.store(true, std::memory_order_release);
  clear_data();
  RuntimeAccess::core(*node_).erase_resource(resource_key(name_), this);
}

Result<void> TableCore::publish(Node& node, std::shared_ptr<TableCore> self_ptr) {
  auto r = RuntimeAccess::core(node).put_resource(resource_key(name_), std::move(self_ptr));
  if (!r) return Error(ErrorCode::already_started, "table " + name_ + " already exists");
  return {};
}

Result<std::shared_ptr<TableCore>> TableCore::find(Node& node, const std::string& name,
                                                   const std::type_info& type) {
  auto core = std::static_pointer_cast<TableCore>(
      RuntimeAccess::core(node).get_resource(resource_key(name)));
  if (!core || core->deleted())
    return Error(ErrorCode::not_found, "table " + name + ": no such table");
  if (core->kv_type_ != type)
    return Error(ErrorCode::badarg, "table " + name + " holds " + type_name(core->kv_type_) +
                                        ", not " + type_name(type));
  return core;
}

}  // namespace otp::detail
