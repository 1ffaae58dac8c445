# Installs strata from BUILD_DIR into a temporary prefix, then configures,
# builds and runs test_package/ against that prefix, ahead of the build's own
# CMAKE_PREFIX_PATH (PREFIX_PATH, '|'-separated), so the consumer sees the same
# xtensor/xsimd headers the build was configured with.
set(prefix ${WORK_DIR}/prefix)
set(search_path ${prefix})
if(PREFIX_PATH)
  string(REPLACE "|" ";" forwarded "${PREFIX_PATH}")
  list(APPEND search_path ${forwarded})
endif()
file(REMOVE_RECURSE ${WORK_DIR})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix} RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "cmake --install failed")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/build "-DCMAKE_PREFIX_PATH=${search_path}"
                        -DCMAKE_BUILD_TYPE=Release RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "configuring the consumer against the installed strata failed")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK_DIR}/build RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "building the consumer failed")
endif()
execute_process(COMMAND ${WORK_DIR}/build/test_package RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "the consumer ran but its training did not work")
endif()

# The optional parts as components (when this build has them): a second
# consumer asks for model_file and mpi, and runs each.
if(COMPONENTS_DIR)
  execute_process(COMMAND ${CMAKE_COMMAND} -S ${COMPONENTS_DIR} -B ${WORK_DIR}/components
                          "-DCMAKE_PREFIX_PATH=${search_path}" -DCMAKE_BUILD_TYPE=Release RESULT_VARIABLE rc)
  if(rc)
    message(FATAL_ERROR "configuring the components consumer (model_file, mpi) against the installed strata failed")
  endif()
  execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK_DIR}/components RESULT_VARIABLE rc)
  if(rc)
    message(FATAL_ERROR "building the components consumer failed")
  endif()
  execute_process(COMMAND ${WORK_DIR}/components/components_consumer RESULT_VARIABLE rc)
  if(rc)
    message(FATAL_ERROR "the components consumer could not write and read a model file")
  endif()
  execute_process(COMMAND ${MPIEXEC} -n 1 --allow-run-as-root ${WORK_DIR}/components/components_consumer --mpi
                  RESULT_VARIABLE rc)
  if(rc)
    message(FATAL_ERROR "the components consumer's data-parallel fit under ${MPIEXEC} failed")
  endif()
endif()
