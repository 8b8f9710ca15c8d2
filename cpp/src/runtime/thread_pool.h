// The intra-op thread pool. No OpenMP, so qrt embeds beside other runtimes without fighting over
// a global pool. Workers spin briefly after a job (to catch the next op of the same run cheaply)
// and then sleep on a condition variable, so an idle service burns no CPU.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace qrt::rt {

// A non-owning reference to a callable `void(size_t task)`; avoids std::function allocation.
class TaskFn {
 public:
  template <typename F>
  TaskFn(const F& f)  // NOLINT: implicit by design
      : obj_(&f), call_([](const void* o, size_t t) { (*static_cast<const F*>(o))(t); }) {}
  void operator()(size_t t) const { call_(obj_, t); }

 private:
  const void* obj_;
  void (*call_)(const void*, size_t);
};

class ThreadPool {
 public:
  // threads: total parallelism including the calling thread (1 = run inline, no workers).
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int threads() const { return threads_; }
  // Runs fn(0) ... fn(num_tasks-1), distributed over the workers and the caller; returns when all
  // are done. Tasks must not throw. One job at a time per pool: concurrent callers serialise.
  void parallel_for(size_t num_tasks, TaskFn fn);

 private:
  void worker_loop(int index);
  void run_tasks();

  int threads_;
  std::vector<std::thread> workers_;
  std::mutex job_mutex_;  // serialises callers
  std::mutex mu_;
  std::condition_variable cv_start_, cv_done_;
  const TaskFn* job_ = nullptr;
  size_t num_tasks_ = 0;
  std::atomic<size_t> next_task_{0};
  std::atomic<int> active_{0};
  std::atomic<uint64_t> generation_{0};
  bool stop_ = false;
};

}  // namespace qrt::rt
