// SPDX-License-Identifier: Apache-2.0
// One object shared by many threads, for every policy: Rope<P, L> and AnyRope
// over every AnyPolicy alternative and both layouts, plus a shared
// CosSinCache, FrequencyTable and parallel_apply. Each thread rotates its own
// buffers at its own positions, and every call must give, bit for bit, what a
// call with one consistent table gives:
// * static policies: what a private, single-threaded object gives;
// * length-dependent policies (DynamicNtk, per-call LongRope): which state a
//   call sees depends on the calls other threads made before it, so its
//   result must equal what a private object gives in one state c the
//   test's calls can reach from the initial one (the call then advances
//   it as usual; apply_inverse does not).
//   The calls cross the trained lengths (DynamicNtk 64, LongRoPE 4096) up
//   and down.
// tests/run.sh also runs this under ThreadSanitizer, where a data race fails
// the test even when every result happens to come out right.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "test_util.hpp"

namespace {

using namespace ropekit;
using namespace ropekit_test;

constexpr int kThreads = 8;
constexpr int kCallsPerThread = 12;
constexpr std::int64_t kHeadDim = 56, kRotaryDim = 48, kQHeads = 3, kKHeads = 2;

RotaryDims dims() { return RotaryDims(kHeadDim, kRotaryDim); }

enum class Op { apply, apply_q, apply_k, parallel, inverse };

// Largest positions of the calls: around DynamicNtk's trained length in
// for_each_policy (64) and LongRoPE's (4096), and far beyond.
const std::int64_t kLargest[] = {7, 62, 63, 64, 99, 299, 4095, 4096, 9999, 1000000, 2147483647};

struct Call {
  Op op = Op::apply;
  std::int64_t tokens = 1;
  std::int64_t start = 0;            // used when ids is empty
  std::vector<std::int64_t> ids;     // explicit ids, any order
  std::vector<float> q, k;           // the input, and after the call its output

  Positions positions() const {
    return ids.empty() ? Positions::starting_at(start) : Positions(ids.data(), tokens);
  }
  std::int64_t seq_len() const {
    return 1 + (ids.empty() ? start + tokens - 1 : *std::max_element(ids.begin(), ids.end()));
  }
  HeadView<float> q_view() { return token_major_view(q.data(), tokens, kQHeads, kHeadDim); }
  HeadView<float> k_view() { return token_major_view(k.data(), tokens, kKHeads, kHeadDim); }
};

using Plan = std::vector<std::vector<Call>>;  // [thread][call]

Plan make_plan(unsigned seed, bool with_inverse) {
  std::mt19937 rng(seed);
  Plan plan(kThreads);
  for (auto& calls : plan)
    for (int i = 0; i < kCallsPerThread; ++i) {
      Call c;
      c.op = static_cast<Op>(rng() % (with_inverse ? 5 : 4));
      c.tokens = 1 + static_cast<std::int64_t>(rng() % 5);
      const std::int64_t largest = kLargest[rng() % std::size(kLargest)];
      const std::int64_t first = std::max<std::int64_t>(0, largest - c.tokens + 1);
      if (rng() % 2 == 0 || first + c.tokens - 1 != largest) {
        c.ids.push_back(largest);
        while (static_cast<std::int64_t>(c.ids.size()) < c.tokens)
          c.ids.push_back(static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(largest + 1)));
        std::shuffle(c.ids.begin(), c.ids.end(), rng);
      } else {
        c.start = first;
      }
      c.q = random_values<float>(static_cast<std::size_t>(c.tokens * kQHeads * kHeadDim), rng());
      c.k = random_values<float>(static_cast<std::size_t>(c.tokens * kKHeads * kHeadDim), rng());
      calls.push_back(std::move(c));
    }
  return plan;
}

// One call on an object: the compile-time Rope, or AnyRope.
template <class P, Layout L>
void invoke(Rope<P, L>& rope, Call& c) {
  const Positions positions = c.positions();
  switch (c.op) {
    case Op::apply: rope.apply(c.q_view(), c.k_view(), positions); break;
    case Op::apply_q: rope.apply_q(c.q_view(), positions); break;
    case Op::apply_k: rope.apply_k(c.k_view(), positions); break;
    case Op::parallel: parallel_apply(rope, c.q_view(), c.k_view(), positions, 2); break;
    case Op::inverse: rope.apply_inverse(c.q_view(), c.k_view(), positions); break;
  }
}

void invoke(AnyRope& rope, Call& c) {
  const Positions positions = c.positions();
  switch (c.op) {
    case Op::apply: rope.apply(c.q_view(), c.k_view(), positions); break;
    case Op::apply_q: rope.apply_q(c.q_view(), positions); break;
    case Op::apply_k: rope.apply_k(c.k_view(), positions); break;
    case Op::parallel:
      rope.visit([&](auto& r) { parallel_apply(r, c.q_view(), c.k_view(), positions, 2); });
      break;
    case Op::inverse: rope.apply_inverse(c.q_view(), c.k_view(), positions); break;
  }
}

// What the call gives with `table` (the lower tier, no state).
template <Layout L>
void rotate_with(const FrequencyTable& table, Call& c) {
  const Positions positions = c.positions();
  switch (c.op) {
    case Op::apply_q: rotate<L>(table, dims(), c.q_view(), positions); break;
    case Op::apply_k: rotate<L>(table, dims(), c.k_view(), positions); break;
    case Op::inverse: rotate_inverse<L>(table, dims(), c.q_view(), c.k_view(), positions); break;
    default: rotate<L>(table, dims(), c.q_view(), c.k_view(), positions); break;
  }
}

// Length-dependent policies: the results `call` may give on a shared object
// that the plan's calls (`seq_lens`) drive. Each reachable state c is reached
// again on a private copy by replaying the forward calls that lead to it,
// then the call runs there: the same table-building path as the shared
// object (the SIMD decode-time table of DynamicNtk may differ from
// rotate() with table_for(s) in the last bit, so that is not the oracle).
template <class P, Layout L>
std::vector<Call> results_from_reachable_states(const Rope<P, L>& shared,
                                                const std::vector<std::int64_t>& seq_lens,
                                                const Call& call) {
  const P& policy = shared.policy();
  using State = typename P::state_type;
  std::vector<State> reachable = {policy.initial_state()};
  std::vector<std::vector<std::int64_t>> paths = {{}};
  for (std::size_t i = 0; i < reachable.size(); ++i)
    for (std::int64_t n : seq_lens) {
      const State next = policy.next_state(reachable[i], n);
      if (std::find(reachable.begin(), reachable.end(), next) == reachable.end()) {
        reachable.push_back(next);
        paths.push_back(paths[i]);
        paths.back().push_back(n);
      }
    }
  std::vector<Call> results;
  for (const auto& path : paths) {
    Rope<P, L> mine(shared.dims(), shared.policy());
    std::vector<float> scratch(static_cast<std::size_t>(kQHeads * kHeadDim), 0.5f);
    for (std::int64_t n : path)
      mine.apply_q(token_major_view(scratch.data(), 1, kQHeads, kHeadDim),
                   Positions::starting_at(n - 1));
    results.push_back(call);
    invoke(mine, results.back());
  }
  return results;
}

// Every result the call may legitimately give.
template <class P, Layout L>
std::vector<Call> expected(const Rope<P, L>& shared, const std::vector<std::int64_t>& seq_lens,
                           const Call& call) {
  if constexpr (Rope<P, L>::length_dependent) {
    return results_from_reachable_states(shared, seq_lens, call);
  } else {
    (void)seq_lens;
    Rope<P, L> mine(shared.dims(), shared.policy());
    std::vector<Call> results{call};
    invoke(mine, results.back());
    return results;
  }
}

std::vector<Call> expected(const AnyRope& shared, const std::vector<std::int64_t>& seq_lens,
                           const Call& call) {
  if (shared.length_dependent())
    return shared.visit([&](const auto& rope) { return expected(rope, seq_lens, call); });
  AnyRope mine(shared.dims(), shared.layout(), shared.policy());
  std::vector<Call> results{call};
  invoke(mine, results.back());
  return results;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// Runs `plan` on `shared` from kThreads threads at once and checks every
// call against what it may give. `what` names the object in failures.
template <class Object>
void run_shared(Object& shared, const std::string& what, unsigned seed) {
  SCOPED_TRACE(what);
  Plan plan = make_plan(seed, true);
  std::vector<std::int64_t> seq_lens;
  for (const auto& calls : plan)
    for (const Call& c : calls) seq_lens.push_back(c.seq_len());
  // The candidates are computed before any thread starts, from the inputs.
  std::vector<std::vector<std::vector<Call>>> allowed(kThreads);
  for (int t = 0; t < kThreads; ++t)
    for (const Call& c : plan[static_cast<std::size_t>(t)])
      allowed[static_cast<std::size_t>(t)].push_back(expected(shared, seq_lens, c));

  std::atomic<int> waiting{kThreads};
  std::vector<std::string> errors(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      // Start together, so that the calls overlap as much as they can.
      waiting.fetch_sub(1);
      while (waiting.load() > 0) std::this_thread::yield();
      try {
        for (Call& c : plan[static_cast<std::size_t>(t)]) invoke(shared, c);
      } catch (const std::exception& e) {
        errors[static_cast<std::size_t>(t)] = e.what();
      }
    });
  for (std::thread& thread : threads) thread.join();

  for (int t = 0; t < kThreads; ++t) {
    ASSERT_EQ(errors[static_cast<std::size_t>(t)], "") << "thread " << t;
    for (std::size_t i = 0; i < plan[static_cast<std::size_t>(t)].size(); ++i) {
      const Call& got = plan[static_cast<std::size_t>(t)][i];
      const auto& candidates = allowed[static_cast<std::size_t>(t)][i];
      const bool matched = std::any_of(candidates.begin(), candidates.end(), [&](const Call& c) {
        return same_bits(c.q, got.q) && same_bits(c.k, got.k);
      });
      EXPECT_TRUE(matched) << "thread " << t << " call " << i << " (op " << static_cast<int>(got.op)
                           << ", seq_len " << got.seq_len() << ") matches none of the "
                           << candidates.size() << " results one consistent table gives";
    }
  }
}

TEST(Concurrency, SharedRopeEveryPolicy) {
  unsigned seed = 1;
  for_each_policy([&](auto policy) {
    using P = decltype(policy);
    Rope<P, Layout::half_split> split(dims(), policy);
    run_shared(split, std::string("Rope<") + P::name + ", half_split>", seed++);
    Rope<P, Layout::interleaved> interleaved(dims(), policy);
    run_shared(interleaved, std::string("Rope<") + P::name + ", interleaved>", seed++);
  }, kRotaryDim / 2);
}

TEST(Concurrency, SharedAnyRopeEveryAlternative) {
  unsigned seed = 100;
  for_each_policy([&](auto policy) {
    for (Layout layout : {Layout::half_split, Layout::interleaved}) {
      AnyRope rope(dims(), layout, policy);
      run_shared(rope, std::string("AnyRope ") + rope.policy_name() + " " + layout_name(layout),
                 seed++);
    }
  }, kRotaryDim / 2);
}

// A FrequencyTable and a CosSinCache are read-only once built: threads may
// rotate with them at once.
TEST(Concurrency, SharedTableAndCosSinCache) {
  const Rope<scaling::Yarn, gptj> rope(dims(), scaling::Yarn(4.0, 4096, 10000.0));
  const FrequencyTable& table = rope.table();
  const CosSinCache cache(table, 5000);
  Plan plan = make_plan(7, false);
  for (auto& calls : plan)
    for (Call& c : calls) {
      // Rows exist for positions below 5000 only.
      for (std::int64_t& id : c.ids) id %= 5000;
      c.start %= 5000 - c.tokens;
      c.op = c.op == Op::apply_q ? Op::apply_q : Op::apply;
    }
  Plan cached = plan;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (Call& c : plan[static_cast<std::size_t>(t)]) rotate_with<gptj>(table, c);
      for (Call& c : cached[static_cast<std::size_t>(t)]) {
        if (c.op == Op::apply_q) rotate<gptj>(cache, dims(), c.q_view(), c.positions());
        else rotate<gptj>(cache, dims(), c.q_view(), c.k_view(), c.positions());
      }
    });
  for (std::thread& thread : threads) thread.join();
  Plan single = make_plan(7, false);
  for (int t = 0; t < kThreads; ++t)
    for (std::size_t i = 0; i < single[static_cast<std::size_t>(t)].size(); ++i) {
      Call& c = single[static_cast<std::size_t>(t)][i];
      const Call& shared_table = plan[static_cast<std::size_t>(t)][i];
      c.ids = shared_table.ids;
      c.start = shared_table.start;
      c.op = shared_table.op;
      rotate_with<gptj>(table, c);
      EXPECT_TRUE(same_bits(c.q, shared_table.q) && same_bits(c.k, shared_table.k))
          << "table, thread " << t << " call " << i;
      // The cache holds the cos/sin this path forms on the fly: same bits.
      const Call& shared_cache = cached[static_cast<std::size_t>(t)][i];
      EXPECT_TRUE(same_bits(c.q, shared_cache.q) && same_bits(c.k, shared_cache.k))
          << "cache, thread " << t << " call " << i;
    }
}

}  // namespace
