# Runs convx-bench and checks that given columns really ran and passed the check: a column that
# silently turned n/a (e.g. a peer library rejecting the descriptors the bench built) fails
# here, where the bench's own exit status (1 only for failed checks and errors) would not.
#
#   cmake -DBENCH=<convx-bench> -DCSV=<out.csv> -DPROBLEMS=<n problems>
#         "-DEXPECT=onednn:fwd,bwd_d,bwd_w;zeroins:bwd_d" "-DARGS=<bench arguments>" -P check_bench_columns.cmake
#
# EXPECT: per column, the directions in which every problem must give a PASS row (status ok).
foreach(v BENCH CSV PROBLEMS EXPECT ARGS)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "check_bench_columns: -D${v}= is required")
  endif()
endforeach()

separate_arguments(_args UNIX_COMMAND "${ARGS}")
execute_process(COMMAND "${BENCH}" ${_args} "--csv=${CSV}" RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("${out}${err}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "convx-bench exited with ${rc}")
endif()

file(STRINGS "${CSV}" lines)
set(failures "")
foreach(spec ${EXPECT})
  string(REPLACE ":" ";" parts "${spec}")
  list(GET parts 0 algo)
  list(GET parts 1 dirs)
  string(REPLACE "," ";" dirs "${dirs}")
  foreach(dir ${dirs})
    set(count 0)
    foreach(line ${lines})
      if(line MATCHES "^#" OR line MATCHES "^problem,")
        continue()
      endif()
      # The first 17 fields (problem ... status) hold no commas; only later ones are quoted.
      # Each field gets an 'x' in front, so empty ones survive as list elements.
      string(REPLACE "," ";x" f "x${line}")
      list(GET f 2 rdir)
      list(GET f 3 ralgo)
      list(GET f 11 rcheck)
      list(GET f 16 rstatus)
      foreach(v rdir ralgo rcheck rstatus)
        string(SUBSTRING "${${v}}" 1 -1 ${v})
      endforeach()
      if(ralgo STREQUAL algo AND rdir STREQUAL dir)
        list(GET f 0 rproblem)
        string(SUBSTRING "${rproblem}" 1 -1 rproblem)
        if(rstatus STREQUAL "ok" AND rcheck STREQUAL "PASS")
          math(EXPR count "${count} + 1")
        else()
          list(APPEND failures "${algo} ${dir} ${rproblem}: status ${rstatus}, check ${rcheck}")
        endif()
      endif()
    endforeach()
    if(NOT count EQUAL PROBLEMS)
      list(APPEND failures "${algo} ${dir}: ${count} of ${PROBLEMS} problems passed")
    endif()
  endforeach()
endforeach()
if(failures)
  string(REPLACE ";" "\n  " failures "${failures}")
  message(FATAL_ERROR "columns that did not run and pass:\n  ${failures}")
endif()
message("check_bench_columns: every expected column ran and passed")
