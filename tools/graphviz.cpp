#include "tools/graphviz.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace bpfvet::tools {
namespace {

// Closes a descriptor once, whoever returns first.
struct Descriptor {
    int fd = -1;
    Descriptor() = default;
    Descriptor(const Descriptor&) = delete;
    Descriptor& operator=(const Descriptor&) = delete;
    ~Descriptor() { reset(); }
    void reset() {
        if (fd >= 0) ::close(fd);
        fd = -1;
    }
};

bool make_pipe(Descriptor& read_end, Descriptor& write_end) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return false;
    read_end.fd = fds[0];
    write_end.fd = fds[1];
    return true;
}

}  // namespace

std::string find_dot() {
    const char* path = std::getenv("PATH");
    std::string_view directories = path ? path : "";
    while (!directories.empty()) {
        const size_t colon = directories.find(':');
        std::string_view directory = directories.substr(0, colon);
        directories = colon == std::string_view::npos ? std::string_view{} : directories.substr(colon + 1);
        if (directory.empty()) continue;
        std::string candidate = fmt::format("{}/dot", directory);
        if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    return {};
}

std::expected<std::string, std::string> render_svg(std::string_view dot_text, std::chrono::seconds limit) {
    const std::string dot = find_dot();
    if (dot.empty()) return std::unexpected(std::string(GraphvizMissing));
    Descriptor in_read, in_write, out_read, out_write, err_read, err_write;
    if (!make_pipe(in_read, in_write) || !make_pipe(out_read, out_write) || !make_pipe(err_read, err_write))
        return std::unexpected(fmt::format("cannot run dot: {}", std::strerror(errno)));
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in_read.fd, 0);
    posix_spawn_file_actions_adddup2(&actions, out_write.fd, 1);
    posix_spawn_file_actions_adddup2(&actions, err_write.fd, 2);
    std::string svg_flag = "-Tsvg";
    char* argv[] = {const_cast<char*>(dot.c_str()), svg_flag.data(), nullptr};
    pid_t child = 0;
    const int spawned = posix_spawn(&child, dot.c_str(), &actions, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    if (spawned != 0) return std::unexpected(fmt::format("cannot run {}: {}", dot, std::strerror(spawned)));
    in_read.reset();
    out_write.reset();
    // dot may exit before reading everything (a syntax error): a write error, not a fatal signal.
    const auto previous_sigpipe = std::signal(SIGPIPE, SIG_IGN);
    err_write.reset();

    // Feed stdin while draining stdout and stderr, so a large graph cannot
    // deadlock on a full pipe.
    ::fcntl(in_write.fd, F_SETFL, O_NONBLOCK);
    std::string output, errors;
    size_t written = 0;
    if (dot_text.empty()) in_write.reset();
    const auto deadline = std::chrono::steady_clock::now() + limit;
    bool timed_out = false;
    while (out_read.fd >= 0 || err_read.fd >= 0) {
        pollfd fds[3];
        nfds_t count = 0;
        for (int fd : {out_read.fd, err_read.fd}) if (fd >= 0) fds[count++] = {fd, POLLIN, 0};
        if (in_write.fd >= 0) fds[count++] = {in_write.fd, POLLOUT, 0};
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            timed_out = true;
            break;
        }
        if (::poll(fds, count, int(left.count())) < 0 && errno != EINTR) break;
        for (nfds_t i = 0; i < count; ++i) {
            if (fds[i].revents == 0) continue;
            if (fds[i].fd == in_write.fd) {
                ssize_t n = ::write(in_write.fd, dot_text.data() + written, dot_text.size() - written);
                if (n > 0) written += size_t(n);
                if (n < 0 && errno != EAGAIN) written = dot_text.size();
                if (written == dot_text.size()) in_write.reset();
                continue;
            }
            char buffer[65536];
            ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
            Descriptor& source = fds[i].fd == out_read.fd ? out_read : err_read;
            if (n <= 0) {
                if (n == 0 || errno != EINTR) source.reset();
                continue;
            }
            (&source == &out_read ? output : errors).append(buffer, size_t(n));
        }
    }
    if (timed_out) ::kill(child, SIGKILL);
    int status = 0;
    while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {}
    std::signal(SIGPIPE, previous_sigpipe);
    if (timed_out)
        return std::unexpected(fmt::format("dot did not lay the graph out within {} s", limit.count()));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return std::unexpected(fmt::format("dot failed: {}", errors.empty() ? "no message" : errors));
    return output;
}

}  // namespace bpfvet::tools
