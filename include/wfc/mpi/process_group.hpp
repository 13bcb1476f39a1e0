#pragma once
// wfc::mpi: data-parallel training over the ranks of an MPI communicator (the CMake component
// wfc::mpi; wfc::wfc itself never includes MPI). Every rank holds the whole model, takes its rows
// of every batch, and the gradients are summed in place over the ranks with one MPI_Allreduce of
// the model's flat gradient buffer per step (wfc/train/process_group.hpp says what a group does).
//
//   wfc::mpi::environment mpi(argc, argv);      // MPI_Init_thread … MPI_Finalize
//   wfc::mpi::process_group group;               // MPI_COMM_WORLD
//   wfc::train(model, data, settings, optimizer, {}, group, observer);
//
// Device buffers: a backend whose memory the host cannot reach (Kokkos on CUDA or HIP) is staged
// through a host buffer, unless wfc was configured with WFC_MPI_DEVICE_AWARE=ON for an MPI that
// reads device memory itself (CUDA-aware Open MPI; checked at run time where MPI can tell).
#ifndef OMPI_SKIP_MPICXX
#define OMPI_SKIP_MPICXX 1  // MPI's C interface only: the deprecated C++ bindings warn and need a library of their own
#endif
#ifndef MPICH_SKIP_MPICXX
#define MPICH_SKIP_MPICXX 1
#endif
#include <mpi.h>

#include <cstdlib>
#include <limits>
#include <type_traits>
#include <utility>
#include <exception>
#include <string>
#include <vector>

#if defined(WFC_MPI_DEVICE_AWARE) && __has_include(<mpi-ext.h>)
#include <mpi-ext.h>  // Open MPI's MPIX_Query_cuda_support
#endif

#include "wfc/core/error.hpp"
#include "wfc/core/tensor.hpp"
#include "wfc/train/process_group.hpp"

namespace wfc::mpi {

#if defined(WFC_MPI_DEVICE_AWARE)
inline constexpr bool device_aware = true;
#else
inline constexpr bool device_aware = false;
#endif

// An MPI call's failure as a wfc::error (communicators here return errors instead of aborting).
inline void check(int code, const char* call) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw error(std::string("MPI: ") + call + " failed: " + std::string(text, std::size_t(length)));
}

// Whether an MPI launcher (mpirun, mpiexec, srun) started this process: programs that can run
// either way initialise MPI only then.
inline bool launched() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE", "MPI_LOCALNRANKS"})
    if (std::getenv(name) != nullptr) return true;
  return false;
}

// MPI for the life of the program: initialised (threads: funneled, as OpenMP inside one rank
// needs) unless someone did already, finalised by whoever initialised it.
class environment {
 public:
  environment(int& argc, char**& argv) {
    int initialised = 0;
    MPI_Initialized(&initialised);
    if (initialised) return;
    int provided = 0;
    check(MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
    owns_ = true;
  }
  ~environment() {
    int finalised = 0;
    MPI_Finalized(&finalised);
    if (owns_ && !finalised) MPI_Finalize();
  }
  environment(const environment&) = delete;
  environment& operator=(const environment&) = delete;

 private:
  bool owns_ = false;
};

template <class T>
MPI_Datatype datatype() {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "wfc::mpi: gradients are float or double");
  return std::is_same_v<T, float> ? MPI_FLOAT : MPI_DOUBLE;
}

// The ranks of a communicator as a wfc process group.
class process_group {
 public:
  explicit process_group(MPI_Comm comm = MPI_COMM_WORLD) {
    int initialised = 0;
    MPI_Initialized(&initialised);
    if (!initialised) throw config_error("wfc::mpi::process_group: MPI is not initialised; create a wfc::mpi::environment first");
    check(MPI_Comm_dup(comm, &comm_), "MPI_Comm_dup");  // our collectives never mix with the caller's
    check(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
    check(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
    check(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
#if defined(WFC_MPI_DEVICE_AWARE) && defined(MPIX_CUDA_AWARE_SUPPORT)
    if (!MPIX_Query_cuda_support())
      throw config_error("wfc::mpi: wfc was built with WFC_MPI_DEVICE_AWARE=ON, but this MPI library cannot read device memory; "
                         "configure with -DWFC_MPI_DEVICE_AWARE=OFF (buffers are staged through the host) or use a CUDA-aware MPI");
#endif
  }
  ~process_group() {
    int finalised = 0;
    MPI_Finalized(&finalised);
    if (!finalised && comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
  }
  process_group(const process_group&) = delete;
  process_group& operator=(const process_group&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  MPI_Comm communicator() const { return comm_; }

  void sum(double* values, int count) const {
    check(MPI_Allreduce(MPI_IN_PLACE, values, count, MPI_DOUBLE, MPI_SUM, comm_), "MPI_Allreduce");
  }

  // Sums a backend's buffer over the ranks, in place: directly where MPI can reach its memory,
  // else through a host copy.
  template <class Backend, class T>
  void sum(tensor_view<T, 1> values) const {
    using memory = backend_memory<Backend>;
    if (!values.is_contiguous()) throw shape_error("wfc::mpi::process_group::sum: the buffer must be contiguous");
    const index_t n = values.size();
    if (n > index_t(std::numeric_limits<int>::max()))
      throw shape_error("wfc::mpi: a buffer of " + std::to_string(n) + " values is more than one MPI_Allreduce can take");
    memory::fence();  // the kernels that wrote it have finished
    if constexpr (memory::host_accessible || device_aware) {
      check(MPI_Allreduce(MPI_IN_PLACE, values.data(), int(n), datatype<T>(), MPI_SUM, comm_), "MPI_Allreduce");
    } else {
      staging_.resize(std::size_t(n) * sizeof(T));
      T* host = reinterpret_cast<T*>(staging_.data());
      memory::to_host(host, values.data(), n);
      check(MPI_Allreduce(MPI_IN_PLACE, host, int(n), datatype<T>(), MPI_SUM, comm_), "MPI_Allreduce");
      memory::from_host(values.data(), host, n);
    }
  }

  // Runs work(); if it throws on any rank, every rank throws the error of the lowest rank that
  // failed (its kind and message, naming the rank), so no rank is left waiting in a collective.
  template <class Work>
  void together(Work&& work) const {
    int kind = 0;
    std::string what;
    try {
      std::forward<Work>(work)();
    } catch (const shape_error& e) {
      kind = 1, what = e.what();
    } catch (const value_error& e) {
      kind = 2, what = e.what();
    } catch (const config_error& e) {
      kind = 3, what = e.what();
    } catch (const io_error& e) {
      kind = 4, what = e.what();
    } catch (const std::exception& e) {
      kind = 5, what = e.what();
    } catch (...) {
      kind = 5, what = "an exception of an unknown type";
    }
    int first = kind ? rank_ : size_;
    check(MPI_Allreduce(MPI_IN_PLACE, &first, 1, MPI_INT, MPI_MIN, comm_), "MPI_Allreduce");
    if (first == size_) return;
    check(MPI_Bcast(&kind, 1, MPI_INT, first, comm_), "MPI_Bcast");
    int length = int(what.size());
    check(MPI_Bcast(&length, 1, MPI_INT, first, comm_), "MPI_Bcast");
    what.resize(std::size_t(length));
    check(MPI_Bcast(what.data(), length, MPI_CHAR, first, comm_), "MPI_Bcast");
    if (size_ > 1) what += " (on rank " + std::to_string(first) + " of " + std::to_string(size_) + ")";
    switch (kind) {
      case 1: throw shape_error(what);
      case 2: throw value_error(what);
      case 3: throw config_error(what);
      case 4: throw io_error(what);
      default: throw error(what);
    }
  }

 private:
  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 1;
  mutable std::vector<unsigned char> staging_;  // device buffers' host copy
};

}  // namespace wfc::mpi
