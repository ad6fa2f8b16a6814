// Prototypes: neighbour retrieval (nearest prototype, most similar members,
// self excluded, spill-over to the next prototype), storage round trips, and
// retrieval on PersonaWorld users whose "analysis" is what the teacher's
// chains say they weigh.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <filesystem>
#include <map>
#include <set>

#include "chain/parse.h"
#include "core/error.h"
#include "data/generate.h"
#include "data/io.h"
#include "data/personaworld.h"
#include "data/teacher.h"
#include "helpers.h"
#include "scaling/build.h"
#include "scaling/kmeans.h"
#include "scaling/prototypes.h"

using namespace pgenrm;
using namespace pgenrm::scaling;

namespace {
Prototypes planted_prototypes(int64_t k, int64_t per, test::Planted* out = nullptr) {
  auto p = test::planted(k, per, 12, 1.0, 0.25, 21, /*normalise=*/true);
  std::vector<std::string> ids;
  for (int64_t i = 0; i < p.x.size(0); ++i) ids.push_back("u" + std::to_string(i));
  KMeansOptions o;
  o.k = k;
  Prototypes protos = make_prototypes(ids, p.x, kmeans(p.x, o).centroids);
  if (out) *out = p;
  return protos;
}
}  // namespace

TEST(Prototypes, NeighboursComeFromTheNearestPrototypeMostSimilarFirst) {
  test::Planted p;
  Prototypes protos = planted_prototypes(4, 20, &p);
  for (int64_t q : {0, 25, 47, 79}) {
    auto nb = protos.neighbours(p.x[q], 8, protos.member_ids[q]);
    ASSERT_EQ(nb.size(), 8u);
    at::Tensor sim = at::mv(protos.member_emb, p.x[q]);
    for (size_t i = 0; i < nb.size(); ++i) {
      EXPECT_NE(nb[i], q) << "the user itself is excluded";
      EXPECT_EQ(p.labels[nb[i]], p.labels[q]);
      EXPECT_EQ(protos.assign[nb[i]], protos.nearest(p.x[q]));
      if (i > 0) EXPECT_GE(sim[nb[i - 1]].item<float>(), sim[nb[i]].item<float>());
    }
  }
}

TEST(Prototypes, TooFewMembersSpillToTheNextNearestPrototype) {
  test::Planted p;
  Prototypes protos = planted_prototypes(3, 5, &p);
  auto nb = protos.neighbours(p.x[0], 7, protos.member_ids[0]);
  ASSERT_EQ(nb.size(), 7u);
  std::set<int64_t> own;
  for (size_t i = 0; i < 4; ++i) own.insert(protos.assign[nb[i]]);
  EXPECT_EQ(own.size(), 1u);                                // the 4 others of its own cluster first
  EXPECT_NE(protos.assign[nb[4]], protos.assign[nb[0]]);  // then the next prototype's
  EXPECT_EQ(protos.neighbours(p.x[0], 100).size(), 15u);   // at most every member
}

TEST(Prototypes, TensorsAndFileRoundTrip) {
  Prototypes a = planted_prototypes(3, 6);
  a.info = {{"k_rule", "test"}, {"retained", 0.5}};
  Prototypes b = Prototypes::from_tensors(a.to_tensors());
  EXPECT_TRUE(at::equal(a.centroids, b.centroids));
  EXPECT_TRUE(at::equal(a.member_emb, b.member_emb));
  EXPECT_EQ(a.assign, b.assign);
  EXPECT_EQ(a.member_ids, b.member_ids);
  EXPECT_EQ(a.info, b.info);
  const auto dir = std::filesystem::temp_directory_path() / "pgenrm_scaling_protos";
  std::filesystem::remove_all(dir);
  const std::string path = (dir / "prototypes.safetensors").string();
  a.save(path);
  EXPECT_TRUE(std::filesystem::exists(dir / "prototypes.json"));
  Prototypes c = Prototypes::load(path);
  EXPECT_TRUE(at::equal(a.centroids, c.centroids));
  EXPECT_EQ(a.member_ids, c.member_ids);
  // A damaged map is an error, not a crash.
  auto t = a.to_tensors();
  t["member_assign"] = at::full({18}, 7, at::kLong);
  EXPECT_THROW(Prototypes::from_tensors(t), pgenrm::Error);
  t.erase("centroids");
  EXPECT_THROW(Prototypes::from_tensors(t), pgenrm::Error);
  EXPECT_THROW(Prototypes::load((dir / "missing.safetensors").string()), pgenrm::Error);
}

TEST(Prototypes, RefinedCentresReassignMembers) {
  test::Planted p;
  Prototypes protos = planted_prototypes(2, 10, &p);
  EXPECT_EQ(protos.reassign(), 0);
  protos.centroids = protos.centroids.flip(0).contiguous();  // swap the two centres
  EXPECT_EQ(protos.reassign(), 20);
}

// Retrieval on PersonaWorld with analyses that need no trained model: a
// user's analysis vector is the criterion weights its teacher chains state
// (Part 2 of the teacher's chains for its training pairs), averaged. Members
// are 80% of the users; each of the others queries with ONE chain. The rate
// of neighbours sharing the query's true prototype is printed (the demo
// world's measured rate is in docs/RESULTS.md).
TEST(Prototypes, RetrievalOnPersonaWorldFindsUsersOfTheSameTruePrototype) {
  const auto dir = std::filesystem::temp_directory_path() / "pgenrm_scaling_world";
  std::filesystem::remove_all(dir);
  core::WorldOptions wo;
  wo.users = 300;
  wo.seed = 13;
  core::DataOptions dopt;
  dopt.posterior_particles = 32;
  data::generate_dir(wo, dopt, dir.string());
  data::Dataset ds = data::read_dataset(dir.string());
  data::World world = data::read_world_json((dir / "world.json").string(), &ds);
  auto teacher = data::read_teacher_jsonl((dir / "teacher.jsonl").string());

  std::map<std::string, std::vector<at::Tensor>> by_user;
  for (const auto& r : teacher) {
    auto parsed = chain::parse(r.chain, 2);
    ASSERT_TRUE(parsed.ok()) << parsed.message;
    at::Tensor v = at::zeros({world.num_criteria()});
    for (const auto& c : parsed.chain->criteria) v[world.criterion_index(c.name)] += c.weight / 100.0;
    by_user[r.user_id].push_back(v);
  }
  std::vector<std::string> member_ids, query_ids;
  std::vector<at::Tensor> member_rows, query_rows;
  int64_t i = 0;
  for (auto& [id, vs] : by_user) {
    if (i++ % 5 == 0) {
      query_ids.push_back(id);
      query_rows.push_back(vs.front() / vs.front().norm());
    } else {
      at::Tensor m = at::stack(vs).mean(0);
      member_ids.push_back(id);
      member_rows.push_back(m / m.norm());
    }
  }
  at::Tensor members = at::stack(member_rows);
  KMeansOptions o;
  o.k = world.num_prototypes();
  o.seed = 3;
  Prototypes protos = make_prototypes(member_ids, members, kmeans(members, o).centroids);
  std::vector<std::vector<std::string>> nbs;
  for (size_t q = 0; q < query_ids.size(); ++q) {
    nbs.emplace_back();
    for (int64_t m : protos.neighbours(query_rows[q], 8, query_ids[q])) nbs.back().push_back(member_ids[m]);
  }
  auto [rate, n] = same_prototype_rate(ds, query_ids, nbs);
  std::printf("PersonaWorld retrieval: %.3f of %lld neighbours share the query's true prototype (%zu queries)\n",
              rate, static_cast<long long>(n), query_ids.size());
  EXPECT_GE(n, 8 * 40);
  EXPECT_GE(rate, 0.7);  // chance is about 1/6
}
