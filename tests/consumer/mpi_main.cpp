// Builds against the installed wfc::mpi component: data-parallel training's process group.
#include <cstdio>

#include "wfc/mpi/process_group.hpp"

int main(int argc, char** argv) {
  wfc::mpi::environment mpi(argc, argv);
  const wfc::mpi::process_group group;
  std::printf("rank %d of %d\n", group.rank(), group.size());
  return 0;
}
