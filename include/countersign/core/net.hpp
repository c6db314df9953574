// Project-wide namespace aliases. Deliberately light: only Asio's core
// declarations. Files that need Beast include <countersign/core/beast.hpp>.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

namespace countersign {

namespace net = boost::asio;
using error_code = boost::system::error_code;
template <class T>
using result = boost::system::result<T>;

}  // namespace countersign
