# Runs one compile-fail case: the compiler must refuse it with the message
# its "// expect:" line names (a regular expression) and with no other error, so users see strata's
# message and nothing after it.
#   cmake -DCOMPILER=... -DSOURCE=... -DINCLUDES="a|b" -P check.cmake
file(STRINGS ${SOURCE} _expect REGEX "^// expect: ")
string(REPLACE "// expect: " "" _expect "${_expect}")
set(_flags)
string(REPLACE "|" ";" _includes "${INCLUDES}")
foreach(dir IN LISTS _includes)
  list(APPEND _flags -I${dir})
endforeach()
execute_process(COMMAND ${COMPILER} -std=c++20 -fsyntax-only ${_flags} ${SOURCE}
                RESULT_VARIABLE _result OUTPUT_VARIABLE _out ERROR_VARIABLE _out)
if(_result EQUAL 0)
  message(FATAL_ERROR "${SOURCE} compiled, but it must not")
endif()
string(REGEX MATCH "${_expect}" _found "${_out}")
if(NOT _found)
  message(FATAL_ERROR "${SOURCE}: the compiler did not say \"${_expect}\":\n${_out}")
endif()
string(REGEX MATCHALL "error:" _errors "${_out}")
list(LENGTH _errors _count)
if(NOT _count EQUAL 1)
  message(FATAL_ERROR "${SOURCE}: ${_count} errors where strata's one message should be all:\n${_out}")
endif()
message(STATUS "${SOURCE}: one error, \"${_expect}\"")
