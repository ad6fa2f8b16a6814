// The scheduler with a hand-driven clock: leases, heartbeat expiry and
// re-issue with exactly-once results, steal, leave, stats, and the
// snapshot/restore round trip.
#include <gtest/gtest.h>

#include <set>

#include "coordinator/scheduler.h"
#include "core/error.h"

namespace pgenrm::coordinator {
namespace {

std::vector<WorkItem> make_items(int n, int users) {
  std::vector<WorkItem> v;
  for (int i = 1; i <= n; ++i)
    v.push_back({uint64_t(i), "user" + std::to_string(i % users), "prompt " + std::to_string(i)});
  return v;
}

Clock::time_point at(double s) {
  return Clock::time_point() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

TEST(Scheduler, UsersStayOnTheirWorker) {
  Scheduler s({/*heartbeat_timeout_s=*/10, 0, 64, /*steal_when_idle=*/false, 4});
  s.join("a", at(0));
  s.join("b", at(0));
  s.submit(make_items(40, 8));
  for (const std::string w : {"a", "b"}) {
    for (Lease l = s.lease(w, 4, at(1)); l.id; l = s.lease(w, 4, at(1)))
      for (const auto& it : l.items) {
        EXPECT_EQ(s.owner_of(it.user), w);
        EXPECT_EQ(s.complete(w, l.id, it.id, 1, "r", at(1)), Accept::kAccepted);
      }
  }
  EXPECT_TRUE(s.all_done());
}

TEST(Scheduler, DeadWorkersLeasesAreReissuedAndEveryItemCountsOnce) {
  Scheduler s({/*heartbeat_timeout_s=*/5, 0, 64, /*steal_when_idle=*/true, 3});
  s.join("a", at(0));
  s.join("b", at(0));
  s.submit(make_items(30, 10));
  // a takes a lease and goes silent after finishing one item of it.
  Lease la = s.lease("a", 3, at(1));
  ASSERT_EQ(la.items.size(), 3u);
  EXPECT_EQ(s.complete("a", la.id, la.items[0].id, 1, "ra", at(1)), Accept::kAccepted);
  // b keeps heartbeating; at t=7 a is 6 s silent.
  s.heartbeat("b", at(6));
  EXPECT_EQ(s.expire(at(7)), std::vector<std::string>{"a"});
  EXPECT_FALSE(s.alive("a"));
  EXPECT_EQ(s.ledger().leases[la.id - 1].state, LeaseRecord::State::kRevoked);
  EXPECT_EQ(s.ledger().requeued, 2);
  // b drains everything, including a's re-issued items.
  std::set<uint64_t> done_by_b;
  for (Lease l = s.lease("b", 3, at(8)); l.id; l = s.lease("b", 3, at(8)))
    for (const auto& it : l.items) {
      EXPECT_EQ(s.complete("b", l.id, it.id, 2, "rb", at(8)), Accept::kAccepted);
      done_by_b.insert(it.id);
    }
  EXPECT_TRUE(done_by_b.count(la.items[1].id));
  EXPECT_FALSE(done_by_b.count(la.items[0].id));  // done already, not re-issued
  // The zombie a reports late: its results are duplicates, not counted.
  EXPECT_EQ(s.complete("a", la.id, la.items[1].id, 1, "late", at(9)), Accept::kDuplicate);
  EXPECT_EQ(s.complete("a", la.id, 999, 1, "forged", at(9)), Accept::kUnknown);
  EXPECT_EQ(s.complete("b", la.id, la.items[2].id, 1, "not b's lease", at(9)), Accept::kUnknown);
  EXPECT_TRUE(s.all_done());
  const Ledger& L = s.ledger();
  EXPECT_EQ(L.done.size(), 30u);
  EXPECT_EQ(L.accepted, 30);
  EXPECT_EQ(L.duplicates, 1);
  EXPECT_EQ(L.unknown, 2);
  EXPECT_EQ(L.done.at(la.items[0].id).worker, "a");
  EXPECT_EQ(L.done.at(la.items[1].id).worker, "b");
  auto res = s.take_results();
  EXPECT_EQ(res.size(), 30u);
  std::set<uint64_t> ids;
  for (const auto& r : res) EXPECT_TRUE(ids.insert(r.item).second) << "item " << r.item << " twice";
  EXPECT_TRUE(s.take_results().empty());
}

TEST(Scheduler, LateResultOfARevokedLeaseStillCountsIfFirst) {
  Scheduler s({5, 0, 64, true, 1});
  s.join("a", at(0));
  s.submit(make_items(1, 1));
  Lease la = s.lease("a", 1, at(0));
  s.expire(at(10));  // a declared dead, item requeued
  s.join("b", at(10));
  Lease lb = s.lease("b", 1, at(10));
  ASSERT_EQ(lb.items.size(), 1u);
  EXPECT_EQ(s.complete("a", la.id, 1, 1, "late but first", at(11)), Accept::kAccepted);
  EXPECT_EQ(s.complete("b", lb.id, 1, 1, "second", at(12)), Accept::kDuplicate);
  EXPECT_EQ(s.ledger().accepted, 1);
}

TEST(Scheduler, LeaveRequeuesAtOnceAndStatsReportQueuesAndThroughput) {
  Scheduler s({100, 0, 64, false, 2});
  s.join("a", at(0));
  s.join("b", at(0));
  s.submit(make_items(20, 20));
  Lease la = s.lease("a", 2, at(1));
  ASSERT_FALSE(la.items.empty());
  Stats st = s.stats(at(1));
  EXPECT_EQ(st.submitted, 20);
  EXPECT_EQ(st.leased, static_cast<int64_t>(la.items.size()));
  s.leave("a", "left", at(2));
  st = s.stats(at(2));
  EXPECT_EQ(st.leased, 0);
  EXPECT_EQ(st.pending, 20);
  int n = 0;
  for (Lease l = s.lease("b", 2, at(3)); l.id; l = s.lease("b", 2, at(3)))
    for (const auto& it : l.items) n += s.complete("b", l.id, it.id, 0, "", at(3)) == Accept::kAccepted;
  EXPECT_EQ(n, 20);
  st = s.stats(at(4));
  ASSERT_EQ(st.workers.size(), 1u);
  EXPECT_EQ(st.workers[0].items_done, 20);
  EXPECT_DOUBLE_EQ(st.workers[0].items_per_s, 20 / 4.0);
}

TEST(Scheduler, LeaseTimeoutRevokesEvenWhileTheWorkerHeartbeats) {
  Scheduler s({100, /*lease_timeout_s=*/2, 64, true, 1});
  s.join("a", at(0));
  s.submit(make_items(1, 1));
  Lease l = s.lease("a", 1, at(0));
  s.heartbeat("a", at(3));
  s.expire(at(3));
  EXPECT_EQ(s.ledger().leases[l.id - 1].why, "lease timeout");
  EXPECT_EQ(s.stats(at(3)).pending, 1);
}

TEST(Scheduler, SnapshotRestoreKeepsLeasesShardsAndLedger) {
  Scheduler s({5, 0, 32, false, 2});
  s.join("a", at(0));
  s.join("b", at(0));
  s.submit(make_items(10, 5));
  Lease la = s.lease("a", 2, at(1));
  ASSERT_EQ(la.items.size(), 2u);
  EXPECT_EQ(s.complete("a", la.id, la.items[0].id, 3, "res", at(1)), Accept::kAccepted);
  const std::string snap = s.snapshot_json();

  Scheduler t({5, 0, 32, false, 2});
  t.restore_json(snap, at(100));
  EXPECT_EQ(t.snapshot_json(), snap);
  EXPECT_TRUE(t.alive("a"));
  for (int u = 0; u < 5; ++u)
    EXPECT_EQ(t.owner_of("user" + std::to_string(u)), s.owner_of("user" + std::to_string(u)));
  // The open lease survives: a finishes it after the restore.
  EXPECT_EQ(t.complete("a", la.id, la.items[1].id, 3, "res2", at(101)), Accept::kAccepted);
  EXPECT_EQ(t.complete("a", la.id, la.items[0].id, 3, "again", at(101)), Accept::kDuplicate);
  // The restored workers get a fresh deadline, then expire like any other.
  EXPECT_TRUE(t.expire(at(104)).empty());
  EXPECT_EQ(t.expire(at(107)).size(), 2u);
  EXPECT_EQ(t.take_results().size(), 2u);  // the untaken one from before + the new one
  EXPECT_THROW(t.restore_json("{not json", at(0)), Error);
  EXPECT_THROW(t.restore_json(R"({"format":"other"})", at(0)), Error);
  EXPECT_THROW(t.submit(make_items(1, 1)), Error);  // id 1 exists
}

}  // namespace
}  // namespace pgenrm::coordinator
