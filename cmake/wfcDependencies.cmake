# Finding wfc's dependencies, shared by the build and by the installed wfcConfig.cmake, so a
# consumer gets the same repairs as our own build.

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

# Kokkos, from the user (-DKokkos_ROOT=...) or from Debian's Trilinos packages. Debian's
# KokkosConfig.cmake (Trilinos 13) builds Kokkos::kokkos with the include directory
# `<prefix>/lib/include`, which does not exist, while its Kokkos_INCLUDE_DIRS variable is right
# (`/usr/include/trilinos`). Replace include directories that do not exist with the ones that do.
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
    if(NOT _wfc_kokkos_includes)
      set(_wfc_kokkos_broken ON)
    else()
      foreach(_dir IN LISTS _wfc_kokkos_includes)
        if(NOT _dir MATCHES "\\$<" AND NOT EXISTS "${_dir}")
          set(_wfc_kokkos_broken ON)
        endif()
      endforeach()
    endif()
    if(_wfc_kokkos_broken)
      find_path(WFC_KOKKOS_INCLUDE_DIR Kokkos_Core.hpp
        HINTS ${Kokkos_INCLUDE_DIRS} PATH_SUFFIXES trilinos NO_DEFAULT_PATH)
      if(NOT WFC_KOKKOS_INCLUDE_DIR)
        find_path(WFC_KOKKOS_INCLUDE_DIR Kokkos_Core.hpp PATH_SUFFIXES trilinos kokkos)
      endif()
      if(WFC_KOKKOS_INCLUDE_DIR)
        message(STATUS "wfc: repaired Kokkos::kokkos include directory (${_wfc_kokkos_includes} -> ${WFC_KOKKOS_INCLUDE_DIR})")
        set_target_properties(${_wfc_kokkos_target} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${WFC_KOKKOS_INCLUDE_DIR}")
      else()
        message(WARNING "wfc: Kokkos::kokkos points at missing include directories (${_wfc_kokkos_includes}) "
                        "and Kokkos_Core.hpp was not found; set Kokkos_ROOT to a working Kokkos install")
      endif()
    endif()
  endif()
endmacro()
