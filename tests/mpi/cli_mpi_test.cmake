# `mpirun -np 2 gridbatch pf ...` must write the same files as one process (AC, 150 scenarios of
# the built-in network: three chunks of 64 spread over the ranks).
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
set(scale "scale\n")
foreach(i RANGE 149)
  math(EXPR pct "70 + (${i} * 60) / 149")
  string(APPEND scale "0.${pct}\n")
endforeach()
string(REPLACE "0.100\n" "1.00\n" scale "${scale}")
string(REGEX REPLACE "0\\.1([0-9][0-9])\n" "1.\\1\n" scale "${scale}")
file(WRITE ${WORK_DIR}/scale.csv "${scale}")
foreach(mode ac dc)
  execute_process(COMMAND ${CLI} pf builtin --${mode} --load-scale ${WORK_DIR}/scale.csv
                          --backend cpu --out ${WORK_DIR}/one_${mode} RESULT_VARIABLE rc)
  if(rc)
    message(FATAL_ERROR "one-process pf --${mode} failed")
  endif()
  execute_process(COMMAND ${MPIEXEC} -np 2 --oversubscribe ${CLI} pf builtin --${mode}
                          --load-scale ${WORK_DIR}/scale.csv --backend cpu
                          --out ${WORK_DIR}/mpi_${mode} RESULT_VARIABLE rc)
  if(rc)
    message(FATAL_ERROR "mpirun pf --${mode} failed")
  endif()
  file(GLOB files RELATIVE ${WORK_DIR}/one_${mode} ${WORK_DIR}/one_${mode}/*.csv)
  foreach(f ${files})
    execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${WORK_DIR}/one_${mode}/${f}
                            ${WORK_DIR}/mpi_${mode}/${f} RESULT_VARIABLE diff)
    if(diff)
      message(FATAL_ERROR "${mode}: ${f} differs between one process and mpirun -np 2")
    endif()
  endforeach()
  message(STATUS "${mode}: ${files} identical")
endforeach()
