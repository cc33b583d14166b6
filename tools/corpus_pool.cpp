#include "tools/corpus_pool.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace bpfvet::tools::corpus {

namespace {

// Keeps the last `limit` bytes: enough to say why a worker died.
void append_tail(std::string& tail, std::string_view more, size_t limit = 2048) {
    tail.append(more);
    if (tail.size() > limit) tail.erase(0, tail.size() - limit);
}

void write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        ssize_t n = write(fd, data.data(), data.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;  // the worker is gone; its end reports why
        data.remove_prefix(size_t(n));
    }
}

std::chrono::steady_clock::duration seconds(double value) {
    return std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(value));
}

}  // namespace

WorkerPool::WorkerPool(std::vector<std::string> arguments, size_t parallel)
    : arguments_(std::move(arguments)), parallel_(std::max<size_t>(parallel, 1)) {}

void WorkerPool::submit(WorkerJob job) { queue_.push_back(std::move(job)); }

std::string WorkerPool::start(WorkerJob job) {
    int in[2], out[2], err[2];
    if (pipe2(in, O_CLOEXEC) != 0) return std::string("pipe: ") + std::strerror(errno);
    if (pipe2(out, O_CLOEXEC) != 0) return std::string("pipe: ") + std::strerror(errno);
    if (pipe2(err, O_CLOEXEC) != 0) return std::string("pipe: ") + std::strerror(errno);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err[1], 2);
    // The parent ignores SIGPIPE (a worker may die before reading its job);
    // the worker must not inherit that.
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    sigset_t defaults;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    posix_spawnattr_setsigdefault(&attributes, &defaults);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGDEF);

    std::vector<char*> argv;
    for (auto& argument : arguments_) argv.push_back(argument.data());
    argv.push_back(nullptr);
    pid_t pid = -1;
    int status = posix_spawn(&pid, argv[0], &actions, &attributes, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    close(in[0]);
    close(out[1]);
    close(err[1]);
    if (status != 0) {
        close(in[1]);
        close(out[0]);
        close(err[0]);
        return arguments_[0] + ": cannot start a worker: " + std::strerror(status);
    }
    // Jobs are a few KiB and the worker reads all of stdin before it writes:
    // a blocking write cannot deadlock.
    write_all(in[1], job.input);
    close(in[1]);

    Worker worker;
    worker.pid = pid;
    worker.out = out[0];
    worker.err = err[0];
    worker.deadline = Clock::now() + seconds(job.first_line_seconds);
    worker.job = std::move(job);
    workers_.push_back(std::move(worker));
    return {};
}

void WorkerPool::finish(Worker& worker, const Callbacks& callbacks) {
    int status = 0;
    while (waitpid(worker.pid, &status, 0) < 0 && errno == EINTR) {
    }
    WorkerEnd end;
    end.id = worker.job.id;
    end.timed_out = worker.timed_out;
    end.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    end.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
    end.stderr_tail = worker.err_tail;
    if (callbacks.end) callbacks.end(end);
}

std::string WorkerPool::run(const Callbacks& callbacks) {
    std::array<char, 65536> buffer{};
    while (!queue_.empty() || !workers_.empty()) {
        while (workers_.size() < parallel_ && !queue_.empty()) {
            WorkerJob job = std::move(queue_.front());
            queue_.pop_front();
            if (std::string error = start(std::move(job)); !error.empty()) return error;
        }

        std::vector<pollfd> fds;
        std::vector<std::pair<size_t, bool>> owners;  // worker index, is stdout
        auto now = Clock::now();
        auto wake = now + std::chrono::milliseconds(200);
        for (size_t i = 0; i < workers_.size(); ++i) {
            const Worker& worker = workers_[i];
            if (worker.out >= 0) fds.push_back({worker.out, POLLIN, 0}), owners.emplace_back(i, true);
            if (worker.err >= 0) fds.push_back({worker.err, POLLIN, 0}), owners.emplace_back(i, false);
            if (!worker.timed_out) wake = std::min(wake, worker.deadline);
        }
        const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(wake - now).count();
        if (poll(fds.data(), fds.size(), int(std::max<int64_t>(wait, 0))) < 0 && errno != EINTR)
            return std::string("poll: ") + std::strerror(errno);

        for (size_t k = 0; k < fds.size(); ++k) {
            if (fds[k].revents == 0) continue;
            Worker& worker = workers_[owners[k].first];
            const bool is_stdout = owners[k].second;
            int& fd = is_stdout ? worker.out : worker.err;
            ssize_t n = read(fd, buffer.data(), buffer.size());
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                close(fd);
                fd = -1;
                continue;
            }
            if (!is_stdout) {
                append_tail(worker.err_tail, {buffer.data(), size_t(n)});
                continue;
            }
            worker.out_buffer.append(buffer.data(), size_t(n));
            size_t newline;
            while ((newline = worker.out_buffer.find('\n')) != std::string::npos) {
                std::string line = worker.out_buffer.substr(0, newline);
                worker.out_buffer.erase(0, newline + 1);
                ++worker.lines;
                worker.deadline = Clock::now() + seconds(worker.job.next_line_seconds);
                if (callbacks.line) callbacks.line(worker.job.id, line);
            }
        }

        now = Clock::now();
        for (Worker& worker : workers_) {
            if (worker.timed_out || now < worker.deadline) continue;
            kill(worker.pid, SIGKILL);
            worker.timed_out = true;
        }
        // A worker whose pipes are both closed has exited (or is about to).
        for (size_t i = 0; i < workers_.size();) {
            if (workers_[i].out >= 0 || workers_[i].err >= 0) {
                ++i;
                continue;
            }
            Worker worker = std::move(workers_[i]);
            workers_.erase(workers_.begin() + ptrdiff_t(i));
            finish(worker, callbacks);
        }
        if (callbacks.tick) callbacks.tick();
    }
    return {};
}

}  // namespace bpfvet::tools::corpus
