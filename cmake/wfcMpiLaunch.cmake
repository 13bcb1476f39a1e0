# How this project's tests start MPI programs: FindMPI's launcher, oversubscribed where the launcher
# is Open MPI's (ctest runs 4 ranks on a 2-core machine), allowed to run as root (CI's containers),
# one OpenMP thread per rank.
set(WFC_MPIEXEC ${MPIEXEC_EXECUTABLE})
set(WFC_MPIEXEC_FLAGS ${MPIEXEC_PREFLAGS})
execute_process(COMMAND ${MPIEXEC_EXECUTABLE} --version OUTPUT_VARIABLE _wfc_mpiexec_version ERROR_QUIET)
if(_wfc_mpiexec_version MATCHES "Open MPI|OpenRTE")
  list(APPEND WFC_MPIEXEC_FLAGS --oversubscribe)
endif()
set(WFC_MPI_TEST_ENVIRONMENT "OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1;OMP_NUM_THREADS=1;OMP_WAIT_POLICY=PASSIVE")
