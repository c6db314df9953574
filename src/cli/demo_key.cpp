#include <countersign/cli/demo_key.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <countersign/jose/base64url.hpp>

namespace countersign::cli {

namespace {

std::string errno_text(int err) { return std::strerror(err); }

// Closes a file descriptor on every path out of save_demo_key.
struct fd_closer {
    int fd = -1;
    ~fd_closer()
    {
        if (fd >= 0)
            ::close(fd);
    }
};

// Private JSON text, wiped from memory once written.
struct wiped_string {
    std::string s;
    ~wiped_string() { OPENSSL_cleanse(s.data(), s.size()); }
};

}  // namespace

demo_key_result generate_demo_key(jose::alg a)
{
    demo_key_result out;
    if (jose::family_of(a) == jose::alg_family::hmac) {
        out.error = "the demo tools sign with an asymmetric key (RS*, PS*, ES*, EdDSA), not " +
                    std::string(jose::to_string(a));
        return out;
    }
    auto k = jose::jwk::generate(a);
    if (!k) {
        out.error = "cannot generate a " + std::string(jose::to_string(a)) + " key: " + k.error().message();
        return out;
    }
    out.key = k->with_kid(k->thumbprint());
    out.created = true;
    return out;
}

std::string save_demo_key(const std::filesystem::path& path, const jose::jwk& key)
{
    wiped_string text{key.to_private_json().dump(2)};
    text.s.push_back('\n');

    const auto dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
    unsigned char rnd[6];
    if (RAND_bytes(rnd, sizeof rnd) != 1)
        return "cannot pick a temp file name (RAND_bytes failed)";
    const auto tmp =
        dir / ("." + path.filename().string() + ".tmp." +
               jose::base64url_encode(std::string_view(reinterpret_cast<const char*>(rnd), sizeof rnd)));

    fd_closer f{::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)};
    if (f.fd < 0)
        return "cannot create " + tmp.string() + ": " + errno_text(errno);
    auto fail = [&](const std::string& what) {
        const int err = errno;
        ::close(f.fd);
        f.fd = -1;
        ::unlink(tmp.c_str());
        return what + " " + tmp.string() + ": " + errno_text(err);
    };
    // The umask could have widened nothing here, but make 0600 explicit
    // before a secret byte is written.
    if (::fchmod(f.fd, 0600) != 0)
        return fail("cannot chmod");
    std::size_t written = 0;
    while (written < text.s.size()) {
        const ssize_t n = ::write(f.fd, text.s.data() + written, text.s.size() - written);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return fail("cannot write");
        written += static_cast<std::size_t>(n);
    }
    if (::fsync(f.fd) != 0)
        return fail("fsync failed on");
    ::close(f.fd);
    f.fd = -1;
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        return "cannot rename the new key file onto " + path.string() + ": " + errno_text(err);
    }
    fd_closer d{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
    if (d.fd >= 0)
        ::fsync(d.fd);  // best effort: the key is already in place
    return {};
}

demo_key_result load_or_create_demo_key(const std::filesystem::path& path, jose::alg a)
{
    demo_key_result out;
    std::error_code ec;
    const auto st = std::filesystem::symlink_status(path, ec);
    if (ec && ec != std::errc::no_such_file_or_directory) {
        out.error = "cannot read key file " + path.string() + ": " + ec.message();
        return out;
    }
    if (!std::filesystem::exists(st)) {
        out = generate_demo_key(a);
        if (!out.key)
            return out;
        if (auto err = save_demo_key(path, *out.key); !err.empty()) {
            out.key.reset();
            out.error = "cannot save the new key: " + err;
        }
        return out;
    }
    if (!std::filesystem::is_regular_file(st)) {
        out.error = "key file " + path.string() + " is not a regular file";
        return out;
    }

    std::ifstream in(path, std::ios::binary);
    wiped_string text;
    {
        std::ostringstream ss;
        ss << in.rdbuf();
        text.s = ss.str();
    }
    if (!in) {
        out.error = "cannot read key file " + path.string();
        return out;
    }
    const auto j = nlohmann::json::parse(text.s, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
        out.error = "key file " + path.string() + " is not a JSON object (a private JWK is expected)";
        return out;
    }
    auto k = jose::jwk::from_json(j);
    if (!k) {
        out.error = "key file " + path.string() + ": " + k.error().message();
        return out;
    }
    if (!k->is_private() || k->is_symmetric() || !k->algorithm()) {
        out.error = "key file " + path.string() + " must hold a private RSA, EC or OKP key with an \"alg\"";
        return out;
    }
    out.key = k->kid().empty() ? k->with_kid(k->thumbprint()) : *k;
    using std::filesystem::perms;
    if ((st.permissions() & (perms::group_all | perms::others_all)) != perms::none)
        out.warning = "key file " + path.string() + " is accessible to other users; fix with: chmod 600 " +
                      path.string();
    return out;
}

}  // namespace countersign::cli
