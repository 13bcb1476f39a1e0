# Finding wfc's dependencies, shared by the build and by the installed wfcConfig.cmake, so a
# consumer gets the same repairs as our own build.

# Every build: nlohmann-json (checkpoint headers and configuration files).
macro(wfc_find_core_dependencies)
  find_package(nlohmann_json 3.9 CONFIG ${ARGN})
endmacro()

# CPU backend: Eigen 3.4, xsimd, OpenMP.
macro(wfc_find_cpu_dependencies)
  set(_wfc_required ${ARGN})
  find_package(Eigen3 3.3 CONFIG ${_wfc_required})
  # xsimd 8's exported target links a plain `xtl`; xsimd's own headers do not need it. Use xtl's
  # target when xtl-dev is installed, else an empty stand-in so the link line stays valid.
  find_package(xtl CONFIG QUIET)
  if(NOT TARGET xtl)
    add_library(xtl INTERFACE IMPORTED)
  endif()
  find_package(xsimd CONFIG ${_wfc_required})
  find_package(OpenMP ${_wfc_required} COMPONENTS CXX)
endmacro()

# Kokkos, from the user (-DKokkos_ROOT=... or Kokkos_DIR) or from Debian's Trilinos packages.
# Debian's KokkosConfig.cmake (Trilinos 13) gives Kokkos::kokkos the include directory
# `<prefix>/lib/include`, which does not exist, while its Kokkos_INCLUDE_DIRS variable is right
# (`/usr/include/trilinos`). Only when a listed directory is missing, take the one from
# Kokkos_INCLUDE_DIRS that holds Kokkos_Core.hpp; a healthy Kokkos is left alone.
macro(wfc_find_kokkos)
  find_package(Kokkos CONFIG ${ARGN})
  if(Kokkos_FOUND AND TARGET Kokkos::kokkos)
    get_target_property(_wfc_kokkos_aliased Kokkos::kokkos ALIASED_TARGET)
    if(_wfc_kokkos_aliased)
      set(_wfc_kokkos_target ${_wfc_kokkos_aliased})
    else()
      set(_wfc_kokkos_target Kokkos::kokkos)
    endif()
    get_target_property(_wfc_kokkos_includes ${_wfc_kokkos_target} INTERFACE_INCLUDE_DIRECTORIES)
    set(_wfc_kokkos_broken OFF)
    if(_wfc_kokkos_includes)
      foreach(_wfc_dir IN LISTS _wfc_kokkos_includes)
        if(NOT _wfc_dir MATCHES "\\$<" AND NOT EXISTS "${_wfc_dir}")
          set(_wfc_kokkos_broken ON)
        endif()
      endforeach()
    endif()
    if(_wfc_kokkos_broken)
      set(_wfc_kokkos_good "")
      foreach(_wfc_dir IN LISTS Kokkos_INCLUDE_DIRS)
        if(NOT _wfc_kokkos_good AND EXISTS "${_wfc_dir}/Kokkos_Core.hpp")
          get_filename_component(_wfc_kokkos_good "${_wfc_dir}" REALPATH)
        endif()
      endforeach()
      if(_wfc_kokkos_good)
        message(STATUS "wfc: repaired Kokkos::kokkos include directory (${_wfc_kokkos_includes} -> ${_wfc_kokkos_good})")
        set_target_properties(${_wfc_kokkos_target} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${_wfc_kokkos_good}")
      else()
        message(WARNING "wfc: Kokkos::kokkos points at missing include directories (${_wfc_kokkos_includes}) and "
                        "Kokkos_INCLUDE_DIRS has no Kokkos_Core.hpp; set Kokkos_ROOT to a working Kokkos install")
      endif()
    endif()
  endif()
endmacro()

# MPI's C interface, for the wfc::mpi component (data-parallel training). Debian: libopenmpi-dev.
macro(wfc_find_mpi)
  find_package(MPI COMPONENTS CXX ${ARGN})
endmacro()
