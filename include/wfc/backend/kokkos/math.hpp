#pragma once
// Device-callable math for kernel bodies. Kokkos 3.7 promoted its math functions from
// Kokkos::Experimental to Kokkos (and 4.3 removed the old names), so pick whichever exists.
#include <Kokkos_Core.hpp>

namespace wfc::detail::kokkos_math {

#if KOKKOS_VERSION >= 30700
using Kokkos::cos;
using Kokkos::exp;
using Kokkos::log;
using Kokkos::pow;
using Kokkos::sin;
using Kokkos::sqrt;
#else
using Kokkos::Experimental::cos;
using Kokkos::Experimental::exp;
using Kokkos::Experimental::log;
using Kokkos::Experimental::pow;
using Kokkos::Experimental::sin;
using Kokkos::Experimental::sqrt;
#endif

}  // namespace wfc::detail::kokkos_math
