// The one translation unit that compiles Asio, Asio's SSL support and Beast.
// Every other file sees only declarations (BOOST_*_SEPARATE_COMPILATION).
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
