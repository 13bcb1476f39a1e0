#pragma once
// Who trains together. The trainer (trainer.hpp) splits every batch's rows across a process group,
// combines the processes' losses and gradients by summing over the group, and makes every decision
// (an error, a stop) the group's. wfc::single_process, here, is one process: the default, at no
// cost. wfc::mpi::process_group (wfc/mpi/process_group.hpp, the CMake component wfc::mpi) is the
// ranks of an MPI communicator. A user's group (NCCL, a thread pool) is a struct with:
//
//   int rank() const; int size() const;
//   void sum(double* values, int count) const;        in place: each value becomes its sum over the group
//   template <class Backend, class T>
//   void sum(tensor_view<T, 1> values) const;         the same for a backend's buffer (the gradients)
//   template <class Work>
//   void together(Work&& work) const;                 runs work(); when it throws on any process, every
//                                                     process throws that error, none is left waiting
//
// (The compiler checks the first three; the two templates are checked where the trainer calls them.)
//
// A model's hooks, both optional: `void set_first_sequence(index_t)` (its rows start there in the
// whole batch, for models that draw per row: the WFC model's reveals) and `double loss_weight()
// const` (what its last loss is a mean over: counted targets; without it, rows count alike).
#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>

#include "wfc/core/error.hpp"
#include "wfc/core/tensor_view.hpp"

namespace wfc {

struct single_process {
  int rank() const { return 0; }
  int size() const { return 1; }
  void sum(double*, int) const {}
  template <class Backend, class T>
  void sum(tensor_view<T, 1>) const {}
  template <class Work>
  void together(Work&& work) const {
    std::forward<Work>(work)();
  }
};

template <class G, class = void>
struct is_process_group : std::false_type {};
template <class G>
struct is_process_group<G, std::void_t<decltype(int(std::declval<const G&>().rank())), decltype(int(std::declval<const G&>().size())),
                                       decltype(std::declval<const G&>().sum(std::declval<double*>(), int{}))>> : std::true_type {};

template <class G>
constexpr bool require_process_group() {
  static_assert(is_process_group<G>::value,
                "wfc trainer: a process group needs `int rank() const`, `int size() const` and `void sum(double* values, int count) const` "
                "(see wfc/train/process_group.hpp)");
  return true;
}

// A process's rows of a batch of `batch`: [first, first + count), as even as they divide.
struct batch_share {
  index_t first = 0, count = 0;
};

inline batch_share share_of(index_t batch, int rank, int size) {
  if (size < 1 || rank < 0 || rank >= size)
    throw config_error("wfc: rank " + std::to_string(rank) + " is not one of " + std::to_string(size) + " processes");
  if (batch < size)
    throw config_error("wfc: a batch of " + std::to_string(batch) + " cannot be split across " + std::to_string(size) +
                       " processes (a sequence each at least): use a batch of at least " + std::to_string(size) + ", or fewer processes");
  const index_t first = batch * rank / size, end = batch * (rank + 1) / size;
  return {first, end - first};
}

// Whether `flag` is set on any process of the group.
template <class Group>
bool any_of(const Group& group, bool flag) {
  double set = flag ? 1 : 0;
  group.sum(&set, 1);
  return set > 0;
}

// Whether `value` (a hash, a size) is the same on every process of the group: each checks its own
// against the group's mean, in three 22-bit pieces whose sums stay exact in a double.
template <class Group>
bool same_on_every_process(const Group& group, std::uint64_t value) {
  double pieces[3] = {double(value & 0x3fffff), double((value >> 22) & 0x3fffff), double(value >> 44)};
  const double mine[3] = {pieces[0], pieces[1], pieces[2]};
  group.sum(pieces, 3);
  bool differs = false;
  for (int i = 0; i < 3; ++i) differs = differs || pieces[i] != mine[i] * double(group.size());
  return !any_of(group, differs);
}

}  // namespace wfc
