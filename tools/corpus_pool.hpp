// Worker processes for `bpfvet corpus`: at most N at a time, each fed one job
// on stdin and read line by line, killed when silent for longer than its job
// allows. Knows nothing about programs or records: the corpus command gives
// meaning to the lines and to how a worker ended.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace bpfvet::tools::corpus {

struct WorkerJob {
    size_t id = 0;
    std::string input;                // written to the worker's stdin, which is then closed
    double first_line_seconds = 60;   // silence allowed before the first line
    double next_line_seconds = 60;    // silence allowed between lines
};

struct WorkerEnd {
    size_t id = 0;
    bool timed_out = false;  // we killed it for silence
    int signal = 0;          // the signal that ended it, 0 when it exited
    int exit_code = 0;
    std::string stderr_tail; // the last lines it wrote on stderr
};

class WorkerPool {
public:
    // `arguments` are the worker's argv (the executable first).
    WorkerPool(std::vector<std::string> arguments, size_t parallel);

    void submit(WorkerJob job);

    struct Callbacks {
        std::function<void(size_t id, std::string_view line)> line;  // each complete stdout line
        std::function<void(const WorkerEnd&)> end;                    // may submit more jobs
        std::function<void()> tick;                                   // at least every 200 ms
    };
    // Runs until nothing is queued or running. Returns an error message when a
    // worker cannot be started at all.
    [[nodiscard]] std::string run(const Callbacks& callbacks);

    [[nodiscard]] size_t running() const { return workers_.size(); }
    [[nodiscard]] size_t queued() const { return queue_.size(); }

private:
    using Clock = std::chrono::steady_clock;
    struct Worker {
        int pid = -1;
        int out = -1, err = -1;
        std::string out_buffer, err_tail;
        size_t lines = 0;
        Clock::time_point deadline;
        bool timed_out = false;
        WorkerJob job;
    };
    [[nodiscard]] std::string start(WorkerJob job);
    void finish(Worker& worker, const Callbacks& callbacks);

    std::vector<std::string> arguments_;
    size_t parallel_;
    std::deque<WorkerJob> queue_;
    std::vector<Worker> workers_;
};

}  // namespace bpfvet::tools::corpus
