# One numpy interop check (cmake -P; see the interop block of tests/CMakeLists.txt):
#   MODE compare: gpt_logits --make a checkpoint (with MAKE_ARGS), write the C++ logits of TEXT,
#                 then examples/read_checkpoint.py --compare them (fails over a max abs
#                 difference of 1e-4)
#   MODE reject:  gpt_logits --make a checkpoint (MAKE_ARGS may --truncate it), then the script on
#                 TEXT must exit non-zero with a message matching EXPECT
# Variables: GPT_LOGITS, PYTHON, SCRIPT, WORK (a directory of its own), MODE, TEXT, MAKE_ARGS, EXPECT.
foreach(var GPT_LOGITS PYTHON SCRIPT WORK MODE TEXT)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run.cmake needs -D${var}=...")
  endif()
endforeach()
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})
set(checkpoint ${WORK}/model.safetensors)
separate_arguments(make_args UNIX_COMMAND "${MAKE_ARGS}")

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    string(REPLACE ";" " " line "${ARGN}")
    message(FATAL_ERROR "failed (${rc}): ${line}")
  endif()
endfunction()

run(${GPT_LOGITS} --make ${checkpoint} ${make_args})
if(MODE STREQUAL "compare")
  run(${GPT_LOGITS} --logits ${checkpoint} --text ${TEXT} --out ${WORK}/logits.json)
  run(${PYTHON} ${SCRIPT} ${checkpoint} --compare ${WORK}/logits.json)
elseif(MODE STREQUAL "reject")
  execute_process(COMMAND ${PYTHON} ${SCRIPT} ${checkpoint} --text ${TEXT}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  message("${out}${err}")
  if(rc EQUAL 0)
    message(FATAL_ERROR "the script accepted a file or text it should refuse")
  endif()
  if(NOT err MATCHES "${EXPECT}")
    message(FATAL_ERROR "the script's message does not match \"${EXPECT}\"")
  endif()
else()
  message(FATAL_ERROR "MODE must be compare or reject, got '${MODE}'")
endif()
