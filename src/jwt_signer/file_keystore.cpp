#include "countersign/jwt_signer/file_keystore.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

namespace countersign::jwt_signer {

namespace {

constexpr const char* format_name = "countersign-keyset";
constexpr int format_version = 1;
constexpr std::size_t max_file_size = 16 * 1024 * 1024;

std::string errno_text(int err) { return std::strerror(err); }

keys_failure io_failure(const std::string& what, const std::filesystem::path& p, int err)
{
    return make_failure(keys_errc::io_error, what + " " + p.string() + ": " + errno_text(err));
}

std::string to_hex(const unsigned char* data, std::size_t n)
{
    static const char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(n * 2);
    for (std::size_t i = 0; i < n; ++i) {
        out.push_back(digits[data[i] >> 4]);
        out.push_back(digits[data[i] & 0xf]);
    }
    return out;
}

std::string sha256_hex(std::string_view data)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
    return to_hex(md, len);
}

// Closes an fd on scope exit.
struct fd_guard {
    int fd = -1;
    ~fd_guard()
    {
        if (fd >= 0)
            ::close(fd);
    }
    int release()
    {
        int f = fd;
        fd = -1;
        return f;
    }
};

// Wipes a string holding private key material before freeing it.
struct secret_string {
    std::string s;
    ~secret_string()
    {
        if (!s.empty())
            OPENSSL_cleanse(s.data(), s.size());
    }
};

bool is_key_file_name(std::string_view n)
{
    if (n.size() != 64 + 5 || n.substr(64) != ".json")
        return false;
    return std::all_of(n.begin(), n.begin() + 64, [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool is_temp_file_name(std::string_view n)
{
    return n.size() > 1 && n[0] == '.' && n.find(".json.tmp.") != std::string_view::npos;
}

keys_result<void> fsync_dir(const std::filesystem::path& dir)
{
    fd_guard d{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
    if (d.fd < 0)
        return io_failure("cannot open directory", dir, errno);
    if (::fsync(d.fd) != 0)
        return io_failure("fsync failed on directory", dir, errno);
    return {};
}

// Checks owner and mode of an open fd; tightens the mode when allowed.
keys_result<void> check_mode(int fd, const struct stat& st, const std::filesystem::path& p, bool is_dir,
                             bool repair)
{
    if (st.st_uid != ::geteuid())
        return make_failure(keys_errc::insecure_permissions,
                            p.string() + " is owned by uid " + std::to_string(st.st_uid) +
                                ", not by the gateway's uid " + std::to_string(::geteuid()) +
                                "; refusing to use it for signing keys");
    const mode_t wanted = is_dir ? 0700 : 0600;
    if ((st.st_mode & 077) == 0)
        return {};
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    if (!repair)
        return make_failure(keys_errc::insecure_permissions,
                            p.string() + " has mode " + mode + " (group/world-accessible); signing keys must be in " +
                                "a 0700 directory with 0600 files. Fix with: chmod " + (is_dir ? "700 " : "600 ") +
                                p.string() + " (check whether the keys may have leaked and rotate them if so)");
    if (::fchmod(fd, wanted) != 0)
        return io_failure("cannot chmod", p, errno);
    spdlog::warn("key storage: {} had mode {}; tightened to {:04o}", p.string(), mode, static_cast<unsigned>(wanted));
    return {};
}

keys_result<void> make_dir(const std::filesystem::path& p)
{
    if (::mkdir(p.c_str(), 0700) != 0 && errno != EEXIST)
        return io_failure("cannot create directory", p, errno);
    return {};
}

}  // namespace

file_keystore::file_keystore(std::filesystem::path dir, file_keystore_options options)
    : dir_(std::move(dir)), options_(options)
{
}

keys_result<std::shared_ptr<file_keystore>> file_keystore::open(const std::filesystem::path& data_dir,
                                                                const file_keystore_options& options)
{
    if (data_dir.empty())
        return make_failure(keys_errc::io_error, "key storage: data_dir is empty");
    // Create missing ancestors of data_dir with 0700 too (only the ones we create).
    std::error_code ec;
    if (!std::filesystem::exists(data_dir, ec)) {
        std::filesystem::path partial;
        for (const auto& part : data_dir) {
            partial /= part;
            if (partial.empty() || std::filesystem::exists(partial, ec))
                continue;
            if (auto r = make_dir(partial); !r)
                return r.error();
        }
    }
    const auto dir = data_dir / "keys";
    if (auto r = make_dir(dir); !r)
        return r.error();

    struct stat lst {};
    if (::lstat(dir.c_str(), &lst) != 0)
        return io_failure("cannot stat", dir, errno);
    if (S_ISLNK(lst.st_mode))
        return make_failure(keys_errc::insecure_permissions, dir.string() + " is a symlink; refusing to store keys there");
    if (!S_ISDIR(lst.st_mode))
        return make_failure(keys_errc::io_error, dir.string() + " exists and is not a directory");

    fd_guard d{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)};
    if (d.fd < 0)
        return io_failure("cannot open key directory", dir, errno);
    struct stat st {};
    if (::fstat(d.fd, &st) != 0)
        return io_failure("cannot stat", dir, errno);
    if (auto r = check_mode(d.fd, st, dir, true, options.repair_permissions); !r)
        return r.error();

    // Remove temp files left by a crash between create and rename.
    bool removed = false;
    if (DIR* dp = ::opendir(dir.c_str())) {
        while (dirent* e = ::readdir(dp)) {
            std::string_view n = e->d_name;
            if (is_temp_file_name(n)) {
                if (::unlinkat(d.fd, e->d_name, 0) == 0) {
                    removed = true;
                    spdlog::warn("key storage: removed leftover temp file {}", (dir / e->d_name).string());
                }
            }
        }
        ::closedir(dp);
    } else {
        return io_failure("cannot list key directory", dir, errno);
    }
    if (removed && ::fsync(d.fd) != 0)
        return io_failure("fsync failed on directory", dir, errno);

    return std::make_shared<file_keystore>(dir, options);
}

std::string file_keystore::file_name_for(std::string_view name) { return sha256_hex(name) + ".json"; }

std::string file_keystore::describe() const { return "file:" + dir_.string(); }

keys_result<std::optional<keyset_record>> file_keystore::load_file(const std::filesystem::path& path,
                                                                   bool must_exist)
{
    fd_guard f{::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC)};
    if (f.fd < 0) {
        const int err = errno;
        if (err == ENOENT && !must_exist)
            return std::optional<keyset_record>{};
        if (err == ELOOP)
            return make_failure(keys_errc::insecure_permissions,
                                "key file " + path.string() + " is a symlink; refusing to load it");
        return make_failure(keys_errc::io_error, "cannot read key file " + path.string() + ": " + errno_text(err));
    }
    struct stat st {};
    if (::fstat(f.fd, &st) != 0)
        return io_failure("cannot stat key file", path, errno);
    if (!S_ISREG(st.st_mode))
        return make_failure(keys_errc::corrupt, "key file " + path.string() + " is not a regular file");
    if (auto r = check_mode(f.fd, st, path, false, options_.repair_permissions); !r)
        return r.error();
    if (static_cast<std::size_t>(st.st_size) > max_file_size)
        return make_failure(keys_errc::corrupt, "key file " + path.string() + " is larger than 16 MiB");

    secret_string buf;
    buf.s.resize(static_cast<std::size_t>(st.st_size));
    std::size_t got = 0;
    while (got < buf.s.size()) {
        ssize_t n = ::read(f.fd, buf.s.data() + got, buf.s.size() - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return io_failure("cannot read key file", path, errno);
        if (n == 0)
            break;
        got += static_cast<std::size_t>(n);
    }
    buf.s.resize(got);

    auto corrupt = [&](const std::string& why) {
        return make_failure(keys_errc::corrupt,
                            "corrupt key file " + path.string() + ": " + why +
                                ". Refusing to start: restore the file from a backup, or delete it to make the "
                                "gateway generate new keys (tokens signed with the old keys will stop verifying)");
    };
    if (buf.s.empty())
        return corrupt("file is empty");
    nlohmann::json doc = nlohmann::json::parse(buf.s, nullptr, false);
    if (doc.is_discarded())
        return corrupt("not valid JSON (truncated?)");
    if (!doc.is_object())
        return corrupt("not a JSON object");
    auto fmt = doc.find("format");
    if (fmt == doc.end() || *fmt != format_name)
        return corrupt("missing \"format\":\"countersign-keyset\"");
    auto ver = doc.find("version");
    if (ver == doc.end() || !ver->is_number_integer() || ver->get<int>() != format_version)
        return corrupt("unsupported \"version\" (expected 1)");
    auto body = doc.find("keyset");
    auto sum = doc.find("sha256");
    if (body == doc.end() || !body->is_object())
        return corrupt("missing \"keyset\" object");
    if (sum == doc.end() || !sum->is_string())
        return corrupt("missing \"sha256\" checksum");
    {
        secret_string dumped{body->dump()};
        if (sha256_hex(dumped.s) != sum->get<std::string>())
            return corrupt("checksum mismatch (file modified or damaged)");
    }
    auto rec = record_from_json(*body, path.string());
    if (!rec) {
        const std::string prefix = "corrupt keyset record " + path.string() + ": ";
        const std::string& m = rec.error().message;
        return corrupt(m.rfind(prefix, 0) == 0 ? m.substr(prefix.size()) : m);
    }
    if (file_name_for(rec->name) != path.filename().string())
        return corrupt("file name does not match the keyset name \"" + rec->name + "\" stored inside");
    return std::optional<keyset_record>(std::move(*rec));
}

keys_result<std::vector<keyset_record>> file_keystore::load_all()
{
    std::vector<std::filesystem::path> files;
    DIR* dp = ::opendir(dir_.c_str());
    if (!dp)
        return io_failure("cannot list key directory", dir_, errno);
    while (dirent* e = ::readdir(dp)) {
        std::string_view n = e->d_name;
        if (n == "." || n == ".." || is_temp_file_name(n))
            continue;
        if (!is_key_file_name(n)) {
            spdlog::warn("key storage: ignoring unexpected file {}", (dir_ / e->d_name).string());
            continue;
        }
        files.push_back(dir_ / e->d_name);
    }
    ::closedir(dp);
    std::sort(files.begin(), files.end());

    std::vector<keyset_record> out;
    out.reserve(files.size());
    for (const auto& p : files) {
        auto r = load_file(p, true);
        if (!r)
            return r.error();
        out.push_back(std::move(**r));
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    return out;
}

keys_result<std::optional<keyset_record>> file_keystore::load(std::string_view name)
{
    if (name.empty())
        return make_failure(keys_errc::invalid_name, "empty keyset name");
    return load_file(path_for(name), false);
}

keys_result<void> file_keystore::store(const keyset_record& rec)
{
    if (rec.name.empty())
        return make_failure(keys_errc::invalid_name, "empty keyset name");

    const nlohmann::json body = record_to_json(rec);
    secret_string compact{body.dump()};
    nlohmann::json doc = nlohmann::json::object();
    doc["format"] = format_name;
    doc["version"] = format_version;
    doc["sha256"] = sha256_hex(compact.s);
    doc["keyset"] = body;
    secret_string text{doc.dump(2)};
    text.s.push_back('\n');

    const std::string final_name = file_name_for(rec.name);
    const auto target = dir_ / final_name;
    unsigned char rnd[8];
    if (RAND_bytes(rnd, sizeof rnd) != 1)
        return make_failure(keys_errc::io_error, "RAND_bytes failed for temp file name");
    const auto tmp = dir_ / ("." + final_name + ".tmp." + to_hex(rnd, sizeof rnd));

    std::lock_guard lock(write_mutex_);
    fd_guard f{::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)};
    if (f.fd < 0)
        return io_failure("cannot create temp key file", tmp, errno);
    auto fail = [&](const std::string& what, int err) {
        ::close(f.release());
        ::unlink(tmp.c_str());
        return io_failure(what, tmp, err);
    };
    // Independent of the umask; before any secret byte is written.
    if (::fchmod(f.fd, 0600) != 0)
        return fail("cannot chmod temp key file", errno);
    std::size_t written = 0;
    while (written < text.s.size()) {
        ssize_t n = ::write(f.fd, text.s.data() + written, text.s.size() - written);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return fail("cannot write temp key file", errno);
        written += static_cast<std::size_t>(n);
    }
    // A failed fsync is final: the kernel may have dropped the dirty pages.
    if (::fsync(f.fd) != 0)
        return fail("fsync failed on temp key file", errno);
    if (::close(f.release()) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        return io_failure("close failed on temp key file", tmp, err);
    }
    if (::rename(tmp.c_str(), target.c_str()) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        return io_failure("cannot rename temp key file onto", target, err);
    }
    return fsync_dir(dir_);
}

keys_result<bool> file_keystore::remove(std::string_view name)
{
    if (name.empty())
        return make_failure(keys_errc::invalid_name, "empty keyset name");
    const auto p = path_for(name);
    std::lock_guard lock(write_mutex_);
    if (::unlink(p.c_str()) != 0) {
        if (errno == ENOENT)
            return false;
        return io_failure("cannot delete key file", p, errno);
    }
    if (auto r = fsync_dir(dir_); !r)
        return r.error();
    return true;
}

}  // namespace countersign::jwt_signer
