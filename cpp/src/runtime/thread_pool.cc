#include "runtime/thread_pool.h"

#include <chrono>

namespace qrt::rt {

namespace {
// How long a worker spins for the next job before sleeping. Ops of one run follow each other
// within microseconds, so a short spin avoids a futex wake per op; after it, the worker sleeps
// and an idle service costs no CPU.
constexpr auto kSpin = std::chrono::microseconds(200);
}  // namespace

ThreadPool::ThreadPool(int threads) : threads_(threads < 1 ? 1 : threads) {
  for (int i = 1; i < threads_; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
    generation_.fetch_add(1);
  }
  cv_start_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::run_tasks() {
  const TaskFn& fn = *job_;
  for (;;) {
    size_t t = next_task_.fetch_add(1, std::memory_order_relaxed);
    if (t >= num_tasks_) break;
    fn(t);
  }
}

void ThreadPool::worker_loop(int) {
  uint64_t seen = 0;
  for (;;) {
    // Spin a little, then sleep until a new generation (job) or stop.
    auto spin_until = std::chrono::steady_clock::now() + kSpin;
    while (generation_.load(std::memory_order_acquire) == seen &&
           std::chrono::steady_clock::now() < spin_until) {
    }
    {
      std::unique_lock<std::mutex> lk(mu_);
      cv_start_.wait(lk, [&] { return stop_ || generation_.load() != seen; });
      if (stop_) return;
      seen = generation_.load();
      if (!job_) continue;
      active_.fetch_add(1);
    }
    run_tasks();
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (active_.fetch_sub(1) == 1) cv_done_.notify_all();
    }
  }
}

void ThreadPool::parallel_for(size_t num_tasks, TaskFn fn) {
  if (num_tasks == 0) return;
  if (threads_ == 1 || num_tasks == 1) {
    for (size_t t = 0; t < num_tasks; ++t) fn(t);
    return;
  }
  std::lock_guard<std::mutex> job_lock(job_mutex_);
  {
    std::lock_guard<std::mutex> lk(mu_);
    job_ = &fn;
    num_tasks_ = num_tasks;
    next_task_.store(0);
    generation_.fetch_add(1, std::memory_order_release);
  }
  cv_start_.notify_all();
  run_tasks();
  // Workers that woke for this generation finish their claimed tasks; wait for all of them.
  // Spin first: the last task of a kernel usually ends within microseconds, and sleeping on the
  // condition variable would add a futex wake-up (tens of µs) to every op of the run.
  auto spin_until = std::chrono::steady_clock::now() + kSpin;
  while (active_.load(std::memory_order_acquire) != 0 && std::chrono::steady_clock::now() < spin_until) {
  }
  std::unique_lock<std::mutex> lk(mu_);
  cv_done_.wait(lk, [&] { return active_.load() == 0 && next_task_.load() >= num_tasks_; });
  job_ = nullptr;
}

}  // namespace qrt::rt
