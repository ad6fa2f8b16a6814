#include "comm/world.h"

#include <cstdio>
#include <cstdlib>

#include <mpi.h>

#include <ATen/core/Tensor.h>

#include <cstdlib>

#include "comm/mpi_backend.h"
#include "comm/nccl_backend.h"
#include "core/error.h"
#include "core/log.h"

namespace pgenrm::comm {

const char* to_string(Role r) { return r == Role::kLearner ? "learner" : "rollout"; }

namespace {

// Sends each tensor to the backend of its device: CPU → MPI, CUDA → NCCL
// (created collectively on the first CUDA tensor: every rank of the group
// must make that first CUDA call together, which the same-order rule of
// collectives already demands).
class GroupCollectives : public Collectives {
 public:
  GroupCollectives(MPI_Comm comm, std::string group, WatchdogOptions wo, int world_rank,
                   int device)
      : comm_(comm), group_(group), wo_(wo), world_rank_(world_rank), device_(device),
        mpi_(make_mpi_collectives(comm, std::move(group), wo, world_rank)) {}
  ~GroupCollectives() override {
    nccl_.reset();
    mpi_.reset();
    MPI_Comm_free(&comm_);
  }
  int rank() const override { return mpi_->rank(); }
  int size() const override { return mpi_->size(); }
  std::string backend() const override { return nccl_ ? "mpi+nccl" : "mpi"; }
  std::string group() const override { return group_; }

  void all_reduce(at::Tensor& t, ReduceOp op, std::string_view l) override {
    pick(t).all_reduce(t, op, l);
  }
  std::unique_ptr<Work> all_reduce_async(const at::Tensor& t, ReduceOp op,
                                         std::string_view l) override {
    return pick(t).all_reduce_async(t, op, l);
  }
  void broadcast(at::Tensor& t, int root, std::string_view l) override {
    pick(t).broadcast(t, root, l);
  }
  at::Tensor all_gather(const at::Tensor& t, std::string_view l) override {
    return pick(t).all_gather(t, l);
  }
  at::Tensor reduce_scatter(const at::Tensor& t, ReduceOp op, std::string_view l) override {
    return pick(t).reduce_scatter(t, op, l);
  }
  void barrier(std::string_view l) override { mpi_->barrier(l); }

 private:
  Collectives& pick(const at::Tensor& t) {
    if (!t.defined() || !t.is_cuda()) return *mpi_;
    if (!nccl_) nccl_ = make_nccl_collectives(comm_, group_, wo_, world_rank_, device_);
    return *nccl_;
  }
  MPI_Comm comm_;
  std::string group_;
  WatchdogOptions wo_;
  int world_rank_, device_;
  std::unique_ptr<Collectives> mpi_, nccl_;
};

// A duplicate of `parent` restricted to the ranks with `member`; null
// elsewhere. Collective over `parent`.
MPI_Comm split(MPI_Comm parent, bool member, int key) {
  MPI_Comm out = MPI_COMM_NULL;
  check_mpi(MPI_Comm_split(parent, member ? 0 : MPI_UNDEFINED, key, &out), "MPI_Comm_split");
  return out;
}

}  // namespace

struct World::Impl {
  bool distributed = false;
  bool we_initialised = false;
  int rank = 0, size = 1, learners = 1, rollouts = 0;
  WatchdogOptions watchdog;
  std::unique_ptr<Collectives> world, learner_group, weight_group;
};

bool World::launched_by_mpi() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "PMI_RANK",
                        "MV2_COMM_WORLD_SIZE", "MPI_LOCALNRANKS"})
    if (std::getenv(v)) return true;
  return false;
}

World::World(const WorldOptions& opts, int* argc, char*** argv) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.watchdog = opts.watchdog;
  int initialised = 0;
  MPI_Initialized(&initialised);
  m.distributed = initialised || launched_by_mpi();
  if (!m.distributed) {
    if (opts.layout.rollouts > 0 || opts.layout.learners > 1)
      PGENRM_LOG_INFO("no MPI launcher: running as one process (layout of ", opts.layout.learners,
                      " learners + ", opts.layout.rollouts, " rollout ranks collapses to one)");
    m.world = make_single_collectives("world");
    m.learner_group = make_single_collectives("learners");
    m.weight_group = make_single_collectives("weight_sync");
    return;
  }
  if (!initialised) {
    int provided = 0;
    check_mpi(MPI_Init_thread(argc, argv, MPI_THREAD_SERIALIZED, &provided), "MPI_Init_thread");
    m.we_initialised = true;
    PGENRM_CHECK(provided >= MPI_THREAD_SERIALIZED,
                 "the MPI library provides thread level " + std::to_string(provided) +
                     ", below MPI_THREAD_SERIALIZED",
                 "use an MPI built with thread support (Open MPI and MPICH are by default)");
  }
  MPI_Comm_rank(MPI_COMM_WORLD, &m.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &m.size);
  m.rollouts = opts.layout.rollouts;
  m.learners = opts.layout.learners > 0 ? opts.layout.learners : m.size - m.rollouts;
  PGENRM_CHECK(m.rollouts >= 0 && m.learners >= 1 && m.learners + m.rollouts == m.size,
               "layout of " + std::to_string(m.learners) + " learners + " +
                   std::to_string(m.rollouts) + " rollout ranks does not match the " +
                   std::to_string(m.size) + " MPI ranks",
               "launch with mpirun -np <learners + rollouts>, or set the layout to match");
  const bool learner = m.rank < m.learners;
  MPI_Comm world_dup = MPI_COMM_NULL;
  check_mpi(MPI_Comm_dup(MPI_COMM_WORLD, &world_dup), "MPI_Comm_dup");
  MPI_Comm lc = split(MPI_COMM_WORLD, learner, m.rank);
  MPI_Comm wc = split(MPI_COMM_WORLD, m.rank == 0 || !learner, m.rank);
  const int dev = opts.cuda_device;
  m.world = std::make_unique<GroupCollectives>(world_dup, "world", m.watchdog, m.rank, dev);
  if (lc != MPI_COMM_NULL)
    m.learner_group = std::make_unique<GroupCollectives>(lc, "learners", m.watchdog, m.rank, dev);
  if (wc != MPI_COMM_NULL)
    m.weight_group = std::make_unique<GroupCollectives>(wc, "weight_sync", m.watchdog, m.rank, dev);
}

void World::abort(int code, const std::string& message) const {
  std::fprintf(stderr, "rank %d: %s\n", rank(), message.c_str());
  std::fflush(stderr);
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (initialized && !finalized) MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);
}

World::~World() {
  Impl& m = *impl_;
  m.weight_group.reset();
  m.learner_group.reset();
  m.world.reset();
  if (m.we_initialised) {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
  }
}

bool World::distributed() const { return impl_->distributed; }
int World::rank() const { return impl_->rank; }
int World::size() const { return impl_->size; }
Role World::role() const {
  return impl_->rank < impl_->learners ? Role::kLearner : Role::kRollout;
}
int World::n_learners() const { return impl_->learners; }
int World::n_rollouts() const { return impl_->rollouts; }
bool World::in_weight_sync() const { return impl_->weight_group != nullptr; }
const WatchdogOptions& World::watchdog() const { return impl_->watchdog; }

Collectives& World::world() { return *impl_->world; }

Collectives& World::learners() {
  PGENRM_CHECK(impl_->learner_group, "rank " + std::to_string(rank()) + " (" +
                                         to_string(role()) + ") asked for the learner group",
               "only learner ranks take part in gradient all-reduce");
  return *impl_->learner_group;
}

Collectives& World::weight_sync() {
  PGENRM_CHECK(impl_->weight_group,
               "rank " + std::to_string(rank()) + " (" + to_string(role()) +
                   ") asked for the weight-sync group",
               "only learner rank 0 and the rollout ranks take part in weight sync");
  return *impl_->weight_group;
}

std::string World::describe() const {
  return "rank " + std::to_string(rank()) + "/" + std::to_string(size()) + " " +
         to_string(role()) + " (learners " + std::to_string(n_learners()) + ", rollouts " +
         std::to_string(n_rollouts()) + ", " + (distributed() ? "mpi" : "single process") + ")";
}

}  // namespace pgenrm::comm
