// Private: lookups in the table of remote message types (otp/remote_type.hpp).
#pragma once

#include <memory>
#include <string>
#include <typeinfo>

#include "otp/remote_type.hpp"

namespace otp::detail {

std::shared_ptr<const RemoteTypeCodec> remote_codec(const std::type_info& type);
std::shared_ptr<const RemoteTypeCodec> remote_codec(const std::string& name);

}  // namespace otp::detail
