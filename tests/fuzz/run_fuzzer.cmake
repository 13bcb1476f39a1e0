# ctest's fuzz_checkpoint and fuzz_tokenizer: runs a libFuzzer binary for a bounded time over its
# corpus (new inputs it finds are kept there for the next run) and its seeds; any crash, sanitizer
# report, timeout or out-of-memory fails the test, and the input is left in ARTIFACTS.
#   -DFUZZER=<binary> -DCORPUS=<dir> -DSEEDS=<dir> -DARTIFACTS=<dir> -DSECONDS=<n> [-DDICT=<file>]
foreach(var FUZZER CORPUS SEEDS ARTIFACTS SECONDS)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_fuzzer.cmake needs -D${var}=…")
  endif()
endforeach()
file(MAKE_DIRECTORY ${CORPUS} ${ARTIFACTS})
set(options -max_total_time=${SECONDS} -rss_limit_mb=2048 -timeout=10 -print_final_stats=1
            -artifact_prefix=${ARTIFACTS}/)
if(DICT)
  list(APPEND options -dict=${DICT})
endif()
execute_process(COMMAND ${FUZZER} ${options} ${CORPUS} ${SEEDS}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
# libFuzzer reports on stderr; its progress lines are many, so keep the end.
string(LENGTH "${err}" length)
if(length GREATER 12000)
  math(EXPR start "${length} - 12000")
  string(SUBSTRING "${err}" ${start} -1 err)
  set(err "…${err}")
endif()
message("${out}${err}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${FUZZER} failed (${rc}); the input that failed is in ${ARTIFACTS}. "
                      "Reproduce: ${FUZZER} ${ARTIFACTS}/<crash-…>")
endif()
